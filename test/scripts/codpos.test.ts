import t from 'tap';
import { writeFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { codposBin, runCodpos } from '../helpers/cli.js';
import { COMMAND_MODULES } from '../../scripts/cli/commands/index.js';
import { packageRoot } from '../../config/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'codpos-cli-'));

t.test(
  'every command module in scripts/cli/commands/ is in its index (a new one is not silently left out)',
  async (t) => {
    const folder = join(packageRoot, 'scripts', 'cli', 'commands');
    const files = readdirSync(folder).filter((file) => file.endsWith('.ts') && file !== 'index.ts');
    const modules = await Promise.all(
      files.map(async (file) => (await import(join(folder, file))) as (typeof COMMAND_MODULES)[number]),
    );
    for (const [i, module] of modules.entries())
      t.ok(COMMAND_MODULES.includes(module), `${files[i]!} is listed in scripts/cli/commands/index.ts`);
    t.equal(COMMAND_MODULES.length, files.length, 'and nothing else is');
  },
);

t.test('--version and --help', async (t) => {
  const version = runCodpos(['--version']);
  t.equal(version.status, 0);
  t.equal(version.stdout.trim(), JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version);
  const help = runCodpos(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /config\s+check or show/);
  t.match(help.stdout, /Exit codes:/);
});

t.test('config check: the shipped sim config is ok', async (t) => {
  const result = runCodpos(['config', 'check', 'config/sim.json']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /config\/sim\.json: ok/);
});

t.test('config check: three mistakes exit 2 with three path: message lines, no stack', async (t) => {
  const bad = join(dir, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({ devices: { printer: { baudRate: 'fast' } }, host: { port: 99999 }, terminl: {} }),
  );
  const result = runCodpos(['config', 'check', bad]);
  t.equal(result.status, 2);
  t.same(result.stderr.trim().split('\n'), [
    'devices.printer.baudRate: expected an integer, got "fast"',
    'host.port: expected a number at most 65535, got 99999',
    'terminl: unknown setting',
  ]);
  t.notMatch(result.stderr, /at .*\.js:\d+/);
});

t.test('config check and show refuse what is not a regular file of at most 1 MiB, without hanging on it', async (t) => {
  const fifo = join(dir, 'config.fifo');
  execFileSync('mkfifo', [fifo]);
  const big = join(dir, 'big.json');
  writeFileSync(big, JSON.stringify({ terminal: { id: 'x'.repeat(1024 * 1024) } }));
  const cases: Array<[string, RegExp]> = [
    ['/dev/zero', /^\/dev\/zero: not a regular file \(a character device\); a config is a JSON file$/],
    [fifo, /config\.fifo: not a regular file \(a FIFO\)/],
    [dir, /not a regular file \(a directory\)/],
    [big, /big\.json: \d+ bytes, over the 1048576 bytes \(1 MiB\) a config may have/],
  ];
  for (const [file, message] of cases) {
    for (const command of ['check', 'show']) {
      const result = runCodpos(['config', command, file]);
      t.equal(result.status, 2, `config ${command} ${file}: exit 2`);
      t.match(result.stderr.trim(), message, `config ${command} ${file}: says why`);
    }
  }
  const viaEnv = runCodpos(['config', 'check'], { env: { CODPOS_CONFIG: fifo } });
  t.equal(viaEnv.status, 2, 'the file CODPOS_CONFIG names is checked too');
  t.match(viaEnv.stderr, /a FIFO/);
});

t.test('config show masks secrets', async (t) => {
  const result = runCodpos(['config', 'show', '--json'], { env: { CODPOS_UPLINK__TOKEN: 'sekret-token-value' } });
  t.equal(result.status, 0, result.stderr);
  const shown = JSON.parse(result.stdout);
  t.equal(shown.uplink.token, '[WIPED]');
  t.equal(shown.devices.pinpad.sim.bdk, '[WIPED]');
  t.notMatch(result.stdout, /sekret-token-value|0123456789ABCDEFFEDCBA9876543210/);
});

t.test('config show wipes the password inside a URL', async (t) => {
  const result = runCodpos(['config', 'show'], {
    env: { CODPOS_UPLINK__URL: 'https://courier:hunter2-secret@backend.example/api/v1' },
  });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, '"url": "https://courier:[WIPED]@backend.example/api/v1"');
  t.notMatch(result.stdout, /hunter2-secret/);
});

t.test('an unknown command is a usage error (exit 2)', async (t) => {
  const result = runCodpos(['frobnicate']);
  t.equal(result.status, 2);
  t.match(result.stderr, /unknown command 'frobnicate'/);
});

t.test(
  'a reader that closes the pipe early (codpos --help | head -1) ends the command quietly, exit 0, no EPIPE stack',
  async (t) => {
    for (const args of [['--help'], ['config', 'show']]) {
      const child = spawn(process.execPath, [codposBin, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: packageRoot,
        env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS_'))),
      });
      // Closed before the child has even started: its first write to stdout fails with EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => (stderr += chunk));
      const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      t.equal(stderr, '', `${args.join(' ')}: nothing on stderr`);
      t.same({ code, signal }, { code: 0, signal: null }, `${args.join(' ')}: exit 0`);
    }
  },
);
