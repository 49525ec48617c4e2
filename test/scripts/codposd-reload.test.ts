/**
 * codposd on a box: SIGHUP re-reads the config file, applies the log
 * level at once, names what needs a restart, keeps the running config when the file is bad
 * (broken JSON, a FIFO), and stays up; one daemon per data directory, even after a kill -9.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { codposAgainst, codposdBin, readJsonLines, startCodposd, type JsonLine } from '../helpers/cli.js';
import { simConfigPath } from '../../config/paths.js';
import { bindFakeNotifySocket } from '../helpers/notify-socket.js';

/** A box config (every device and link simulated) with its data in a temp dir. */
function boxConfig(dir: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const sim = JSON.parse(readFileSync(simConfigPath, 'utf8')) as Record<string, unknown>;
  return { ...sim, data: { dir: join(dir, 'var') }, ...changes };
}

function started(args: string[]): {
  daemon: ChildProcess;
  next: (match: (line: JsonLine) => boolean) => Promise<JsonLine>;
  lines: JsonLine[];
} {
  const daemon = startCodposd(args);
  const { next, lines } = readJsonLines(daemon.stdout!);
  return { daemon, next, lines };
}

t.test(
  'SIGHUP: the log level and the uplink interval apply at once, a restart-only change is named, a bad file is kept out and the daemon answers',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codposd-reload-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(boxConfig(dir)));
    const { daemon, next, lines } = started(['--config', file]);
    t.teardown(() => daemon.kill('SIGKILL'));
    await next((line) => line.msg === 'ready');
    t.notOk(
      lines.some((line) => line.level === 'debug'),
      'no debug line at level info',
    );

    const sim = boxConfig(dir) as { uplink: Record<string, unknown> };
    writeFileSync(
      file,
      JSON.stringify(
        boxConfig(dir, {
          log: { level: 'debug' },
          uplink: { ...sim.uplink, intervalMs: 7000, url: 'http://127.0.0.1:9/elsewhere/api/v1' },
        }),
      ),
    );
    daemon.kill('SIGHUP');
    const reloaded = await next((line) => line.msg === 'config reloaded');
    t.match(reloaded, {
      level: 'info',
      applied: ['log.level', 'uplink.intervalMs'],
      restartNeeded: ['uplink.url'],
      logLevel: 'debug',
    });
    t.match(await next((line) => line.msg === 'config change needs a restart to apply'), {
      level: 'warn',
      setting: 'uplink.url',
    });
    t.match(
      await next((line) => line.msg === 'config re-read'),
      { level: 'debug', file },
      'a debug line once the level is debug',
    );

    writeFileSync(file, '{"log": {"level": "info"'); // cut short: not JSON
    daemon.kill('SIGHUP');
    const failed = await next((line) => line.msg === 'config reload failed; the running config is kept');
    t.match(failed, { level: 'error', code: 'CODPOS_CONFIG_INVALID', problems: [/config\.json: not valid JSON/] });

    // A FIFO in the file's place must not hang the reload (nothing would ever write to it).
    rmSync(file);
    t.equal(spawnSync('mkfifo', [file]).status, 0, 'mkfifo');
    daemon.kill('SIGHUP');
    const fifo = await next(
      (line) => line.msg === 'config reload failed; the running config is kept' && line !== failed,
    );
    t.match(fifo, {
      code: 'CODPOS_CONFIG_INVALID',
      problems: [`${file}: not a regular file (a FIFO); a config is a JSON file`],
    });

    const status = await codposAgainst(['status', '--json'], join(dir, 'var'));
    t.equal(status.status, 0, `the daemon still answers its API (${status.stderr})`);
    t.equal(daemon.exitCode, null, 'still running');
    // The running config is still the debug one: the same good file again changes nothing live.
    rmSync(file);
    writeFileSync(file, JSON.stringify(boxConfig(dir, { log: { level: 'debug' } })));
    daemon.kill('SIGHUP');
    const again = await next((line) => line.msg === 'config reloaded' && line !== reloaded);
    t.match(again, { applied: [], restartNeeded: [], logLevel: 'debug' }, 'the bad files changed nothing');

    const exit = once(daemon, 'exit');
    daemon.kill('SIGTERM');
    t.same(await exit, [0, null]);
  },
);

t.test('a config file that is a FIFO stops codposd at boot with exit 2 instead of hanging it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codposd-fifo-'));
  const fifo = join(dir, 'config.json');
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const result = spawnSync(process.execPath, [codposdBin, '--config', fifo], { encoding: 'utf8', timeout: 30_000 });
  t.equal(result.status, 2);
  t.match(result.stderr, 'not a regular file (a FIFO)');
});

t.test(
  'a second codposd on the same data directory exits at once naming the pid; after a kill -9 of the first, a new one starts',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codposd-lock-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(boxConfig(dir)));
    const first = started(['--config', file]);
    t.teardown(() => first.daemon.kill('SIGKILL'));
    await first.next((line) => line.msg === 'ready');

    const second = spawnSync(process.execPath, [codposdBin, '--config', file], { encoding: 'utf8', timeout: 30_000 });
    t.equal(second.status, 7, 'exit code of the DAEMON area');
    t.match(
      second.stderr,
      `another codposd (pid ${first.daemon.pid}) holds the lock ${join(dir, 'var', 'codposd.lock')}`,
    );
    t.equal(second.stdout, '', 'it opened nothing and logged nothing');
    t.equal(first.daemon.exitCode, null, 'the first runs on');

    const killed = once(first.daemon, 'exit');
    first.daemon.kill('SIGKILL');
    await killed;
    const third = started(['--config', file]);
    t.teardown(() => third.daemon.kill('SIGKILL'));
    await third.next((line) => line.msg === 'ready');
    const exit = once(third.daemon, 'exit');
    third.daemon.kill('SIGTERM');
    t.same(await exit, [0, null]);
  },
);

t.test('under systemd a SIGHUP is RELOADING=1, then READY=1 again once the file is applied', async (t) => {
  const socket = bindFakeNotifySocket();
  t.teardown(() => socket.close());
  const dir = mkdtempSync(join(tmpdir(), 'codposd-notify-reload-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(boxConfig(dir)));
  const daemon = startCodposd(['--config', file], { env: { NOTIFY_SOCKET: socket.path } });
  t.teardown(() => daemon.kill('SIGKILL'));
  const { next } = readJsonLines(daemon.stdout!);
  await socket.waitFor((n) => n.READY === '1');
  daemon.kill('SIGHUP');
  await next((line) => line.msg === 'config reloaded');
  await socket.waitFor((n) => n.READY === '1', 2);
  const relevant = socket.received
    .filter((n) => n.READY === '1' || n.RELOADING === '1')
    .map((n) => (n.READY ? 'READY' : 'RELOADING'));
  t.same(relevant, ['READY', 'RELOADING', 'READY']);
  const exit = once(daemon, 'exit');
  daemon.kill('SIGTERM');
  t.same(await exit, [0, null]);
});
