/**
 * `npm run build` step 2: bundles the daemon (dist/scripts/codposd.js, as tsc wrote it) into
 * dist/daemon/codposd.js, the file the `codposd` bin, the systemd unit and the tests start.
 *
 * Why: Node 20 loads an ES module graph file by file (resolve, read, parse, link), and the
 * daemon's graph is ~190 files of ours plus zod's, pino's and commander's: about 120 ms of a
 * ~550 ms boot went to the loader alone (`npm run bench -- daemon` measures spawn to ready).
 * One file (plus lazily loaded chunks: the simulators and lab parts a real box never imports)
 * removes that cost without changing a line of the runtime.
 *
 * What stays outside: packages with native bindings, which find their .node file relative to
 * their own package (better-sqlite3, serialport, node-hid, noble, usb).
 *
 * Minified for whitespace and syntax (V8 keeps every script's source in the heap, and ours is
 * half comments: 1.8 MB of source became 1.4 MB), but not for identifiers: a stack trace in the
 * journal still names the functions a maintainer reads (and esbuild's keepNames, which wraps
 * every function in a naming call, cost 10 ms of the boot for nothing then). The positions map back to the TypeScript through
 * the linked source map: run with NODE_OPTIONS=--enable-source-maps when chasing a trace.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';

const NATIVE_PACKAGES = ['better-sqlite3', 'serialport', '@serialport/*', 'node-hid', '@abandonware/*', 'usb'];

/** esbuild turns a bundled CommonJS package's require() of a built-in into this `require`. */
const REQUIRE_FOR_COMMONJS = "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);";

// Chunk names carry a content hash: a fresh directory, so no chunk of an older build is left beside the new ones.
rmSync(join(packageRoot, 'dist', 'daemon'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: packageRoot,
  entryPoints: { codposd: join('dist', 'scripts', 'codposd.js') },
  outdir: join('dist', 'daemon'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: NATIVE_PACKAGES,
  banner: { js: REQUIRE_FOR_COMMONJS },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
  metafile: true,
});
const scripts = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const bytes = scripts.reduce((sum, [, output]) => sum + output.bytes, 0);
process.stdout.write(`bundled the daemon: dist/daemon/codposd.js and ${scripts.length - 1} chunk(s), ${Math.round(bytes / 1024)} KiB (source maps beside them)\n`);
