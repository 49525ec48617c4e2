/**
 * `codpos sim backend` as a process: it prints its address, takes the uplink's batches and
 * answers the task list, keeps what it acknowledged across a SIGKILL (each record once), takes
 * fault settings from options and stdin, serves a daemon pointed at it with uplink.mode http,
 * and refuses bad options naming them.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codposBin, readJsonLines, runCodpos, type JsonLine } from '../helpers/cli.js';
import { validateConfig } from '../../config/load.js';
import { createLogger } from '../../runtime/log.js';
import { UplinkService } from '../../runtime/uplink/service.js';
import { createDaemon, simulateEverything } from '../../runtime/daemon.js';
import { apiSocketPath } from '../../runtime/api/server.js';
import { STREAMS } from '../../spool/index.js';
import type { Spool } from '../../spool/index.js';
import { openSpool } from '../runtime/host/fixtures.js';
import { call } from '../runtime/daemon-fixtures.js';

const silent = createLogger({ level: 'silent' });
const FAST_RETRY = { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-sim-backend-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `codpos sim backend --port 0 --json ARGS`; resolves once it printed its address. */
async function startBackend(t: Test, args: string[]) {
  const child = spawn(process.execPath, [codposBin, 'sim', 'backend', '--port', '0', '--json', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
  });
  const { lines, next } = readJsonLines(child.stdout);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A failed step must not leave the simulator running: its pipes would keep tap waiting.
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const start = await next((l) => 'port' in l);
  /** Runs one console command and resolves with its answer (the first after it was typed). */
  const ask = async (command: string): Promise<JsonLine> => {
    const from = lines.length;
    child.stdin.write(`${command}\n`);
    return next((l) => lines.indexOf(l) >= from && 'ok' in l);
  };
  const askJson = async (command: string) =>
    JSON.parse(String((await ask(command)).text)) as Record<string, unknown> & Array<Record<string, unknown>>;
  return { child, start, url: String(start.url), lines, next, ask, askJson, exited, stderr: () => stderr };
}

async function uplinkTo(t: Test, url: string, spool: Spool): Promise<UplinkService> {
  const uplink = new UplinkService(
    validateConfig({ uplink: { mode: 'http', url, batchSize: 4, intervalMs: 3_600_000 } }),
    silent,
    { spool: () => spool, requestTimeoutMs: 5000 },
  );
  await uplink.start();
  t.teardown(() => uplink.stop());
  return uplink;
}

t.test(
  "sim backend: prints its address, takes the uplink's batches (one line each), answers the task list, reports stats; stops on SIGTERM",
  async (t) => {
    const dir = tempDir(t);
    const backend = await startBackend(t, ['--db', join(dir, 'backend.db')]);
    t.match(backend.start, {
      address: '127.0.0.1',
      port: Number,
      url: /^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/,
      db: join(dir, 'backend.db'),
      held: { records: 0 },
    });
    t.not(backend.start.port, 0);
    const spool = await openSpool(t);
    const uplink = await uplinkTo(t, backend.url, spool);
    t.same(
      await uplink.downloadTasks(),
      { tasks: 4, couriers: 1, tariffVersion: 'sim-2026.1' },
      "the simulator's day, with its tariff",
    );
    t.same(
      spool.tasks.tasks().map((task) => task.id),
      ['T1', 'T2', 'T3', 'T4'],
    );
    for (let i = 1; i <= 5; i++)
      await spool.outbox.enqueue(STREAMS.waybillEvent, { kind: 'pickup', n: i }, { id: `evt-${i}` });
    await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-1', panLast4: '0119' }, { id: 'txn-1' });
    t.equal(await uplink.sendNow(), 6);
    t.match(await backend.next((l) => l.event === 'batch'), {
      event: 'batch',
      terminalId: 'CODPOS01',
      ids: ['evt-1', 'evt-2', 'evt-3', 'evt-4'],
      status: 200,
      fresh: 4,
      duplicates: 0,
    });
    t.match(await backend.next((l) => l.event === 'batch' && (l.ids as string[]).includes('txn-1')), {
      ids: ['evt-5', 'txn-1'],
      status: 200,
    });
    t.same(await backend.askJson('stats'), {
      records: 6,
      streams: { transaction: 1, 'waybill-event': 5 },
      duplicatesReceived: 0,
      batches: 2,
      faults: { drop: 0, error: 0, duplicate: 0 },
    });
    const transactions = await backend.askJson('records stream=transaction');
    t.match(transactions, [
      { id: 'txn-1', stream: 'transaction', terminalId: 'CODPOS01', payload: { journalId: 'txn-1' } },
    ]);
    t.equal(transactions.length, 1);
    const bad = await backend.ask('records kind=card');
    t.match(bad, { ok: false, error: 'CODPOS_USAGE_BAD_OPTION', message: /kind=card/ });
    backend.child.kill('SIGTERM');
    t.equal(await backend.exited, 0);
    t.equal(backend.stderr(), '');
  },
);

t.test(
  'sim backend SIGKILLed twice mid-day and restarted on the same --db: every acknowledged record held exactly once, the rest re-sent, none lost',
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'backend.db');
    const faultArgs = [
      '--db',
      db,
      '--drop-rate',
      '0.2',
      '--error-rate',
      '0.1',
      '--duplicate-rate',
      '0.2',
      '--fault-seed',
      '5',
      '--latency-ms',
      '5',
    ];
    const spool = await openSpool(t, {
      [STREAMS.waybillEvent]: { backoff: FAST_RETRY },
      [STREAMS.transaction]: { backoff: FAST_RETRY },
    });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const stream = i % 3 === 0 ? STREAMS.transaction : STREAMS.waybillEvent;
      ids.push((await spool.outbox.enqueue(stream, { n: i }, { id: `rec-${String(i).padStart(2, '0')}` })).id);
    }
    const acknowledged = () => ids.filter((id) => spool.outbox.get(id)!.state === 'forwarded');

    for (let life = 1; life <= 2; life++) {
      const backend = await startBackend(t, faultArgs);
      const uplink = await uplinkTo(t, backend.url, spool);
      let driving = true;
      const driver = (async () => {
        while (driving && spool.outbox.unfinishedCount() > 0) {
          await uplink.sendNow();
          await pause(2);
        }
      })();
      // Killed after two more batches were kept in this life, with more still to send.
      await backend.next(
        (l) =>
          l.event === 'batch' &&
          l.status === 200 &&
          backend.lines.filter((b) => b.event === 'batch' && b.status === 200).length >= 2,
      );
      backend.child.kill('SIGKILL');
      await backend.exited;
      driving = false;
      await driver;
      await uplink.stop();
      // Read after the kill: whatever the terminal saw acknowledged, the back-end had committed.
      const ackedBeforeKill = acknowledged();
      t.ok(
        ackedBeforeKill.length > 0 && ackedBeforeKill.length < ids.length,
        `life ${life}: killed mid-day (${ackedBeforeKill.length} of ${ids.length} acknowledged)`,
      );
      const restarted = await startBackend(t, ['--db', db]);
      const held = (await restarted.askJson('records')).map((r) => String(r.id));
      t.same(
        held.filter((id) => ackedBeforeKill.includes(id)).sort(),
        ackedBeforeKill,
        `life ${life}: every acknowledged record survived the SIGKILL`,
      );
      t.equal(new Set(held).size, held.length, 'each once');
      restarted.child.kill('SIGTERM');
      t.equal(await restarted.exited, 0);
    }

    // The third life finishes the day, faults and all.
    const last = await startBackend(t, faultArgs);
    const uplink = await uplinkTo(t, last.url, spool);
    for (let round = 0; round < 500 && spool.outbox.unfinishedCount() > 0; round++) {
      await uplink.sendNow();
      await pause(2);
    }
    t.equal(spool.outbox.unfinishedCount(), 0, 'everything delivered in the end');
    t.same(acknowledged(), ids);
    const held = (await last.askJson('records')).map((r) => String(r.id));
    t.same(held.slice().sort(), ids, 'the back-end holds every record exactly once: no loss, no double');
    const stats = await last.askJson('stats');
    t.match(stats, { records: 40, streams: { transaction: 14, 'waybill-event': 26 } });
    // A copy of an old record (its answer lost before a restart) is still known by its id.
    for (const command of ['drop-rate 0', 'error-rate 0', 'duplicate-rate 0'])
      t.match(await last.ask(command), { ok: true });
    const resend = await fetch(`${last.url}/records`, {
      method: 'POST',
      body: JSON.stringify({
        terminalId: 'CODPOS01',
        records: [{ id: 'rec-00', stream: 'transaction', createdAt: 0, payload: { n: 0 } }],
      }),
    });
    t.same(await resend.json(), { accepted: ['rec-00'], rejected: [] });
    t.match(await last.askJson('stats'), { records: 40, duplicatesReceived: Number(stats.duplicatesReceived) + 1 });
    last.child.kill('SIGTERM');
    t.equal(await last.exited, 0);
  },
);

t.test(
  'sim backend fault options: --error-rate answers 500 until the console sets it back; --duplicate-rate doubles acknowledgements; faults shows the settings',
  async (t) => {
    const dir = tempDir(t);
    const backend = await startBackend(t, [
      '--db',
      join(dir, 'backend.db'),
      '--error-rate',
      '1',
      '--latency-ms',
      '20',
      '--fault-seed',
      '11',
    ]);
    t.same(backend.start.faults, { seed: 11, latencyMs: 20, dropRate: 0, errorRate: 1, duplicateRate: 0 });
    const spool = await openSpool(t, { [STREAMS.waybillEvent]: { backoff: FAST_RETRY } });
    const uplink = await uplinkTo(t, backend.url, spool);
    await spool.outbox.enqueue(STREAMS.waybillEvent, { kind: 'pickup' }, { id: 'evt-1' });
    t.equal(await uplink.sendNow(), 0);
    t.match(uplink.health(), { state: 'degraded', reason: /answered 500/ });
    t.match(await backend.next((l) => l.event === 'batch'), { status: 500, fault: 'error' });
    t.match(await backend.ask('error-rate 0'), { ok: true, text: 'error-rate 0' });
    t.match(await backend.ask('duplicate-rate 1'), { ok: true });
    t.same(await backend.askJson('faults'), { seed: 11, latencyMs: 20, dropRate: 0, errorRate: 0, duplicateRate: 1 });
    const answer = (await (
      await fetch(`${backend.url}/records`, {
        method: 'POST',
        body: JSON.stringify({
          terminalId: 'T',
          records: [{ id: 'probe', stream: 'probe', createdAt: 0, payload: null }],
        }),
      })
    ).json()) as { accepted: string[] };
    t.same(answer.accepted, ['probe', 'probe']);
    await pause(5);
    t.equal(await uplink.sendNow(), 1, 'counted once');
    t.match(await backend.ask('drop-rate 0.5'), { ok: false, message: /add up to 1\.5/ });
    backend.child.kill('SIGTERM');
    t.equal(await backend.exited, 0);
  },
);

t.test(
  'a daemon with uplink.mode http pointed at sim backend downloads its task list from it and sends its waybill events there',
  async (t) => {
    const dir = tempDir(t);
    const backend = await startBackend(t, ['--db', join(dir, 'backend.db')]);
    const config = simulateEverything(validateConfig({ data: { dir: join(dir, 'daemon') } }));
    const daemon = createDaemon(
      { ...config, uplink: { ...config.uplink, mode: 'http', url: backend.url, intervalMs: 50 } },
      silent,
      '0.0.0-test',
    );
    await daemon.start();
    t.teardown(() => daemon.stop());
    const socketPath = apiSocketPath(config);
    t.match(await call(socketPath, 'POST', '/v1/tasks/refresh'), { status: 200, json: { tasks: 4, couriers: 1 } });
    const tasks = (await call(socketPath, 'GET', '/v1/tasks')).json.tasks as Array<{ id: string }>;
    t.same(
      tasks.map((task) => task.id),
      ['T1', 'T2', 'T3', 'T4'],
    );
    const pickup = await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR111111115CH' });
    t.equal(pickup.status, 200);
    const batch = await backend.next(
      (l) => l.event === 'batch' && (l.ids as string[]).includes(String(pickup.json.id)),
    );
    t.match(batch, { status: 200, fresh: 1 });
    t.match(await backend.askJson('records stream=waybill-event'), [
      { id: pickup.json.id, payload: { kind: 'pickup', waybill: 'RR111111115CH' } },
    ]);
    backend.child.kill('SIGTERM');
    t.equal(await backend.exited, 0);
  },
);

t.test('sim backend: a bad option is a usage error (exit 2) naming it, without a stack trace', async (t) => {
  const dir = tempDir(t);
  for (const [args, named] of [
    [['--port', 'eighty'], '--port eighty'],
    [['--latency-ms', '-3'], '--latency-ms -3'],
    [['--error-rate', '1.5'], '--error-rate 1.5'],
    [['--drop-rate', 'often'], '--drop-rate often'],
    [['--duplicate-rate', '2'], '--duplicate-rate 2'],
    [['--fault-seed', 'x'], '--fault-seed x'],
    [['--error-rate', '0.6', '--drop-rate', '0.6'], '--drop-rate, --error-rate and --duplicate-rate add up to 1.2'],
    [['--db', dir], `--db ${dir}`],
  ] as const) {
    const result = runCodpos(['sim', 'backend', '--port', '0', ...args]);
    t.equal(result.status, 2, args.join(' '));
    t.match(result.stderr, named);
    t.notMatch(result.stderr, /\n\s+at /);
  }
});

t.test('sim backend without --json: its address, then one readable line per batch', async (t) => {
  const dir = tempDir(t);
  const child = spawn(
    process.execPath,
    [codposBin, 'sim', 'backend', '--port', '0', '--db', join(dir, 'backend.db'), '--fault-seed', '4'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let text = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const look of waiters) look();
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve) => {
      const look = () => {
        const match = pattern.exec(text);
        if (!match) return;
        waiters.delete(look);
        resolve(match);
      };
      waiters.add(look);
      look();
    });
  const [, url] = await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/api\/v1) \(records in .*: 0 held\)\n/);
  t.match(text, 'Faults, seed 4:');
  t.match(text, `uplink.url "${url!}"`);
  const records = [
    { id: 'a', stream: 'waybill-event', createdAt: 0, payload: null },
    { id: 'b', stream: 'waybill-event', createdAt: 0, payload: null },
  ];
  await fetch(`${url!}/records`, { method: 'POST', body: JSON.stringify({ terminalId: 'CODPOS01', records }) });
  await fetch(`${url!}/records`, { method: 'POST', body: JSON.stringify({ terminalId: 'CODPOS01', records }) });
  await waitFor(/backend\| batch of 2 from CODPOS01 -> 200 \(0 new, 2 again\)\n/);
  t.match(text, 'backend| batch of 2 from CODPOS01 -> 200 (2 new, 0 again)\n');
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(text, 'back-end simulator stopped');
});
