#!/usr/bin/env node
/**
 * The `codposd` bin as it ships (dist/daemon/codposd.js): loads the bundled daemon
 * (dist/daemon/codposd.cjs, scripts/build/bundle-daemon.ts) with the V8 code cache the build
 * made beside it, so a boot does not parse and compile the daemon's 1.2 MB of JavaScript
 * again (measured: ~70 ms of a ~400 ms spawn-to-ready, for 1.2 MB of bundle).
 *
 * V8 checks the cache against the source, its own version and the flags the process runs
 * with; a cache it refuses (another Node, `--expose-gc`, a source rebuilt without its cache)
 * is ignored and the daemon compiles as it would without one. Nothing else depends on it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** Set by the build (bundle-daemon.ts): write the cache when told (SIGUSR2), after the daemon is ready. */
const WRITE_CACHE_ENV = 'CODPOSD_WRITE_CODE_CACHE';

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, 'codposd.cjs');
const cacheFile = `${bundle}.v8cache`;

function compile(): vm.Script {
  // The file is already the function wrapper Node gives a CommonJS module (the build wrote it so):
  // compiled as read, it is one string in the heap, not the file and a wrapped copy of it.
  return new vm.Script(readFileSync(bundle, 'utf8'), {
    filename: bundle,
    ...(existsSync(cacheFile) ? { cachedData: readFileSync(cacheFile) } : {}),
  });
}

const script = compile();
if (process.env[WRITE_CACHE_ENV] === '1') {
  process.once('SIGUSR2', () => {
    // After the boot: the cache then holds every function the boot compiled, not the top level only.
    writeFileSync(cacheFile, script.createCachedData());
    process.kill(process.pid, 'SIGTERM');
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  module.exports,
  createRequire(bundle),
  module,
  bundle,
  here,
);
