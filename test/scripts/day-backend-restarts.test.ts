/**
 * The courier's day against `codpos sim backend` as a process that is SIGKILLed and restarted
 * twice during the round: the daemon spools what the back-end does not
 * take and sends it again when it is back; at the end the back-end holds every event the
 * terminal saw acknowledged exactly once, and the cash handed over is the cash collected.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import { createLogger } from '../../runtime/log.js';
import { createDaemon, simulateEverything } from '../../runtime/daemon.js';
import { apiSocketPath } from '../../runtime/api/server.js';
import { FileKeyProvider, Spool, Vault } from '../../spool/index.js';
import { DaemonApi, EventFollower } from '../../scripts/day/api.js';
import { dayTaskList } from '../../scripts/day/plan.js';
import { playDay, type DayBackend } from '../../scripts/day/player.js';
import { codposBin, readJsonLines } from '../helpers/cli.js';

/** The back-end process on `port` (0: any) keeping its records in `db`. */
async function backendProcess(
  t: Test,
  port: number,
  db: string,
  tasks: string,
): Promise<{ child: ChildProcess; port: number; url: string; askJson: (command: string) => Promise<unknown> }> {
  const child = spawn(
    process.execPath,
    [codposBin, 'sim', 'backend', '--port', String(port), '--db', db, '--tasks', tasks, '--json'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
    },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const { lines, next } = readJsonLines(child.stdout!);
  const start = await next((l) => 'port' in l);
  const askJson = async (command: string) => {
    const from = lines.length;
    child.stdin!.write(`${command}\n`);
    return JSON.parse(String((await next((l) => lines.indexOf(l) >= from && 'ok' in l)).text)) as unknown;
  };
  return { child, port: Number(start.port), url: String(start.url), askJson };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

t.test(
  'the day, with the back-end process killed and restarted twice: every acknowledged event held once, the handover equal to the cash collected',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-day-restarts-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'backend.db');
    const tasks = join(dir, 'tasks.json');
    writeFileSync(tasks, JSON.stringify(dayTaskList()));
    let backend = await backendProcess(t, 0, db, tasks);
    const { port, url } = backend;

    const dataDir = join(dir, 'terminal');
    const base = simulateEverything(validateConfig({ data: { dir: dataDir }, emv: { cardWaitMs: 30_000 } }));
    const config = { ...base, uplink: { ...base.uplink, mode: 'http' as const, url } };
    const daemon = createDaemon(config, createLogger({ level: 'silent' }), '0.0.0-test');
    await daemon.start();
    let stopped = false;
    t.teardown(async () => {
      if (!stopped) await daemon.stop();
    });
    const socket = apiSocketPath(config);
    const events = new EventFollower(socket);
    t.teardown(() => events.close());

    let kills = 0;
    const lines: string[] = [];
    const restarting: DayBackend = {
      beforeDelivery: async (index) => {
        if (index === 1 || index === 4) {
          await kill(backend.child);
          kills++;
          return `the back-end process is killed (${kills})`;
        }
        if (index === 2 || index === 5) {
          backend = await backendProcess(t, port, db, tasks);
          return 'the back-end process is restarted on its database';
        }
        return undefined;
      },
      afterRound: async () => undefined,
      records: async () =>
        (await backend.askJson('records')) as Array<{ id: string; stream: string; payload: unknown }>,
    };
    const summary = await playDay(new DaemonApi(socket), events, restarting, join(dir, 'out'), (line) =>
      lines.push(line),
    );
    t.comment(lines.join('\n'));
    t.equal(kills, 2, 'killed twice during the round');
    t.equal(summary.reconciled, true, `the day reconciled: ${summary.problems.join('; ')}`);
    t.match(summary.handover, /USD 33\.00 counted .* USD 33\.00 expected, difference USD 0\.00/);
    t.equal(summary.cash.amount, 3300, 'the handover is the cash collected: 18.00 + 15.00');

    const held = (await backend.askJson('records')) as Array<{ id: string }>;
    await daemon.stop();
    stopped = true;
    const spool = Spool.open({
      file: join(dataDir, 'spool.db'),
      vault: await Vault.fromProvider(new FileKeyProvider(join(dataDir, config.spool.keyFile))),
    });
    t.teardown(() => spool.close());
    const acknowledged = spool.outbox
      .list({ state: 'forwarded', limit: 100_000 })
      .filter((r) => ['waybill-event', 'transaction', 'handover'].includes(r.stream));
    const heldIds = held.map((r) => r.id);
    t.equal(new Set(heldIds).size, heldIds.length, 'each record held once');
    t.same(
      acknowledged.map((r) => r.id).filter((id) => !heldIds.includes(id)),
      [],
      'every record the terminal saw acknowledged is held',
    );
    t.same(
      spool.outbox.list({ state: 'ready', limit: 100 }).filter((r) => r.stream !== 'advice'),
      [],
      'nothing left to send',
    );
    t.ok(acknowledged.length >= 15, `${acknowledged.length} records acknowledged`);
  },
);
