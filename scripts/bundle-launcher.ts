#!/usr/bin/env node
/**
 * The bins as they ship: `codposd` (dist/daemon/codposd.js) and `codpos` (dist/cli/codpos.js)
 * are each this launcher, bundled beside its program (scripts/build/bundle.ts). It loads the
 * bundle of its own name (codposd.cjs, codpos.cjs) with the V8 code cache the build made, so a
 * start does not parse and compile the program's 1-2 MB of JavaScript again (measured: ~70 ms
 * of a ~400 ms daemon start).
 *
 * V8 checks the cache against the source, its own version and the flags the process runs
 * with; a cache it refuses (another Node, other V8 options, a source rebuilt without its cache)
 * is ignored and the program compiles as it would without one. Nothing else depends on it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** Set by the build (bundle.ts) for one run of the program: write the cache when it exits. */
const WRITE_CACHE_ENV = 'BUNDLE_WRITE_CODE_CACHE';

const launcher = fileURLToPath(import.meta.url);
const here = dirname(launcher);
const bundle = join(here, `${basename(launcher, '.js')}.cjs`);
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
  // At the end of the run: the cache then holds every function the run compiled, not the top level only.
  process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
}
const module: { exports: { finished?: Promise<unknown> } } = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  module.exports,
  createRequire(bundle),
  module,
  bundle,
  here,
);
// A program that ends on its own (the CLI) exports the promise of its end: whoever imports the
// launcher (the lab tests' driver runs many command lines in one process) waits for it.
await module.exports.finished;
