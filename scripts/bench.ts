#!/usr/bin/env node
/**
 * `npm run bench [-- NAME ...] [--json] [--rounds N] [--round-ms MS]
 *                [--payments N] [--outage-s S] [--spawns N] [--terminals N,N...]`:
 * runs every benchmark in scripts/bench/<name>.bench.ts, or the ones named.
 *
 * Each module runs in a process of its own (this script again, forked with the same node flags,
 * --expose-gc among them): in one shared process a module's warm-up, JIT state and garbage
 * changed the next one's figures (the ISO 8583 peer's pack ratio moved from 24x to 36x with the
 * order). A module with parts (BenchModule.parts) gets a process a part, for the same reason.
 * The child sends its rows back over the IPC channel; its stdout goes to our stderr, so
 * `--json` output stays rows only. A module that fails is named and the run exits 1 at the end.
 */
import { readdirSync } from 'node:fs';
import { fork } from 'node:child_process';
import { join, extname, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { toJsonLine, toTable, type BenchModule, type BenchOptions, type BenchResult } from './bench/harness.js';

/** The first argument of a forked child: run one module here and send its rows to the parent. */
const CHILD_MODE = '--one-module-for-parent';

const here = fileURLToPath(import.meta.url);
const dir = join(here, '..', 'bench');
const suffix = '.bench' + extname(here);

/** What a child sends its parent: the module's rows, or why it failed. */
type ChildMessage = { rows: BenchResult[] } | { error: string };

if (process.argv[2] === CHILD_MODE)
  await runOneModule(process.argv[3]!, JSON.parse(process.argv[4]!) as BenchOptions, process.argv[5]);
else process.exitCode = await main();

async function main(): Promise<number> {
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
      payments: { type: 'string', default: '1000' },
      'outage-s': { type: 'string', default: '60' },
      spawns: { type: 'string', default: '5' },
      terminals: { type: 'string', default: '100,1000' },
    },
  });
  const unknown = positionals.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(
      `codpos bench: no benchmark named ${unknown.join(', ')}; available: ${available.join(', ') || '(none)'}\n`,
    );
    return 2;
  }
  const options: BenchOptions = {
    json: values.json,
    rounds: Number(values.rounds),
    roundMs: Number(values['round-ms']),
    daemon: { payments: Number(values.payments), outageS: Number(values['outage-s']), spawns: Number(values.spawns) },
    fleet: { terminals: values.terminals.split(',').map((size) => (size.trim() === '' ? Number.NaN : Number(size))) },
  };
  const problems = [
    !isWhole(options.rounds, 1) && '--rounds must be a whole number of 1 or more',
    !(options.roundMs > 0) && '--round-ms must be a positive number',
    !isWhole(options.daemon.payments, 1) && '--payments must be a whole number of 1 or more',
    !(options.daemon.outageS >= 0) && '--outage-s must be a number of seconds, 0 or more',
    !isWhole(options.daemon.spawns, 1) && '--spawns must be a whole number of 1 or more',
    !options.fleet.terminals.every((size) => isWhole(size, 1)) &&
      '--terminals must be whole numbers of 1 or more, separated by commas (e.g. 100,1000)',
  ].filter((problem): problem is string => typeof problem === 'string');
  if (problems.length > 0) {
    process.stderr.write(problems.map((problem) => `codpos bench: ${problem}\n`).join(''));
    return 2;
  }

  const failed: string[] = [];
  for (const name of positionals.length > 0 ? positionals : available) {
    const rows: BenchResult[] = [];
    for (const part of (await importModule(name)).parts ?? [undefined]) {
      const label = part === undefined ? name : `${name} (${part})`;
      const outcome = await runInChild(name, options, part);
      if ('error' in outcome) {
        process.stderr.write(`codpos bench: ${label} failed: ${outcome.error}\n`);
        failed.push(label);
        continue;
      }
      rows.push(...outcome.rows);
      if (options.json) for (const row of outcome.rows) process.stdout.write(toJsonLine(row) + '\n');
    }
    if (!options.json && rows.length > 0) process.stdout.write(`\n== ${name} ==\n${toTable(rows)}\n`);
  }
  if (failed.length > 0)
    process.stderr.write(`codpos bench: ${failed.length} module(s) failed: ${failed.join(', ')}\n`);
  return failed.length > 0 ? 1 : 0;
}

/** Runs one module (or one part of it) in a forked process with this process's node flags; resolves with its rows or why there are none. */
function runInChild(name: string, options: BenchOptions, part: string | undefined): Promise<ChildMessage> {
  return new Promise((resolve) => {
    const child = fork(here, [CHILD_MODE, name, JSON.stringify(options), ...(part === undefined ? [] : [part])], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    child.stdout!.pipe(process.stderr, { end: false });
    let message: ChildMessage | undefined;
    child.on('message', (received: ChildMessage) => (message = received));
    child.on('error', (error) => resolve({ error: `could not start its process: ${error.message}` }));
    child.on('exit', (code, signal) => {
      if (message !== undefined && 'error' in message) resolve(message);
      else if (code !== 0 || message === undefined)
        resolve({
          error: signal
            ? `its process was killed by ${signal}`
            : `its process exited with code ${code ?? '?'}${message === undefined ? ' before sending its rows' : ''}`,
        });
      else resolve(message);
    });
  });
}

/** The child's side: import the module, run it, send the rows, and leave even if it left a handle open. */
async function runOneModule(name: string, options: BenchOptions, part: string | undefined): Promise<void> {
  let message: ChildMessage;
  try {
    message = { rows: await (await importModule(name)).run(options, part) };
  } catch (error) {
    message = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  process.send!(message, () => process.exit('error' in message ? 1 : 0));
}

/** A bench module (in the parent, only to read its parts: nothing is measured there). */
async function importModule(name: string): Promise<BenchModule> {
  return (await import(pathToFileURL(join(dir, name + suffix)).href)) as BenchModule;
}

function isWhole(value: number, least: number): boolean {
  return Number.isInteger(value) && value >= least;
}
