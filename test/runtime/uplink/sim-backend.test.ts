/**
 * The back-end simulator's storage seam and faults, in this process against the real
 * UplinkService and spool: records kept in SQLite survive a reopen (each once, duplicates
 * counted), and each fault (latency, 500, drop, duplicated acknowledgements) has the effect
 * the uplink must survive, drawn from the seed.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import { createLogger } from '../../../runtime/log.js';
import { UplinkService } from '../../../runtime/uplink/service.js';
import { BackendSimulator, SIM_COURIER_PIN_HASH, defaultSimTaskList } from '../../../runtime/uplink/simulator.js';
import { verifyCourierPin } from '../../../runtime/workflow/courier-pin.js';
import { BackendFaultDraw, type BackendFaultOptions } from '../../../runtime/uplink/sim-faults.js';
import { MemoryRecordStore, SqliteRecordStore, type HeldRecord } from '../../../runtime/uplink/sim-store.js';
import { backendStats, runSimBackendCommand } from '../../../runtime/uplink/sim-commands.js';
import { STREAMS } from '../../../spool/index.js';
import { openSpool } from '../host/fixtures.js';

const silent = createLogger({ level: 'silent' });
const FAST_RETRY = { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 };

t.test('the simulated courier C001 checks in with PIN 1234 against the stored hash, and no other PIN', async (t) => {
  t.equal(defaultSimTaskList().couriers[0]!.pinHash, SIM_COURIER_PIN_HASH);
  t.ok(await verifyCourierPin('1234', SIM_COURIER_PIN_HASH), 'PIN 1234 matches');
  t.notOk(await verifyCourierPin('1235', SIM_COURIER_PIN_HASH), 'a wrong PIN does not');
});

function tempDb(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-sim-backend-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'backend.db');
}

const held = (id: string, stream = 'waybill-event'): HeldRecord => ({
  id,
  stream,
  createdAt: 1,
  payload: { n: id },
  terminalId: 'CODPOS01',
});

async function setUp(t: Test, faults: Omit<BackendFaultOptions, 'seed'>, seed = 1) {
  const store = new SqliteRecordStore(tempDb(t));
  const draw = new BackendFaultDraw(seed, faults);
  const backend = new BackendSimulator({ basePath: '/api/v1', store, faults: draw });
  const { url } = await backend.start();
  t.teardown(async () => {
    await backend.stop();
    store.close();
  });
  const spool = await openSpool(t, {
    [STREAMS.waybillEvent]: { backoff: FAST_RETRY },
    [STREAMS.transaction]: { backoff: FAST_RETRY },
  });
  // Long intervals and no network watch: the test sends when it chooses, and no probe sends
  // for it. start() also downloads the tasks in the background, which draws from the task
  // stream only; the tests begin once it is over (its success would send what waits).
  const uplink = new UplinkService(
    validateConfig({
      uplink: { mode: 'http', url, batchSize: 2, intervalMs: 3_600_000, probeIntervalMs: 3_600_000, networkWatchMs: 0 },
    }),
    silent,
    { spool: () => spool, requestTimeoutMs: 5000 },
  );
  await uplink.start();
  t.teardown(() => uplink.stop());
  await uplink.tasksReady();
  return { backend, draw, spool, uplink, store };
}

/** Past the 1 ms test backoff, so the failed records are ready again. */
const pastBackoff = () => new Promise((resolve) => setTimeout(resolve, 5));

t.test(
  'the SQLite store keeps each id once across a reopen, in first-received order, and counts copies received again',
  async (t) => {
    const file = tempDb(t);
    const first = new SqliteRecordStore(file);
    t.same(first.keep([held('a'), held('b', 'transaction'), held('a')]), [true, true, false]);
    first.close();
    const again = new SqliteRecordStore(file);
    t.teardown(() => again.close());
    t.same(again.keep([held('b', 'transaction'), held('c')]), [false, true]);
    t.same([...again.keys()], ['a', 'b', 'c']);
    t.same(again.get('a'), held('a'));
    t.equal(again.size, 3);
    t.ok(again.has('c'));
    t.notOk(again.has('d'));
    t.same(again.stats(), { records: 3, streams: { transaction: 1, 'waybill-event': 2 }, duplicatesReceived: 2 });
  },
);

t.test('the memory store keeps the latest maxRecords, each once, and counts what it forgot', async (t) => {
  const store = new MemoryRecordStore(3);
  t.same(store.keep(['a', 'b', 'c', 'd', 'e'].map((id) => held(id))), [true, true, true, true, true]);
  t.same(store.keep([held('e')]), [false], 'a kept id is still a duplicate');
  t.same([...store.keys()], ['c', 'd', 'e'], 'the latest three');
  t.equal(store.forgotten, 2);
  t.same(store.stats(), { records: 3, streams: { 'waybill-event': 3 }, duplicatesReceived: 1 });
});

t.test('the simulator keeps the latest maxBatches batches and counts every batch and fault', async (t) => {
  const draw = new BackendFaultDraw(1, { errorRate: 1 });
  const backend = new BackendSimulator({ basePath: '/api/v1', faults: draw, maxBatches: 2 });
  const { url } = await backend.start();
  t.teardown(() => backend.stop());
  for (let i = 1; i <= 5; i++) {
    const answer = await fetch(`${url}/records`, {
      method: 'POST',
      body: JSON.stringify({
        terminalId: 'CODPOS01',
        records: [{ id: `e${i}`, stream: 'waybill-event', createdAt: 1, payload: {} }],
      }),
    });
    t.equal(answer.status, 500);
  }
  t.same(
    backend.batches.map((batch) => batch.ids),
    [['e4'], ['e5']],
    'the latest two batches',
  );
  t.same(
    backendStats(backend),
    { records: 0, streams: {}, duplicatesReceived: 0, batches: 5, faults: { drop: 0, error: 5, duplicate: 0 } },
    'the console counts all five',
  );
});

t.test(
  'error: answered 500 before keeping anything; the uplink says why and sends again once the rate is back to 0',
  async (t) => {
    const { backend, draw, spool, uplink } = await setUp(t, { errorRate: 1 });
    await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'pickup' }, { id: 'e1' });
    t.equal(await uplink.sendNow(), 0);
    t.match(uplink.health(), { state: 'degraded', reason: /answered 500/ });
    t.equal(backend.records.size, 0, 'nothing kept');
    t.match(backend.batches, [{ ids: ['e1'], status: 500, fault: 'error' }]);
    runSimBackendCommand(backend, draw, 'error-rate 0');
    await pastBackoff();
    t.equal(await uplink.sendNow(), 1);
    t.ok(backend.records.has('e1'));
  },
);

t.test(
  'drop: the records are kept but the answer is lost; the uplink sends them again and the back-end counts them once',
  async (t) => {
    const { backend, draw, spool, uplink } = await setUp(t, { dropRate: 1 });
    for (const id of ['e1', 'e2']) await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'pickup' }, { id });
    t.equal(await uplink.sendNow(), 0);
    t.match(uplink.health(), { state: 'degraded', reason: /unreachable/ });
    t.same([...backend.records.keys()], ['e1', 'e2'], 'the back-end has them');
    t.equal(spool.outbox.get('e1')!.state, 'ready', 'the terminal does not know: still to send');
    runSimBackendCommand(backend, draw, 'drop-rate 0');
    await pastBackoff();
    t.equal(await uplink.sendNow(), 2);
    t.equal(spool.outbox.unfinishedCount(), 0);
    t.same(backendStats(backend), {
      records: 2,
      streams: { 'waybill-event': 2 },
      duplicatesReceived: 2,
      batches: 2,
      faults: { drop: 1, error: 0, duplicate: 0 },
    });
  },
);

t.test(
  'duplicate: each record acknowledged twice and the previous answer repeated; the uplink acknowledges its own records once and counts them once',
  async (t) => {
    const { backend, spool, uplink } = await setUp(t, { duplicateRate: 1 });
    for (const id of ['e1', 'e2', 'e3', 'e4'])
      await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'pickup' }, { id });
    // The raw answer first, to see the fault itself.
    const url = `http://127.0.0.1:${(backend as unknown as { address: { port: number } }).address.port}/api/v1/records`;
    const post = async (ids: string[]) =>
      (await (
        await fetch(url, {
          method: 'POST',
          body: JSON.stringify({
            terminalId: 'X',
            records: ids.map((id) => ({ id, stream: 'probe', createdAt: 0, payload: null })),
          }),
        })
      ).json()) as { accepted: string[] };
    t.same((await post(['p1'])).accepted, ['p1', 'p1']);
    t.same((await post(['p2'])).accepted, ['p2', 'p2', 'p1'], 'the previous answer repeated after its own');
    // Batches of 2: the second batch's answer also names the first batch's ids.
    t.equal(await uplink.sendNow(), 4, 'four records sent, four counted (not the repeats)');
    t.equal(spool.outbox.unfinishedCount(), 0);
    t.same(
      backend.batches.slice(2).map((b) => b.ids),
      [
        ['e1', 'e2'],
        ['e3', 'e4'],
      ],
    );
  },
);

t.test(
  'latency: every answer is held back at least the set time; a request timeout shorter than it fails the batch',
  async (t) => {
    const { backend, spool, uplink, draw } = await setUp(t, { latencyMs: 150 });
    await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'pickup' }, { id: 'e1' });
    const started = performance.now();
    t.equal(await uplink.sendNow(), 1);
    // A lower bound only: a busy machine makes it later, never sooner.
    t.ok(performance.now() - started >= 149, 'not answered before the latency');
    t.ok(backend.records.has('e1'));
    t.equal(runSimBackendCommand(backend, draw, 'latency 0'), 'latency 0 ms');
    t.equal(draw.latencyMs, 0);
  },
);

t.test(
  'the task list download meets the faults too: a 500 refused, a drop unreachable, the cached list kept',
  async (t) => {
    const { draw, spool, uplink } = await setUp(t, { errorRate: 1 });
    await t.rejects(uplink.downloadTasks(), { code: 'CODPOS_UPLINK_REFUSED' });
    draw.change({ errorRate: 0, dropRate: 1 });
    await t.rejects(uplink.downloadTasks(), { code: 'CODPOS_UPLINK_UNREACHABLE' });
    t.equal(spool.tasks.tasks().length, 0);
    draw.change({ dropRate: 0 });
    t.same(await uplink.downloadTasks(), { tasks: 4, couriers: 1, tariffVersion: 'sim-2026.1' });
  },
);

t.test('the faults follow the seed: the batches meet the draws of a fresh generator with the same seed', async (t) => {
  const rates = { dropRate: 0.3, errorRate: 0.3, duplicateRate: 0.3 };
  const { backend, spool, uplink } = await setUp(t, rates, 42);
  for (let i = 0; i < 10; i++) await spool.outbox.enqueue(STREAMS.waybillEvent, { n: i }, { id: `e${i}` });
  for (let round = 0; round < 50 && spool.outbox.unfinishedCount() > 0; round++) {
    await uplink.sendNow();
    await pastBackoff();
  }
  t.equal(spool.outbox.unfinishedCount(), 0, 'everything delivered in the end');
  t.equal(backend.records.size, 10, 'each once');
  const expected = new BackendFaultDraw(42, rates);
  t.same(
    backend.batches.map((b) => b.fault),
    backend.batches.map(() => expected.next()),
  );
  t.ok(new Set(backend.batches.map((b) => b.fault)).size >= 3, 'the seed gave a mix of faults');
});

t.test('console commands: stats, records [stream=], faults, and mistakes named', async (t) => {
  const { backend, draw } = await setUp(t, {}, 9);
  backend.records.keep([held('a'), held('t', 'transaction')]);
  t.same(JSON.parse(runSimBackendCommand(backend, draw, 'records stream=transaction')), [held('t', 'transaction')]);
  t.equal(JSON.parse(runSimBackendCommand(backend, draw, 'records')).length, 2);
  t.match(JSON.parse(runSimBackendCommand(backend, draw, 'stats')), {
    records: 2,
    streams: { transaction: 1, 'waybill-event': 1 },
  });
  runSimBackendCommand(backend, draw, 'duplicate-rate 0.5');
  t.same(JSON.parse(runSimBackendCommand(backend, draw, 'faults')), {
    seed: 9,
    latencyMs: 0,
    dropRate: 0,
    errorRate: 0,
    duplicateRate: 0.5,
  });
  t.throws(() => runSimBackendCommand(backend, draw, 'drop-rate 0.7'), {
    code: 'CODPOS_USAGE_BAD_OPTION',
    message: /add up to 1\.2/,
  });
  t.throws(() => runSimBackendCommand(backend, draw, 'error-rate lots'), { message: /error-rate lots/ });
  t.throws(() => runSimBackendCommand(backend, draw, 'latency soon'), { message: /latency soon/ });
  t.throws(() => runSimBackendCommand(backend, draw, 'records kind=x'), { message: /kind=x/ });
  t.throws(() => runSimBackendCommand(backend, draw, 'explode'), { message: /unknown command "explode"/ });
});
