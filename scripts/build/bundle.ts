/**
 * `npm run build` step 2: bundles each program as tsc wrote it (dist/scripts/codposd.js, the
 * daemon; dist/scripts/codpos.js, the technician's CLI) into one file (dist/daemon/codposd.cjs,
 * dist/cli/codpos.cjs), puts the launcher (scripts/bundle-launcher.ts) beside it under the
 * program's name (dist/daemon/codposd.js, dist/cli/codpos.js: the files the bins, the systemd
 * unit and the tests start), and makes the V8 code cache the launcher loads it with: the program
 * run once here with the launcher told to write the cache as it exits (`codposd --sim` until it
 * is ready, then stopped; `codpos --help`), so the cache holds what a start compiles.
 *
 * Why: Node 20 loads an ES module graph file by file (resolve, read, parse, link), and the
 * daemon's graph is ~190 files of ours plus zod's and pino's: about 120 ms of a
 * ~550 ms boot went to the loader alone (`npm run bench -- daemon` measures spawn to ready).
 * One file removes that cost without changing a line of the runtime (a CLI command went from
 * ~0.48 s to ~0.22 s the same way, which a technician feels and the CLI tests too); the
 * simulators and virtual cards in it are evaluated only when something is simulated. CommonJS, not ES modules: only a
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
import { build, type BuildOptions } from 'esbuild';
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

/** `import.meta.url` has no meaning in CommonJS: each use becomes the bundle's own file URL. */
const IMPORT_META_URL = "var __bundleImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

const COMMON: BuildOptions = {
  absWorkingDir: packageRoot,
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
};

interface Program {
  name: string;
  /** Where tsc wrote its entry point, and the folder its bundle and launcher go to. */
  entry: string;
  outDir: string;
  /** The V8 options it always runs with (the launcher's #! line; the cache is made under them). */
  nodeFlags: readonly string[];
  /**
   * The run that makes its code cache, in a scratch directory holding a config.json; `node` is
   * Node's arguments up to the program's own (its V8 options, then the launcher).
   */
  cacheRun(scratch: string, node: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined>;
}

const PROGRAMS: readonly Program[] = [
  {
    name: 'codposd',
    entry: join('dist', 'scripts', 'codposd.js'),
    outDir: join('dist', 'daemon'),
    nodeFlags: DAEMON_NODE_FLAGS,
    cacheRun: daemonCacheRun,
  },
  {
    name: 'codpos',
    entry: join('dist', 'scripts', 'codpos.js'),
    outDir: join('dist', 'cli'),
    nodeFlags: [],
    cacheRun: cliCacheRun,
  },
];

for (const program of PROGRAMS) {
  const outDir = join(packageRoot, program.outDir);
  rmSync(outDir, { recursive: true, force: true });
  const bytes = await bundleProgram(program);
  const cache = await makeCodeCache(program);
  process.stdout.write(
    `bundled ${program.name}: ${join(program.outDir, `${program.name}.cjs`)} ${Math.round(bytes / 1024)} KiB, ${cache}\n`,
  );
}

/** A file of the program's folder in dist/: `.cjs` its bundle, `.js` its launcher, `.cjs.v8cache` its code cache. */
function fileOf(program: Program, ending: '.cjs' | '.js' | '.cjs.v8cache', root = packageRoot): string {
  return join(root, program.outDir, `${program.name}${ending}`);
}

/** Writes the program's bundle and its launcher; returns the bundle's size in bytes. */
async function bundleProgram(program: Program): Promise<number> {
  const bundled = await build({
    ...COMMON,
    entryPoints: [program.entry],
    outfile: fileOf(program, '.cjs', ''),
    format: 'cjs',
    external: [...NATIVE_PACKAGES, ...ON_DEMAND_PACKAGES],
    define: { 'import.meta.url': '__bundleImportMetaUrl' },
    banner: { js: IMPORT_META_URL },
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
  });
  await build({
    ...COMMON,
    entryPoints: [join('dist', 'scripts', 'bundle-launcher.js')],
    outfile: fileOf(program, '.js', ''),
    format: 'esm',
  });
  refuseDynamicImports(fileOf(program, '.cjs'));
  wrapAsModuleFunction(fileOf(program, '.cjs'));
  // Started as a program (`./codposd.js`, npm's bin) it runs with its V8 options too.
  const launcher = fileOf(program, '.js');
  const shebang =
    program.nodeFlags.length > 0 ? `#!/usr/bin/env -S node ${program.nodeFlags.join(' ')}` : '#!/usr/bin/env node';
  writeFileSync(launcher, readFileSync(launcher, 'utf8').replace(/^#!.*/, shebang));
  return Object.entries(bundled.metafile!.outputs)
    .filter(([file]) => file.endsWith('.cjs'))
    .reduce((sum, [, output]) => sum + output.bytes, 0);
}

/**
 * Fails the build if an import() is left in the bundle. esbuild turns one of a bundled module
 * into a require, but leaves one of a package kept outside (or of a Node module) as it is, and
 * the launcher's vm.Script has no loader to call for it: at run time it throws "A dynamic import
 * callback was not specified" (a box's serial ports and https uplink once failed so). Such code
 * loads with createRequire(import.meta.url) instead. (Node's USE_MAIN_CONTEXT_DEFAULT_LOADER
 * would give the script a loader, but is experimental in Node 20 and lost with a code cache.)
 */
function refuseDynamicImports(file: string): void {
  const found = [...readFileSync(file, 'utf8').matchAll(/\bimport\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!);
  if (found.length > 0)
    throw new Error(
      `bundle: ${file} keeps import() of ${[...new Set(found)].join(', ')}: load it with createRequire(import.meta.url) (see refuseDynamicImports)`,
    );
}

/**
 * Writes the bundle as the exact text the launcher compiles: the body inside the function
 * wrapper Node gives a CommonJS module, its `#!` line emptied (kept as a line, so the source
 * map's line numbers still hold). Were the launcher to wrap it at each start, the file's text and
 * the wrapped copy would be two 2 MB strings in the heap until the next full collection
 * (measured: ~2.5 MB of the daemon's resident set one second after ready).
 */
function wrapAsModuleFunction(file: string): void {
  const body = readFileSync(file, 'utf8').replace(/^#!.*/, '');
  writeFileSync(file, `(function (exports, require, module, __filename, __dirname) {${body}\n})`);
}

/**
 * Runs the program once through its launcher with BUNDLE_WRITE_CODE_CACHE set, so the launcher
 * writes the cache as the program exits. Without a cache the program still starts, only slower:
 * a failure here is a warning, not a failed build.
 */
async function makeCodeCache(program: Program): Promise<string> {
  const cacheFile = fileOf(program, '.cjs.v8cache');
  const scratch = mkdtempSync(join(tmpdir(), `${program.name}-code-cache-`));
  try {
    writeFileSync(
      join(scratch, 'config.json'),
      JSON.stringify({ data: { dir: join(scratch, 'data') }, log: { level: 'info' } }),
    );
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS'))),
      BUNDLE_WRITE_CODE_CACHE: '1',
    };
    // Under the options the program runs with, or V8 would refuse the cache at every start.
    const problem = await program.cacheRun(scratch, [...program.nodeFlags, fileOf(program, '.js')], env);
    if (!existsSync(cacheFile)) {
      process.stderr.write(
        `bundle: warning: no code cache made for ${program.name} (${problem ?? 'the run wrote none'}); it will compile at each start\n`,
      );
      return 'no code cache';
    }
    return `code cache ${Math.round(statSync(cacheFile).size / 1024)} KiB`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `codposd --sim` until its `ready` line, then SIGTERM: the cache holds what a boot compiles. */
async function daemonCacheRun(
  scratch: string,
  node: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const child = spawn(process.execPath, [...node, '--sim', '--config', join(scratch, 'config.json')], {
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
    const wasReady = await ready;
    if (wasReady) child.kill('SIGTERM');
    await exited;
    return wasReady ? undefined : `the daemon did not get ready: ${seen.trim().split('\n').pop() ?? ''}`;
  } finally {
    clearTimeout(timer);
  }
}

/** `codpos --help`: every command group registered, the help printed. */
async function cliCacheRun(
  scratch: string,
  node: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const child = spawn(process.execPath, [...node, '--help'], {
    cwd: scratch,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
  const [code] = (await once(child, 'exit')) as [number | null];
  return code === 0 ? undefined : `codpos --help exited with ${code ?? 'a signal'}: ${stderr.trim()}`;
}
