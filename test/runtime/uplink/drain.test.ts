/**
 * The drain when the back-end returns: a record's backoff does not hold the stream
 * once the back-end answers again. Real HTTP on loopback to the back-end simulator, a real
 * spool with the real backoff policy and a hand-moved clock (the spool's clock seam), so a
 * backoff of more than a minute is reached without waiting for it.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../../config/paths.js';
import type { NetworkInterfaceInfo } from 'node:os';
import { validateConfig } from '../../../config/load.js';
import type { ConfigInput } from '../../../config/schema.js';
import { EventBus } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { NetworkWatch, networkFingerprint } from '../../../runtime/uplink/network-watch.js';
import { UplinkService } from '../../../runtime/uplink/service.js';
import { BackendSimulator } from '../../../runtime/uplink/simulator.js';
import { STREAMS } from '../../../spool/index.js';
import { openTestSpool } from '../../spool/helpers.js';
import { until } from '../host/fixtures.js';

const silent = createLogger({ level: 'silent' });
const HOUR = 3_600_000;

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;
const loopbackOnly: Interfaces = {
  lo: [
    {
      address: '127.0.0.1',
      netmask: '255.0.0.0',
      family: 'IPv4',
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '127.0.0.1/8',
    },
  ],
};
const linkUp: Interfaces = {
  ...loopbackOnly,
  wwan0: [
    {
      address: '10.64.3.7',
      netmask: '255.255.255.0',
      family: 'IPv4',
      mac: '02:00:00:00:00:01',
      internal: false,
      cidr: '10.64.3.7/24',
    },
  ],
};

/**
 * The uplink against the simulator on a spool with a manual clock. By default nothing sends
 * on its own (long intervals, no network watch): each test says what triggers what.
 */
async function setUp(t: Test, uplink: ConfigInput['uplink'] = {}, interfaces?: () => Interfaces) {
  const backend = new BackendSimulator({ basePath: '/api/v1' });
  const { url } = await backend.start();
  t.teardown(() => backend.stop());
  const { spool, clock } = openTestSpool();
  t.teardown(() => spool.close());
  const config = validateConfig({
    uplink: { mode: 'http', url, intervalMs: HOUR, probeIntervalMs: HOUR, networkWatchMs: 0, ...uplink },
  });
  const service = new UplinkService(config, silent, {
    spool: () => spool,
    requestTimeoutMs: 5000,
    ...(interfaces ? { networkInterfaces: interfaces } : {}),
  });
  await service.start();
  t.teardown(() => service.stop());
  await service.tasksReady();
  return { backend, spool, clock, uplink: service };
}

/**
 * Keeps the back-end away and fails the record's batch again and again, moving the clock to
 * each retry time, until its wait is over a minute. Returns the retry time the outbox then has.
 */
async function failUntilBackoffOverAMinute(
  t: Test,
  env: Awaited<ReturnType<typeof setUp>>,
  id: string,
): Promise<number> {
  const { backend, spool, clock, uplink } = env;
  backend.addRule({ action: 'unavailable' });
  for (let round = 0; round < 20; round++) {
    t.equal(await uplink.sendNow(), 0);
    const record = spool.outbox.get(id)!;
    if (record.availableAt - clock.now() > 60_000) return record.availableAt;
    clock.set(record.availableAt);
  }
  throw new Error('the backoff never passed a minute');
}

t.test(
  'the drain does not wait on a backoff: after an outage long enough for a backoff over a minute, the back-end returns and the first record is sent before its old retry time',
  async (t) => {
    const env = await setUp(t);
    const { backend, spool, clock, uplink } = env;
    await spool.outbox.enqueue(STREAMS.waybillEvent, { waybill: 'RR123456785CH', event: 'delivery' }, { id: 'evt-1' });
    await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-1' }, { id: 'txn-1' });
    const oldRetryAt = await failUntilBackoffOverAMinute(t, env, 'evt-1');
    const attemptsWhileAway = spool.outbox.get('evt-1')!.attempts;
    t.ok(oldRetryAt - clock.now() > 60_000, 'the real backoff policy: more than a minute to wait');

    backend.clearRules(); // the back-end is back
    t.equal(await uplink.sendNow(), 0, 'without a probe the backoff would hold the records');
    t.equal(backend.records.size, 0);

    t.equal(await uplink.probeIfWaiting(), true, 'records wait and the back-end was away: it probes');
    await until(() => spool.outbox.unfinishedCount() === 0, 'both records at the back-end and acknowledged');
    t.ok(clock.now() < oldRetryAt, 'sent before the retry time the outbox had');
    t.same([...backend.records.keys()], ['evt-1', 'txn-1'], 'in stream order');
    t.match(
      spool.outbox.get('evt-1'),
      { state: 'forwarded', attempts: attemptsWhileAway + 1 },
      'the attempts are kept: only the wait went',
    );
    t.equal(backend.probes, 1);
    t.same(uplink.health(), { state: 'up' });
  },
);

t.test(
  'the probe runs on its own every uplink.probeIntervalMs while records wait, and sends them once it is answered',
  async (t) => {
    const env = await setUp(t, { probeIntervalMs: 10 });
    const { backend, spool, clock, uplink } = env;
    await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'pickup' }, { id: 'evt-p' });
    const oldRetryAt = await failUntilBackoffOverAMinute(t, env, 'evt-p');
    // The probe meets the outage too: 503 keeps the records waiting.
    await until(() => backend.probes >= 1, 'a probe during the outage');
    t.equal(spool.outbox.get('evt-p')!.state, 'ready');
    backend.clearRules();
    await until(() => spool.outbox.unfinishedCount() === 0, 'the record at the back-end and acknowledged');
    t.ok(backend.records.has('evt-p'));
    t.ok(clock.now() < oldRetryAt);
    t.equal(await uplink.probeIfWaiting(), false, 'the back-end answers and nothing waits: no probe');
  },
);

t.test('a task list download that succeeds resets the backoff and sends what waited', async (t) => {
  const env = await setUp(t);
  const { backend, spool, clock, uplink } = env;
  await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-d' }, { id: 'txn-d' });
  const oldRetryAt = await failUntilBackoffOverAMinute(t, env, 'txn-d');
  backend.clearRules();
  t.match(await uplink.downloadTasks(), { tasks: 4, couriers: 1 });
  await until(() => spool.outbox.unfinishedCount() === 0, 'the record at the back-end and acknowledged');
  t.ok(backend.records.has('txn-d'));
  t.ok(clock.now() < oldRetryAt);
  t.equal(backend.probes, 0, 'no probe was needed');
});

t.test(
  'a batch accepted after an outage resets the backoff of the records behind it, sent in the same run',
  async (t) => {
    const env = await setUp(t);
    const { backend, spool, clock, uplink } = env;
    await spool.outbox.enqueue(STREAMS.transaction, { journalId: 'txn-w' }, { id: 'txn-w' });
    const oldRetryAt = await failUntilBackoffOverAMinute(t, env, 'txn-w');
    backend.clearRules();
    // A waybill event made after the outage is due at once; its batch goes through and the
    // transaction that waited goes in the same run.
    await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'delivery' }, { id: 'evt-new' });
    t.equal(await uplink.sendNow(), 2);
    t.same([...backend.records.keys()], ['evt-new', 'txn-w']);
    t.ok(clock.now() < oldRetryAt);
  },
);

t.test('a change of the network addresses (the link coming up) probes at once', async (t) => {
  let interfaces = loopbackOnly;
  const env = await setUp(t, { networkWatchMs: 5 }, () => interfaces);
  const { backend, spool, clock, uplink } = env;
  await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'exception' }, { id: 'evt-n' });
  const oldRetryAt = await failUntilBackoffOverAMinute(t, env, 'evt-n');
  backend.clearRules();
  t.equal(backend.probes, 0, 'the probe interval is an hour: no probe yet');
  interfaces = linkUp;
  await until(() => spool.outbox.unfinishedCount() === 0, 'the record at the back-end and acknowledged');
  t.ok(backend.records.has('evt-n'));
  t.equal(backend.probes, 1, 'one probe, from the change');
  t.ok(clock.now() < oldRetryAt);
  t.equal(uplink.health().state, 'up');
});

t.test('no probe when nothing waits, nor while the back-end answers', async (t) => {
  const { backend, spool, uplink } = await setUp(t);
  backend.addRule({ action: 'unavailable' });
  t.equal(await uplink.probeIfWaiting(), false, 'the spool is empty');
  t.equal(backend.probes, 0);
  backend.clearRules();
  await spool.outbox.enqueue(STREAMS.waybillEvent, { event: 'pickup' }, { id: 'evt-q' });
  t.equal(
    await uplink.probeIfWaiting(),
    false,
    'a record is due but the last exchange (the task download) succeeded: the send takes it, not a probe',
  );
  t.equal(backend.probes, 0);
});

t.test('the network watch: only non-internal addresses count, and a change is seen once', async (t) => {
  let interfaces = loopbackOnly;
  let changes = 0;
  const watch = new NetworkWatch(
    () => changes++,
    () => interfaces,
  );
  t.equal(watch.check(), false, 'nothing changed');
  interfaces = { lo: [{ ...loopbackOnly.lo![0]!, address: '127.0.0.2' }] };
  t.equal(watch.check(), false, 'a loopback address is not the link');
  interfaces = linkUp;
  t.equal(watch.check(), true, 'the modem has an address');
  t.equal(watch.check(), false, 'seen once');
  interfaces = loopbackOnly;
  t.equal(watch.check(), true, 'the link went down: a change too');
  t.equal(changes, 2);
  t.equal(networkFingerprint(linkUp), 'wwan0/IPv4/10.64.3.7');
  const refusing = new NetworkWatch(
    () => changes++,
    () => {
      throw new Error('getifaddrs refused');
    },
  );
  t.equal(refusing.check(), false, 'interfaces that cannot be read: nothing to watch');
});

t.test(
  'ready does not wait for the task list: start() resolves while the download is held, tasksReady() and tasks.updated follow it',
  async (t) => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const backend = new BackendSimulator({ basePath: '/api/v1' });
    const { url: simUrl } = await backend.start();
    t.teardown(() => backend.stop());
    // A back-end whose task list answers only when the test says so.
    const server = createServer((req, res: ServerResponse) => {
      void held.then(async () => {
        const answer = await fetch(`${simUrl}${(req.url ?? '').replace(/^\/api\/v1/, '')}`);
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const events = new EventBus();
    const published: string[] = [];
    events.subscribe((event) => published.push(event.type));
    const uplink = new UplinkService(
      validateConfig({
        uplink: {
          mode: 'http',
          url: `http://127.0.0.1:${port}/api/v1`,
          intervalMs: HOUR,
          probeIntervalMs: HOUR,
          networkWatchMs: 0,
        },
      }),
      silent,
      { spool: () => spool, events },
    );
    await uplink.start();
    t.teardown(() => uplink.stop());
    t.equal(spool.tasks.tasks().length, 0, 'started, and the list is still on its way');
    t.same(published, []);
    release!();
    t.same(await uplink.tasksReady(), { tasks: 4, couriers: 1, tariffVersion: 'sim-2026.1' });
    t.equal(spool.tasks.tasks().length, 4);
    t.same(published, ['tasks.updated']);
  },
);

t.test(
  'a box with uplink.mode http never loads the back-end simulator: the uplink service (built) does not import it',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-lazy-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // A module loader hook that names every module of runtime/uplink/ as it is loaded.
    writeFileSync(
      join(dir, 'hooks.mjs'),
      "export async function load(url, context, next) { if (url.includes('/runtime/uplink/')) process.stdout.write(url.split('/runtime/uplink/')[1] + '\\n'); return next(url, context); }\n",
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      "import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);\n",
    );
    const service = pathToFileURL(join(packageRoot, 'dist', 'runtime', 'uplink', 'service.js')).href;
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        pathToFileURL(join(dir, 'register.mjs')).href,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(service)})`,
      ],
      { encoding: 'utf8' },
    );
    t.equal(run.status, 0, run.stderr);
    const loaded = run.stdout.split('\n').filter(Boolean);
    t.ok(loaded.includes('service.js'), 'the hook sees the uplink modules');
    t.notOk(loaded.includes('simulator.js'), 'the simulator is not among them');
  },
);
