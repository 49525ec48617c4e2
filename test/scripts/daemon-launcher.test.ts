/**
 * The shipped daemon: the launcher (scripts/daemon-launcher.ts) loads the bundle with the V8 code
 * cache the build made (scripts/build/bundle-daemon.ts), and a cache V8 refuses changes nothing
 * but the speed.
 */
import t, { type Test } from 'tap';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { codposdBin } from '../helpers/cli.js';
import { packageRoot } from '../../config/paths.js';
import { DAEMON_NODE_FLAGS } from '../../scripts/daemon-node-flags.js';

const bundle = join(dirname(codposdBin), 'codposd.cjs');

/** Whether V8 takes the bundle's code cache in a Node started with `nodeFlags` (a process of its own: V8's options are per process). */
function cacheRejectedUnder(nodeFlags: readonly string[]): boolean {
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

t.test("the build made a code cache for the bundle that this Node accepts under the daemon's V8 options", async (t) => {
  t.equal(
    cacheRejectedUnder(DAEMON_NODE_FLAGS),
    false,
    'V8 took the cache: the bundle is not parsed and compiled again at each start',
  );
  // Why the options live in one list: under others (here none) V8 refuses the same cache.
  t.equal(cacheRejectedUnder([]), true, "without the daemon's options the cache is refused");
});

/** The shipped daemon directory copied under a scratch package (the bundle finds its package root by package.json). */
function copyOfTheDaemon(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'codposd-launcher-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'codpos', version: '0.0.0', type: 'module' }));
  // Its native packages stay outside the bundle: the copy finds them where the package has them.
  symlinkSync(join(packageRoot, 'node_modules'), join(root, 'node_modules'));
  const copy = join(root, 'dist', 'daemon');
  cpSync(dirname(codposdBin), copy, { recursive: true });
  return copy;
}

t.test('a cache V8 refuses (another build, another Node) is ignored: the daemon still runs', async (t) => {
  const copy = copyOfTheDaemon(t);
  writeFileSync(join(copy, 'codposd.cjs.v8cache'), Buffer.from('not a V8 code cache'));
  const run = spawnSync(process.execPath, [join(copy, 'codposd.js'), '--help'], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /Usage: codposd \[options\]/);
});

t.test('without its cache the launcher compiles the bundle as it is', async (t) => {
  const copy = copyOfTheDaemon(t);
  rmSync(join(copy, 'codposd.cjs.v8cache'));
  const run = spawnSync(process.execPath, [join(copy, 'codposd.js'), '--simulate'], { encoding: 'utf8' });
  t.equal(run.status, 2);
  t.match(run.stderr, /Unknown option '--simulate'/);
});
