#!/usr/bin/env node
/**
 * `npm run bench [-- NAME ...] [--json] [--rounds N] [--round-ms MS]`: runs every
 * benchmark in scripts/bench/<name>.bench.ts, or the ones named.
 */
import { readdirSync } from 'node:fs';
import { join, extname, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { toJsonLine, toTable, type BenchModule, type BenchOptions } from './bench/harness.js';

const here = fileURLToPath(import.meta.url);
const dir = join(here, '..', 'bench');
const suffix = '.bench' + extname(here);
const available = readdirSync(dir)
  .filter((f) => f.endsWith(suffix))
  .map((f) => basename(f, suffix))
  .sort();

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    'round-ms': { type: 'string', default: '400' },
  },
});
const unknown = positionals.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`codpos bench: no benchmark named ${unknown.join(', ')}; available: ${available.join(', ') || '(none)'}\n`);
  process.exit(2);
}
const options: BenchOptions = { json: values.json, rounds: Number(values.rounds), roundMs: Number(values['round-ms']) };
if (!Number.isInteger(options.rounds) || options.rounds < 1 || !(options.roundMs > 0)) {
  process.stderr.write('codpos bench: --rounds must be a positive integer and --round-ms a positive number\n');
  process.exit(2);
}

for (const name of positionals.length > 0 ? positionals : available) {
  const module = (await import(pathToFileURL(join(dir, name + suffix)).href)) as BenchModule;
  const results = await module.run(options);
  if (options.json) for (const r of results) process.stdout.write(toJsonLine(r) + '\n');
  else process.stdout.write(`\n== ${name} ==\n${toTable(results)}\n`);
}
