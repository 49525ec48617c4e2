/**
 * The shipped bins: the launcher (scripts/bundle-launcher.ts) loads each program's bundle with
 * the V8 code cache the build made (scripts/build/bundle.ts), and a cache V8 refuses changes
 * nothing but the speed. Both programs: codposd (under the daemon's V8 options) and codpos.
 */
import t, { type Test } from 'tap';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { codposBin, codposdBin } from '../helpers/cli.js';
import { packageRoot } from '../../config/paths.js';
import { DAEMON_NODE_FLAGS } from '../../scripts/daemon-node-flags.js';

const programs = [
  { bin: codposdBin, nodeFlags: DAEMON_NODE_FLAGS },
  { bin: codposBin, nodeFlags: [] as readonly string[] },
];

/** Whether V8 takes a bundle's code cache in a Node started with `nodeFlags` (a process of its own: V8's options are per process). */
function cacheRejectedUnder(bundle: string, nodeFlags: readonly string[]): boolean {
  const probe = `
    const { readFileSync } = require('node:fs');
    const vm = require('node:vm');
    const bundle = process.argv[1];
    // As the launcher compiles it: the file's text as read (the build wrote the module wrapper in).
    const script = new vm.Script(readFileSync(bundle, 'utf8'), { filename: bundle, cachedData: readFileSync(bundle + '.v8cache') });
    process.stdout.write(String(script.cachedDataRejected));`;
  const run = spawnSync(process.execPath, [...nodeFlags, '-e', probe, bundle], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the cache probe failed: ${run.stderr}`);
  return run.stdout === 'true';
}

for (const { bin, nodeFlags } of programs) {
  const name = basename(bin, '.js');
  const bundle = join(dirname(bin), `${name}.cjs`);
  t.test(
    `${name}: the build made a code cache for its bundle that this Node accepts under its V8 options`,
    async (t) => {
      t.equal(
        cacheRejectedUnder(bundle, nodeFlags),
        false,
        'V8 took the cache: the bundle is not parsed and compiled again at each start',
      );
    },
  );
}

t.test("codposd's cache is refused under other V8 options (why they live in one list)", async (t) => {
  t.equal(cacheRejectedUnder(join(dirname(codposdBin), 'codposd.cjs'), []), true);
});

/** A shipped program's directory copied under a scratch package (the bundle finds its package root by package.json). */
function copyOf(t: Test, bin: string): string {
  const root = mkdtempSync(join(tmpdir(), 'codpos-launcher-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'codpos', version: '0.0.0', type: 'module' }));
  // Its native packages stay outside the bundle: the copy finds them where the package has them.
  symlinkSync(join(packageRoot, 'node_modules'), join(root, 'node_modules'));
  const copy = join(root, 'dist', basename(dirname(bin)));
  cpSync(dirname(bin), copy, { recursive: true });
  return join(copy, basename(bin));
}

t.test('a cache V8 refuses (another build, another Node) is ignored: the programs still run', async (t) => {
  for (const [bin, usage] of [
    [codposdBin, /Usage: codposd \[options\]/],
    [codposBin, /Usage: codpos \[options\] \[command\]/],
  ] as const) {
    const copy = copyOf(t, bin);
    writeFileSync(copy.replace(/\.js$/, '.cjs.v8cache'), Buffer.from('not a V8 code cache'));
    const run = spawnSync(process.execPath, [copy, '--help'], { encoding: 'utf8' });
    t.equal(run.status, 0, run.stderr);
    t.match(run.stdout, usage);
  }
});

t.test('without its cache the launcher compiles the bundle as it is', async (t) => {
  const daemon = copyOf(t, codposdBin);
  rmSync(daemon.replace(/\.js$/, '.cjs.v8cache'));
  const run = spawnSync(process.execPath, [daemon, '--simulate'], { encoding: 'utf8' });
  t.equal(run.status, 2);
  t.match(run.stderr, /Unknown option '--simulate'/);
  const cli = copyOf(t, codposBin);
  rmSync(cli.replace(/\.js$/, '.cjs.v8cache'));
  const version = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' });
  t.equal(version.status, 0, version.stderr);
  t.equal(version.stdout.trim(), '0.0.0', 'the version of the package it runs from');
});

t.test("the CLI's exit code comes through the launcher: a usage error is 2", async (t) => {
  const run = spawnSync(process.execPath, [codposBin, 'no-such-command'], { encoding: 'utf8' });
  t.equal(run.status, 2);
  t.match(run.stderr, /unknown command 'no-such-command'/);
});
