import t from 'tap';
import { Writable } from 'node:stream';
import { ServiceManager, type Service, type Health } from '../../runtime/service.js';
import { createLogger } from '../../runtime/log.js';
import { PosError } from '../../config/errors.js';

const quiet = createLogger({ level: 'silent' });

function recorder(name: string, calls: string[], failStart = false): Service {
  let state: Health = { state: 'starting' };
  return {
    name,
    async start() {
      calls.push(`start ${name}`);
      if (failStart) throw new Error(`${name} cannot open`);
      state = { state: 'up' };
    },
    async stop() {
      calls.push(`stop ${name}`);
      state = { state: 'stopped' };
    },
    health: () => state,
  };
}

t.test('services start in order and stop in reverse', async (t) => {
  const calls: string[] = [];
  const manager = new ServiceManager(
    ['spool', 'drivers', 'host'].map((n) => recorder(n, calls)),
    quiet,
  );
  await manager.startAll();
  t.same(manager.health(), { spool: { state: 'up' }, drivers: { state: 'up' }, host: { state: 'up' } });
  await manager.stopAll();
  t.same(calls, ['start spool', 'start drivers', 'start host', 'stop host', 'stop drivers', 'stop spool']);
  t.same(manager.health().spool, { state: 'stopped' });
});

t.test('a failed start stops what already started and names the service', async (t) => {
  const calls: string[] = [];
  const manager = new ServiceManager(
    [recorder('spool', calls), recorder('drivers', calls, true), recorder('host', calls)],
    quiet,
  );
  const error = await manager.startAll().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof PosError, 'a PosError');
  t.match(error, { code: 'CODPOS_DAEMON_START_FAILED', message: /drivers failed to start: drivers cannot open/ });
  t.same(calls, ['start spool', 'start drivers', 'stop spool']);
});

/** A service whose start resolves only when the test says: shows which starts overlap. */
function gated(name: string, calls: string[], outcome: 'up' | 'fail' = 'up'): Service & { open(): void } {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let state: Health = { state: 'starting' };
  return {
    name,
    async start() {
      calls.push(`start ${name}`);
      await opened;
      if (outcome === 'fail') throw new Error(`${name} cannot open`);
      calls.push(`up ${name}`);
      state = { state: 'up' };
    },
    async stop() {
      calls.push(`stop ${name}`);
      state = { state: 'stopped' };
    },
    health: () => state,
    open: () => release(),
  };
}

t.test('a stage given as a list starts its services together, and the next stage waits for all of them', async (t) => {
  const calls: string[] = [];
  const devices = gated('devices', calls);
  const host = gated('host', calls);
  const manager = new ServiceManager([recorder('spool', calls), [devices, host], recorder('api', calls)], quiet);
  const starting = manager.startAll();
  // Both starts are under way before either has finished: they run side by side.
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.same(calls, ['start spool', 'start devices', 'start host']);
  host.open();
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.notOk(calls.includes('start api'), 'the next stage waits for the slower service of the stage');
  devices.open();
  await starting;
  t.same(calls, ['start spool', 'start devices', 'start host', 'up host', 'up devices', 'start api']);
  t.same(
    Object.keys(manager.health()),
    ['spool', 'devices', 'host', 'api'],
    'health lists every service in config order',
  );
  await manager.stopAll();
  t.same(
    calls.slice(6),
    ['stop api', 'stop devices', 'stop host', 'stop spool'],
    'stopped in the reverse of the order they came up',
  );
});

t.test(
  'when one service of a stage fails, the others of the stage that started stop too, and the error names it',
  async (t) => {
    const calls: string[] = [];
    const devices = gated('devices', calls);
    const host = gated('host', calls, 'fail');
    const manager = new ServiceManager([recorder('spool', calls), [devices, host], recorder('api', calls)], quiet);
    const starting = manager.startAll().then(
      () => undefined,
      (e: unknown) => e,
    );
    host.open();
    devices.open();
    const error = await starting;
    t.match(error, { code: 'CODPOS_DAEMON_START_FAILED', message: /host failed to start: host cannot open/ });
    t.same(
      calls,
      ['start spool', 'start devices', 'start host', 'up devices', 'stop devices', 'stop spool'],
      'api never started; devices, which did, stopped',
    );
  },
);

t.test('the logger masks card data in objects and messages', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ destination: sink });
  log.info({ pan: '4761739001010119', de55: '9F2608...' }, 'auth for 4761739001010119');
  const out = lines.join('');
  t.notMatch(out, /4761739001010119/);
  const parsed = JSON.parse(lines[0]!);
  t.equal(parsed.pan, '476173******0119');
  t.equal(parsed.de55, '[WIPED]');
  t.equal(parsed.msg, 'auth for 476173******0119');
});
