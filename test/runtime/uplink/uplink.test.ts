/**
 * The uplink against the back-end simulator over real HTTP on loopback, with a real spool:
 * batches acknowledged, a repeat counted once, a back-end away retried with backoff, a record
 * refused for good dead-lettered, the bearer token sent.
 */
import t, { type Test } from 'tap';
import { validateConfig } from '../../../config/load.js';
import { createLogger } from '../../../runtime/log.js';
import { UplinkService } from '../../../runtime/uplink/service.js';
import { BackendSimulator } from '../../../runtime/uplink/simulator.js';
import { STREAMS } from '../../../spool/index.js';
import { openSpool } from '../host/fixtures.js';
import { droppingPort } from '../../helpers/ports.js';

const silent = createLogger({ level: 'silent' });
const FAST_RETRY = { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 };

async function setUp(
  t: Test,
  options: { token?: string; batchSize?: number; uplinkToken?: string; intervalMs?: number } = {},
) {
  const backend = new BackendSimulator({ basePath: '/api/v1', ...(options.token ? { token: options.token } : {}) });
  const { url } = await backend.start();
  t.teardown(() => backend.stop());
  const spool = await openSpool(t, {
    [STREAMS.waybillEvent]: { backoff: FAST_RETRY },
    [STREAMS.transaction]: { backoff: FAST_RETRY },
  });
  // No probe and no network watch: the tests send when they choose.
  const config = validateConfig({
    uplink: {
      mode: 'http',
      url,
      batchSize: options.batchSize ?? 100,
      // The back-end's token unless the test gives the uplink another.
      token: options.uplinkToken ?? options.token ?? '',
      ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
      probeIntervalMs: 3_600_000,
      networkWatchMs: 0,
    },
  });
  const uplink = new UplinkService(config, silent, { spool: () => spool, requestTimeoutMs: 2000 });
  await uplink.start();
  t.teardown(() => uplink.stop());
  // The download begun at start is an exchange of its own: the tests below begin after it.
  await uplink.tasksReady();
  return { backend, spool, uplink, config };
}

t.test('records go in batches with their ids and are acknowledged; sending one again is counted once', async (t) => {
  const { backend, spool, uplink } = await setUp(t, { batchSize: 2, token: 'up-token' });
  for (let i = 1; i <= 3; i++)
    await spool.outbox.enqueue(
      STREAMS.waybillEvent,
      { waybill: 'RR123456785CH', event: 'pickup', n: i },
      { id: `evt-${i}` },
    );
  await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-1', amount: 2500 }, { id: 'txn-1' });
  t.equal(await uplink.sendNow(), 4);
  t.same(
    backend.batches.map((b) => b.ids),
    [
      ['evt-1', 'evt-2'],
      ['evt-3', 'txn-1'],
    ],
    'in batches of uplink.batchSize, waybill events first',
  );
  t.same([...backend.records.keys()], ['evt-1', 'evt-2', 'evt-3', 'txn-1']);
  t.match(backend.records.get('txn-1'), { stream: 'transaction', terminalId: 'CODPOS01', payload: { amount: 2500 } });
  t.equal(spool.outbox.unfinishedCount(), 0, 'all acknowledged');
  t.same(uplink.health(), { state: 'up' });
  // The same id again (as after a lost answer): accepted, stored once.
  await spool.outbox.enqueue(
    STREAMS.waybillEvent,
    { waybill: 'RR123456785CH', event: 'pickup', n: 1 },
    { id: 'evt-1-again' },
  );
  t.equal(backend.records.size, 4);
});

t.test(
  'a back-end away: the batch is retried with backoff and the service says why; it goes when the back-end is back',
  async (t) => {
    const { backend, spool, uplink } = await setUp(t);
    backend.addRule({ action: 'unavailable', times: 1 });
    await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-9' }, { id: 'txn-9' });
    t.equal(await uplink.sendNow(), 0);
    t.match(uplink.health(), { state: 'degraded', reason: /answered 503; retrying/ });
    t.equal(spool.outbox.get('txn-9')!.state, 'ready');
    t.match(spool.outbox.get('txn-9')!.lastError, /503/);
    await new Promise((resolve) => setTimeout(resolve, 5)); // past the 1 ms test backoff
    t.equal(await uplink.sendNow(), 1);
    t.same(uplink.health(), { state: 'up' });
    t.ok(backend.records.has('txn-9'));
  },
);

t.test('a back-end that drops every connection: unreachable, nothing lost', async (t) => {
  const spool = await openSpool(t);
  // Held for the whole test, so no other process can answer on it (a closed port could be taken).
  const port = await droppingPort(t);
  const config = validateConfig({ uplink: { mode: 'http', url: `http://127.0.0.1:${port}/api/v1` } });
  const uplink = new UplinkService(config, silent, { spool: () => spool, requestTimeoutMs: 1000 });
  await uplink.start();
  t.teardown(() => uplink.stop());
  await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'dispatch' }, { id: 'evt-x' });
  t.equal(await uplink.sendNow(), 0);
  t.match(uplink.health(), { state: 'degraded', reason: /unreachable \(ECONNRESET\)/ });
  t.equal(spool.outbox.unfinishedCount(), 1, 'kept for later');
});

t.test('uplink.mode sim: the back-end simulator runs in-process on loopback', async (t) => {
  const spool = await openSpool(t);
  const uplink = new UplinkService(validateConfig({}), silent, { spool: () => spool });
  await uplink.start();
  t.teardown(() => uplink.stop());
  await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-s' }, { id: 'txn-s' });
  t.equal(await uplink.sendNow(), 1);
  t.ok(uplink.simulator!.records.has('txn-s'));
});

t.test(
  'reconfigure (a SIGHUP reload): a new token is sent from the next request on; a shorter interval sends without waiting for the old one',
  async (t) => {
    const { backend, spool, uplink, config } = await setUp(t, {
      token: 'rotated-token',
      uplinkToken: 'old-token',
      intervalMs: 3_600_000,
    });
    await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-r' }, { id: 'txn-r' });
    t.equal(await uplink.sendNow(), 0, 'the old token is refused');
    t.notOk(backend.records.has('txn-r'));

    uplink.reconfigure({ ...config.uplink, token: 'rotated-token', intervalMs: 20 });
    // No sendNow from here: the send timer, restarted at 20 ms, takes the record with the new token.
    const forwarded = () => spool.outbox.get('txn-r')!.state === 'forwarded';
    for (let i = 0; i < 1000 && !forwarded(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.ok(forwarded(), 'sent by the timer at the new interval and acknowledged');
    t.ok(backend.records.has('txn-r'), 'the back-end took it: the new token was sent');
  },
);
