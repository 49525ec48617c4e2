import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { codposBin, codposdBin, startCodposd, waitForLogLine } from '../helpers/cli.js';
import { bindFakeNotifySocket } from '../helpers/notify-socket.js';
import { droppingPort } from '../helpers/ports.js';

/**
 * A box's config file in `dir` (not --sim): these devices, the data under `dir`, and an acquirer
 * that accepts each connection and drops it at once (the daemon must not wait for it).
 */
async function writeBoxConfig(t: Test, dir: string, devices: Record<string, unknown>): Promise<string> {
  const file = join(dir, 'box.json');
  const host = { mode: 'tcp', address: '127.0.0.1', port: await droppingPort(t) };
  writeFileSync(file, JSON.stringify({ data: { dir: join(dir, 'var') }, host, devices }));
  return file;
}

t.test('codposd --sim logs ready, then stops cleanly on SIGTERM (exit 0 means within its stop budget)', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codposd-'));
  const daemon = startCodposd(['--sim'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.teardown(() => daemon.kill('SIGKILL'));
  const ready = await waitForLogLine(daemon, 'ready');
  t.equal(ready.level, 'info');
  t.equal(ready.sim, true);
  t.type(ready.ms, 'number');
  t.type(ready.startMs, 'number');
  // ms counts from the process start, so it holds the services' start (startMs) and more.
  t.ok(
    (ready.ms as number) >= (ready.startMs as number),
    `ready ${String(ready.ms)} ms after the process started, ${String(ready.startMs)} ms of it the services`,
  );
  t.ok(existsSync(join(dataDir, 'spool.db')), 'the spool database was opened in the data directory');
  t.equal(statSync(join(dataDir, 'vault.key')).mode & 0o777, 0o600, 'the vault key file is private');
  const exit = once(daemon, 'exit');
  daemon.kill('SIGTERM');
  const [code, signal] = await exit;
  t.equal(signal, null);
  t.equal(code, 0, 'a stop over budget exits 1');
});

t.test('codposd --help prints its usage and exits 0; an unknown option exits 2 naming it', async (t) => {
  const help = spawnSync(process.execPath, [codposdBin, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /Usage: codposd \[options\]/);
  t.match(help.stdout, /--config <file>/);
  t.match(help.stdout, /--sim/);
  const bad = spawnSync(process.execPath, [codposdBin, '--simulate'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /Unknown option '--simulate'/);
  t.equal(bad.stdout, '', 'nothing started');
});

t.test(
  'devices that are absent or unsupported here (BLE, HID, a missing serial port) and an acquirer that is away do not stop the daemon',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codposd-absent-'));
    const file = await writeBoxConfig(t, dir, {
      scanner: { transport: { kind: 'ble', peripheral: 'SCANNER-1', scanTimeoutMs: 500 } },
      cardReader: { transport: { kind: 'serial', path: join(dir, 'no-such-tty') } },
      printer: { transport: { kind: 'hid', vendorId: 0x0416, productId: 0x5011 } },
    });
    const daemon = startCodposd(['--config', file]);
    t.teardown(() => daemon.kill('SIGKILL'));
    let stdout = '';
    // The acquirer here accepts each connection and drops it at once: the daemon sees it go,
    // whether before or after ready (ready must not wait for the acquirer).
    let sawLinkLost: () => void;
    const linkLost = new Promise<void>((resolve) => (sawLinkLost = resolve));
    daemon.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"msg":"host link lost; reconnecting"')) sawLinkLost();
    });
    await waitForLogLine(daemon, 'ready');
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{') && line.endsWith('}'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const warned = new Set(lines.filter((l) => l.msg === 'device state' && l.state !== 'online').map((l) => l.device));
    t.ok(
      warned.has('scanner') && warned.has('cardReader') && warned.has('printer'),
      `absent devices are reported (${[...warned].join(', ')})`,
    );
    t.ok(
      lines.some((l) => l.msg === 'device state' && l.device === 'pinpad' && l.state === 'online'),
      'the simulated PIN pad is online',
    );
    await linkLost;
    t.pass('the acquirer dropped the link, and ready came all the same');
    const exit = once(daemon, 'exit');
    daemon.kill('SIGTERM');
    t.same(await exit, [0, null]);
  },
);

t.test(
  'the shipped daemon opens serial devices: the four simulators of `codpos sim devices` on pseudo-terminals come online',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codposd-serial-'));
    // The simulators' own process, as a technician runs them: it prints the four paths.
    const sims = spawn(process.execPath, [codposBin, 'sim', 'devices', '--dir', join(dir, 'devices'), '--json'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.teardown(() => sims.kill('SIGKILL'));
    const paths = await new Promise<Record<string, string>>((resolve, reject) => {
      let text = '';
      sims.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const line = text.split('\n').find((l) => l.includes('"paths"'));
        if (line) resolve((JSON.parse(line) as { paths: Record<string, string> }).paths);
      });
      sims.once('exit', (code) => reject(new Error(`codpos sim devices exited (${code ?? 'signal'}): ${text}`)));
    });
    const file = await writeBoxConfig(t, dir, {
      scanner: { transport: { kind: 'serial', path: paths.scanner } },
      cardReader: { transport: { kind: 'serial', path: paths['card-reader'] } },
      pinpad: { transport: { kind: 'serial', path: paths.pinpad } },
      printer: { transport: { kind: 'serial', path: paths.printer } },
    });
    const daemon = startCodposd(['--config', file]);
    t.teardown(() => daemon.kill('SIGKILL'));
    const online = new Set<string>();
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      daemon.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        for (const line of stdout.split('\n')) {
          if (!line.startsWith('{') || !line.includes('"device state"')) continue;
          const parsed = JSON.parse(line) as { device: string; state: string };
          if (parsed.state === 'online') online.add(parsed.device);
        }
        if (online.size === 4) resolve();
      });
      daemon.once('exit', (code) => reject(new Error(`codposd exited (${code ?? 'signal'}): ${stdout.slice(-2000)}`)));
    });
    t.same([...online].sort(), ['cardReader', 'pinpad', 'printer', 'scanner']);
    t.notMatch(stdout, /dynamic import/, 'no device failed to load its serial module');
    const exit = once(daemon, 'exit');
    daemon.kill('SIGTERM');
    t.same(await exit, [0, null]);
  },
);

t.test('a SIGTERM sent the instant the ready line is read is a clean stop, not a kill', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codposd-'));
  const daemon = startCodposd(['--sim'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.teardown(() => daemon.kill('SIGKILL'));
  let output = '';
  let sent = false;
  // In the data handler itself: no promise turn between reading `ready` and the signal.
  daemon.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (!sent && output.includes('"msg":"ready"')) {
      sent = true;
      daemon.kill('SIGTERM');
    }
  });
  const [code, signal] = (await once(daemon, 'exit')) as [number | null, NodeJS.Signals | null];
  t.equal(signal, null, 'not ended by the signal itself (the handler was in place when ready was said)');
  t.equal(code, 0);
  t.match(output, /"msg":"stopped"/);
});

t.test('SIGINT (Ctrl-C) stops it too', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codposd-'));
  const daemon = startCodposd(['--sim'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.teardown(() => daemon.kill('SIGKILL'));
  await waitForLogLine(daemon, 'ready');
  const exit = once(daemon, 'exit');
  daemon.kill('SIGINT');
  t.same(await exit, [0, null]);
});

t.test('a bad config exits 2 with the same lines as config check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codposd-bad-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ log: { level: 'loud' }, api: { tcpPort: -1 } }));
  const daemon = startCodposd(['--config', bad]);
  let stderr = '';
  daemon.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = await once(daemon, 'exit');
  t.equal(code, 2);
  t.same(stderr.trim().split('\n'), [
    'log.level: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
    'api.tcpPort: expected a number at least 0, got -1',
  ]);
});

t.test('an unwritable data directory is a clear start failure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codposd-ro-'));
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, '');
  const daemon = startCodposd(['--sim'], { env: { CODPOS_DATA__DIR: join(file, 'var') } });
  let stderr = '';
  daemon.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = await once(daemon, 'exit');
  t.equal(code, 5);
  t.match(stderr, /data directory .* is not writable \(ENOTDIR\)/);
});

t.test(
  'under systemd (a fake NOTIFY_SOCKET): READY=1 with a status line, watchdog pings, a refreshed status, and STOPPING=1 on SIGTERM',
  async (t) => {
    const socket = bindFakeNotifySocket();
    t.teardown(() => socket.close());
    const dataDir = mkdtempSync(join(tmpdir(), 'codposd-notify-'));
    const daemon = startCodposd(['--sim'], {
      env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', CODPOS_DATA__DIR: dataDir },
    });
    t.teardown(() => daemon.kill('SIGKILL'));
    const [ready] = await socket.waitFor((n) => n.READY === '1');
    t.match(
      ready!.STATUS,
      /^(ready|degraded: [a-z, ]+); \d+ records? to send; host \w+; devices: \d\/4 online$/,
      `STATUS=${ready!.STATUS}`,
    );
    t.notOk(
      socket.received.some((n) => n.WATCHDOG === '1' && socket.received.indexOf(n) < socket.received.indexOf(ready!)),
      'no ping before READY=1',
    );
    await socket.waitFor((n) => n.WATCHDOG === '1', 3);
    t.pass('watchdog pings arrive repeatedly (every 200 ms: half of WATCHDOG_USEC)');
    const [refreshed] = await socket.waitFor((n) => n.STATUS !== undefined && n.READY === undefined);
    t.match(
      refreshed!.STATUS,
      /records? to send; host \w+; devices: \d\/4 online$/,
      'the status line is refreshed while running (every 5 s)',
    );
    const exit = once(daemon, 'exit');
    daemon.kill('SIGTERM');
    const [stopping] = await socket.waitFor((n) => n.STOPPING === '1');
    t.equal(stopping!.STATUS, 'stopping (SIGTERM)');
    t.same(await exit, [0, null], 'and it still stops cleanly');
    const afterStopping = socket.received.slice(socket.received.indexOf(stopping!) + 1);
    t.same(afterStopping, [], 'nothing after STOPPING=1 (the heartbeat and status timers are stopped)');
  },
);
