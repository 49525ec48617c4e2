/**
 * `codpos sim backend [--port N] [--db FILE] [--config FILE] [--json] [--latency-ms N]
 * [--error-rate R] [--drop-rate R] [--duplicate-rate R] [--fault-seed N]`: the logistics
 * back-end simulator as its own process on 127.0.0.1, under the path of uplink.url and asking
 * for uplink.token, with the day's tasks and couriers and its records in its own SQLite file
 * (a restart keeps what it acknowledged). Prints its address, then one line per record batch,
 * and reads commands (help lists them: stats, records, the fault settings) from stdin until
 * SIGINT/SIGTERM. Point a daemon at it with uplink.mode http and uplink.url.
 */
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { SimTaskList } from '../../../runtime/uplink/simulator.js';
import { PosError } from '../../../config/errors.js';
import type { BackendBatch } from '../../../runtime/uplink/simulator.js';
import { groupCommand } from '../groups.js';
import { runSimConsole } from '../sim-console.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

export const order = 62;

interface SimBackendOptions {
  port?: string;
  db?: string;
  config?: string;
  json?: boolean;
  latencyMs?: string;
  errorRate?: string;
  dropRate?: string;
  duplicateRate?: string;
  faultSeed?: string;
  tasks?: string;
}

export function register(program: Command): void {
  const group = groupCommand(
    program,
    'sim',
    'run simulators (devices, acquirer host, back-end, PSP) for a box-less setup',
  );
  group
    .command('backend')
    .description(
      "start the logistics back-end simulator on 127.0.0.1 (records in its own SQLite file, the day's tasks) and print its address; then read commands (help) from stdin",
    )
    .option('--port <n>', 'TCP port to listen on, 0 for any free port (default: the port of uplink.url)')
    .option(
      '--db <file>',
      'SQLite file of the records it acknowledged, kept across restarts (default: <data.dir>/sim-backend.db)',
    )
    .option(
      '--config <file>',
      `config file for uplink.url (the path served) and uplink.token (default: ${CONFIG_FILE_DEFAULT_HELP})`,
    )
    .option('--json', 'machine-readable output: one JSON object per line')
    .option('--latency-ms <n>', 'hold every answer back this many milliseconds (default 0)')
    .option('--error-rate <r>', 'answer 500 to a request with this probability, 0 to 1')
    .option('--drop-rate <r>', 'keep a batch, then close the connection without answering, with this probability')
    .option(
      '--duplicate-rate <r>',
      'acknowledge each record twice and repeat the previous answer, with this probability',
    )
    .option('--fault-seed <n>', 'seed of the fault draws, 0 to 4294967295 (default: a random one, printed)')
    .option(
      '--tasks <file>',
      "the day it hands out: a JSON task list { couriers, tasks, tariff? } (default: the simulator's own day)",
    )
    .action(action(async (opts: SimBackendOptions) => runSimBackend(opts)));
}

function parseWhole(option: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) > max) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `${option} ${text}: expected a whole number from 0 to ${max}`, {
      details: { option },
    });
  }
  return Number(text);
}

async function runSimBackend(opts: SimBackendOptions): Promise<void> {
  // Loaded here, not at the top: every `codpos` run imports this module (Node's own modules are
  // loaded by then anyway, and are imported at the top: the bundle has no loader for an import()).
  const { loadConfig } = await import('../../../config/load.js');
  const { BackendSimulator } = await import('../../../runtime/uplink/simulator.js');
  const { BackendFaultDraw, parseRate } = await import('../../../runtime/uplink/sim-faults.js');
  const { SqliteRecordStore } = await import('../../../runtime/uplink/sim-store.js');
  const { runSimBackendCommand } = await import('../../../runtime/uplink/sim-commands.js');
  // Options first: a mistake is reported before any config is read, file opened or port taken.
  const portOption = parseWhole('--port', opts.port, 65535);
  const rate = (option: string, text: string | undefined) => (text === undefined ? undefined : parseRate(option, text));
  const settings = {
    latencyMs: parseWhole('--latency-ms', opts.latencyMs, 3_600_000),
    errorRate: rate('--error-rate', opts.errorRate),
    dropRate: rate('--drop-rate', opts.dropRate),
    duplicateRate: rate('--duplicate-rate', opts.duplicateRate),
  };
  const faults = new BackendFaultDraw(
    parseWhole('--fault-seed', opts.faultSeed, 0xffffffff) ?? randomInt(0, 0xffffffff),
    settings,
  );
  const taskList = opts.tasks === undefined ? undefined : readTaskList(opts.tasks);
  const { config } = loadConfig({ file: opts.config });
  const uplinkUrl = new URL(config.uplink.url);
  const port = portOption ?? Number(uplinkUrl.port || (uplinkUrl.protocol === 'https:' ? 443 : 80));
  const db = resolve(opts.db ?? join(config.data.dir, 'sim-backend.db'));
  let store;
  try {
    store = new SqliteRecordStore(db);
  } catch (error) {
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `--db ${db}: cannot keep the simulator's records there (${(error as Error).message})`,
      { cause: error, details: { option: '--db' } },
    );
  }
  const sim = new BackendSimulator({
    ...(taskList ? { taskList } : {}),
    port,
    basePath: uplinkUrl.pathname.replace(/\/+$/, ''),
    token: config.uplink.token,
    store,
    faults,
    onBatch: (batch) => {
      if (opts.json) printJson({ event: 'batch', ...batch });
      else printLines([describeBatch(batch)]);
    },
  });
  let listening;
  try {
    listening = await sim.start();
  } catch (error) {
    store.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `--port ${port}: cannot listen on 127.0.0.1:${port} (${code ?? (error as Error).message})`,
      { cause: error, details: { option: '--port' } },
    );
  }
  const held = store.stats();
  if (opts.json)
    printJson({ address: '127.0.0.1', port: listening.port, url: listening.url, db, held, faults: faults.describe() });
  else {
    printLines([
      `codpos back-end simulator listening on ${listening.url} (records in ${db}: ${held.records} held)`,
      `Faults, seed ${faults.seed}: ${JSON.stringify(faults.describe())}`,
      `Configure a daemon with uplink.mode "http", uplink.url "${listening.url}".`,
      'Type commands (help lists them); Ctrl-C stops.',
    ]);
  }

  await runSimConsole((line) => runSimBackendCommand(sim, faults, line), opts);
  await sim.stop();
  store.close();
  if (!opts.json) printLines(['back-end simulator stopped']);
}

/** One batch as a console line: `backend| batch of 3 from CODPOS01 -> 200 (2 new, 1 again; fault duplicate)`. */
function describeBatch(batch: BackendBatch): string {
  const notes: string[] = [];
  if (batch.fresh !== undefined) notes.push(`${batch.fresh} new, ${batch.duplicates ?? 0} again`);
  if (batch.fault) notes.push(`fault ${batch.fault}`);
  const answer = batch.status === 0 ? 'dropped, no answer' : String(batch.status);
  return `backend| batch of ${batch.ids.length} from ${batch.terminalId || '-'} -> ${answer}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** `--tasks FILE`: a task list as the back-end hands it out; the terminal checks each task when it downloads it. */
function readTaskList(file: string): SimTaskList {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `--tasks ${file}: not a JSON file (${(error as Error).message})`, {
      details: { option: '--tasks' },
    });
  }
  const { couriers, tasks } = (list ?? {}) as { couriers?: unknown; tasks?: unknown };
  if (!Array.isArray(couriers) || !Array.isArray(tasks))
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `--tasks ${file}: expected { "couriers": [...], "tasks": [...], "tariff"?: {...} }`,
      { details: { option: '--tasks' } },
    );
  return list as SimTaskList;
}
