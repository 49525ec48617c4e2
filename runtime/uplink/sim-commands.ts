/**
 * The back-end simulator's console language, for `codpos sim backend` (and anyone scripting it
 * through a pipe). One command a line:
 *
 *   stats                       what it holds, as JSON: records per stream, duplicates received,
 *                               this run's batches and the faults drawn
 *   records [stream=NAME]       the records it holds (first copy of each id), as JSON
 *   latency MS                  hold every answer back MS milliseconds
 *   error-rate R | drop-rate R | duplicate-rate R    change a fault's probability per request
 *   faults | help
 */
import { PosError } from '../../config/errors.js';
import { parseRate, type BackendFault, type BackendFaultDraw } from './sim-faults.js';
import type { BackendSimulator } from './simulator.js';
import type { HeldRecordStats } from './sim-store.js';

export const SIM_BACKEND_HELP = [
  'stats                         records held per stream, duplicates received, batches and faults of this run (JSON)',
  'records [stream=NAME]         the records held, first copy of each id (JSON)',
  'latency MS                    hold every answer back MS milliseconds',
  'error-rate R                  answer 500 to a request with probability R (0 to 1)',
  'drop-rate R                   keep the records, then close the connection unanswered, with probability R',
  'duplicate-rate R              acknowledge each record twice and repeat the previous answer, with probability R',
  'faults                        the fault settings and seed (JSON)',
].join('\n');

export interface BackendStats extends HeldRecordStats {
  /** Record batches received since this process started, and the faults drawn for them. */
  batches: number;
  faults: Record<BackendFault, number>;
}

export function backendStats(sim: BackendSimulator): BackendStats {
  return { ...sim.records.stats(), batches: sim.batchCounts.batches, faults: { ...sim.batchCounts.faults } };
}

const RATE_COMMANDS = {
  'error-rate': 'errorRate',
  'drop-rate': 'dropRate',
  'duplicate-rate': 'duplicateRate',
} as const;

/** Runs one console line against the simulator and its faults; returns the text to show. */
export function runSimBackendCommand(sim: BackendSimulator, faults: BackendFaultDraw, line: string): string {
  const [verb = '', ...words] = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (verb === '') return '';
  if (verb === 'help') return SIM_BACKEND_HELP;
  if (verb === 'stats') return JSON.stringify(backendStats(sim));
  if (verb === 'faults') return JSON.stringify(faults.describe());
  if (verb === 'records') {
    const stream = words.length === 0 ? undefined : /^stream=(\S+)$/.exec(words.length === 1 ? words[0]! : '')?.[1];
    if (words.length > 0 && stream === undefined)
      throw usage(`"${words.join(' ')}": records takes stream=NAME or nothing`);
    return JSON.stringify([...sim.records.values()].filter((r) => stream === undefined || r.stream === stream));
  }
  if (verb === 'latency') {
    const [ms] = words;
    if (words.length !== 1 || !/^[0-9]{1,7}$/.test(ms!))
      throw usage(`latency ${words.join(' ')}: expected one whole number of milliseconds`);
    faults.change({ latencyMs: Number(ms) });
    return `latency ${ms} ms`;
  }
  if (verb in RATE_COMMANDS) {
    if (words.length !== 1) throw usage(`${verb} takes one rate from 0 to 1`);
    faults.change({ [RATE_COMMANDS[verb as keyof typeof RATE_COMMANDS]]: parseRate(verb, words[0]!) });
    return `${verb} ${words[0]!}`;
  }
  throw usage(`unknown command "${verb}"; type help`);
}

function usage(problem: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_OPTION', `sim backend: ${problem}`, { details: { option: 'command' } });
}
