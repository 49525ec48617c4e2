/**
 * `codpos events` as a process (the built CLI) following a daemon (codposd --sim, run in the
 * test's process on a temporary data directory) that is stopped and started again on the same
 * spool: the CLI reconnects and resumes, and no event is lost or repeated.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { codposBin, runCodpos } from '../helpers/cli.js';
import { call } from '../runtime/daemon-fixtures.js';
import { eventually, startDaemonIn, tempDataDir } from '../runtime/payment/payment-fixtures.js';

function withoutCodposVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS_')));
}

/** Starts `codpos ARGS` without blocking this process (the daemon it follows lives here). */
function codpos(args: string[], dataDir: string) {
  const child = spawn(process.execPath, [codposBin, ...args], {
    env: { ...withoutCodposVariables(), CODPOS_DATA__DIR: dataDir },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const done = once(child, 'exit').then(([status]) => status as number | null);
  return { child, out, done };
}

const PICKUPS = ['RR100000003CH', 'RR200000006CH', 'RR300000009CH', 'RR400000001CH', 'RR500000004CH', 'RR600000007CH'];

t.test(
  'codpos events --json --since 0 across a daemon restart: every event once, ids one after another, the pickups of both runs in order',
  async (t) => {
    const dir = tempDataDir();
    const first = await startDaemonIn(t, dir);
    const follower = codpos(['events', '--json', '--since', '0'], dir);
    t.teardown(() => follower.child.kill('SIGKILL'));
    const lines = () =>
      follower.out.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { id?: number; type: string; data: Record<string, unknown> });
    for (const waybill of PICKUPS.slice(0, 3))
      t.equal((await call(first.socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill })).status, 200);
    await eventually(
      () => lines().filter((event) => event.type === 'waybill.pickup').length === 3,
      "the first run's pickups followed",
    );
    await first.stop();
    await eventually(() => follower.out.stderr.includes('the daemon went away'), 'the CLI saw the daemon go');

    const second = await startDaemonIn(t, dir);
    for (const waybill of PICKUPS.slice(3))
      t.equal((await call(second.socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill })).status, 200);
    await eventually(
      () => lines().filter((event) => event.type === 'waybill.pickup').length >= 6,
      "the second run's pickups followed",
    );
    follower.child.kill('SIGINT');
    t.equal(await follower.done, 0, follower.out.stderr);

    const events = lines();
    t.same(
      events.map((event) => event.id),
      events.map((_event, i) => i + 1),
      'ids 1, 2, 3, ... each once: none lost, none repeated, across the restart',
    );
    t.same(
      events.filter((event) => event.type === 'waybill.pickup').map((event) => event.data.waybill),
      PICKUPS,
      "both runs' pickups, in order",
    );
    t.notOk(
      events.some((event) => event.type === 'events.gap'),
      'a clean restart leaves no gap',
    );
    t.ok(
      events.some(
        (event, i) =>
          event.type === 'device.state' && i > 2 && i < events.findIndex((e) => e.data.waybill === PICKUPS[3]),
      ),
      'what the first run published while stopping is there too',
    );
    t.match(follower.out.stderr, /reconnected, resuming after event \d+/);
  },
);

t.test(
  'codpos events: human lines (time, id, type, fields); --since replays after an id; no daemon exits 7; a bad --since is a usage error',
  async (t) => {
    const dir = tempDataDir();
    const { socketPath } = await startDaemonIn(t, dir);
    const pickup = await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: PICKUPS[0] });
    const follower = codpos(['events', '--since', '0'], dir);
    t.teardown(() => follower.child.kill('SIGKILL'));
    await eventually(() => follower.out.stdout.includes('waybill.pickup'), 'the pickup replayed');
    follower.child.kill('SIGINT');
    t.equal(await follower.done, 0);
    t.match(
      follower.out.stdout,
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d  #\\d+  waybill\\.pickup  id=${String(pickup.json.id)}  waybill=${PICKUPS[0]}$`,
        'm',
      ),
    );
    const pickupId = Number(/#(\d+)  waybill\.pickup/.exec(follower.out.stdout)![1]);
    const after = codpos(['events', '--since', String(pickupId)], dir);
    t.teardown(() => after.child.kill('SIGKILL'));
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'dispatch', waybill: PICKUPS[0] });
    await eventually(() => after.out.stdout.includes('waybill.dispatch'), 'the dispatch followed');
    after.child.kill('SIGINT');
    await after.done;
    t.notMatch(after.out.stdout, /waybill\.pickup/, 'nothing at or before --since');

    const none = runCodpos(['events'], { env: { CODPOS_DATA__DIR: tempDataDir() } });
    t.equal(none.status, 7);
    t.match(none.stderr, /no codposd answers on/);
    const bad = runCodpos(['events', '--since', 'yesterday'], { env: { CODPOS_DATA__DIR: dir } });
    t.equal(bad.status, 2);
    t.match(bad.stderr, /--since: expected an event id/);
  },
);
