/**
 * `npm run build` step 2: bundles the daemon (dist/scripts/codposd.js, as tsc wrote it) into
 * dist/daemon/codposd.cjs, puts the launcher (scripts/daemon-launcher.ts) beside it as
 * dist/daemon/codposd.js (the file the `codposd` bin, the systemd unit and the tests start), and
 * makes the V8 code cache the launcher loads it with: a `codposd --sim` started here, asked for
 * its cache once ready (so the cache holds what a boot compiles), then stopped.
 *
 * Why: Node 20 loads an ES module graph file by file (resolve, read, parse, link), and the
 * daemon's graph is ~190 files of ours plus zod's and pino's: about 120 ms of a
 * ~550 ms boot went to the loader alone (`npm run bench -- daemon` measures spawn to ready).
 * One file removes that cost without changing a line of the runtime; the simulators and virtual
 * cards in it are evaluated only when something is simulated. CommonJS, not ES modules: only a
 * classic script can be compiled with a code cache (vm.Script), which saves the ~70 ms V8 then
 * spent parsing and compiling the bundle at each boot.
 *
 * What stays outside: packages with native bindings, which find their .node file relative to
 * their own package (better-sqlite3, serialport, node-hid, noble, usb), and MQTT.js, which only
 * a fleet link loads (ON_DEMAND_PACKAGES).
 *
 * Minified for whitespace and syntax (V8 keeps every script's source in the heap, and ours is
 * half comments: 1.8 MB of source became 1.4 MB), but not for identifiers: a stack trace in the
 * journal still names the functions a maintainer reads (and esbuild's keepNames, which wraps
 * every function in a naming call, cost 10 ms of the boot for nothing then). A trace's line and
 * column map back to the TypeScript through codposd.cjs.map (beside the bundle, not loaded).
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { DAEMON_NODE_FLAGS } from '../daemon-node-flags.js';

const NATIVE_PACKAGES = ['better-sqlite3', 'serialport', '@serialport/*', 'node-hid', '@abandonware/*', 'usb'];
/**
 * Loaded only when a box uses them, from the installed node_modules as the native packages are:
 * in the bundle, their text would sit in the heap of every daemon (V8 keeps a script's whole
 * source), used or not. MQTT.js with its dependencies is ~0.6 MB, and only a fleet link loads it.
 */
const ON_DEMAND_PACKAGES = ['mqtt'];
const outDir = join(packageRoot, 'dist', 'daemon');

/** `import.meta.url` has no meaning in CommonJS: each use becomes the bundle's own file URL. */
const IMPORT_META_URL = "var __bundleImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

rmSync(outDir, { recursive: true, force: true });
const daemon = await build({
  absWorkingDir: packageRoot,
  entryPoints: [join('dist', 'scripts', 'codposd.js')],
  outfile: join('dist', 'daemon', 'codposd.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: [...NATIVE_PACKAGES, ...ON_DEMAND_PACKAGES],
  define: { 'import.meta.url': '__bundleImportMetaUrl' },
  banner: { js: IMPORT_META_URL },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
  metafile: true,
});
await build({
  absWorkingDir: packageRoot,
  entryPoints: [join('dist', 'scripts', 'daemon-launcher.js')],
  outfile: join('dist', 'daemon', 'codposd.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
// Started as a program (`./codposd.js`, npm's bin) it runs with the daemon's V8 options too.
wrapAsModuleFunction(join(outDir, 'codposd.cjs'));
const launcherFile = join(outDir, 'codposd.js');
writeFileSync(
  launcherFile,
  readFileSync(launcherFile, 'utf8').replace(/^#!.*/, `#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`),
);

const bytes = Object.entries(daemon.metafile.outputs)
  .filter(([file]) => file.endsWith('.cjs'))
  .reduce((sum, [, output]) => sum + output.bytes, 0);
const cache = await makeCodeCache();
process.stdout.write(`bundled the daemon: dist/daemon/codposd.cjs ${Math.round(bytes / 1024)} KiB, ${cache}\n`);

/**
 * Writes the bundle as the exact text the launcher compiles: the body inside the function
 * wrapper Node gives a CommonJS module, its `#!` line emptied (kept as a line, so the source
 * map's line numbers still hold). Were the launcher to wrap it at each boot, the file's text and
 * the wrapped copy would be two 2 MB strings in the heap until the next full collection
 * (measured: ~2.5 MB of the resident set one second after ready).
 */
function wrapAsModuleFunction(file: string): void {
  const body = readFileSync(file, 'utf8').replace(/^#!.*/, '');
  writeFileSync(file, `(function (exports, require, module, __filename, __dirname) {${body}\n})`);
}

/**
 * Starts the bundled daemon in sim mode in a scratch directory, and once it is ready asks the
 * launcher for its code cache (SIGUSR2: it writes the cache, then stops the daemon). Without a
 * cache the daemon still starts, only slower: a failure here is a warning, not a failed build.
 */
async function makeCodeCache(): Promise<string> {
  const cacheFile = join(outDir, 'codposd.cjs.v8cache');
  const scratch = mkdtempSync(join(tmpdir(), 'codposd-code-cache-'));
  try {
    const config = join(scratch, 'config.json');
    writeFileSync(config, JSON.stringify({ data: { dir: join(scratch, 'data') }, log: { level: 'info' } }));
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS'))),
      CODPOSD_WRITE_CODE_CACHE: '1',
    };
    // Under the options the daemon runs with, or V8 would refuse the cache at every start.
    const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, launcherFile, '--sim', '--config', config], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    let seen = '';
    const ready = new Promise<boolean>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        if (seen.includes('"msg":"ready"')) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      if (await ready) child.kill('SIGUSR2');
      await exited;
    } finally {
      clearTimeout(timer);
    }
    if (!existsSync(cacheFile)) {
      process.stderr.write(
        `bundle-daemon: warning: no code cache made (the daemon did not get ready: ${seen.trim().split('\n').pop() ?? ''}); codposd will compile at each start\n`,
      );
      return 'no code cache';
    }
    return `code cache ${Math.round(statSync(cacheFile).size / 1024)} KiB`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
