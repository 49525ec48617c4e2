/**
 * Random faults of the back-end simulator, so the uplink can be watched surviving a bad
 * network and a sloppy back-end: every answer late by `latencyMs`, and per request at most one
 * of
 *
 *   error      answer 500 before keeping anything (the back-end failed; the batch is re-sent)
 *   drop       keep the records, then close the connection without an answer (the answer was
 *              lost on the way: the terminal re-sends what the back-end already has)
 *   duplicate  keep the records and acknowledge each one twice, followed by the previous
 *              batch's acknowledgements again (a repeated answer): the terminal must
 *              acknowledge each of its records once and nothing it did not send
 *
 * Draws come from a seeded generator (config/prng.ts), one per request whatever the rates,
 * so the same seed against the same terminal gives the same day. Record batches and task list
 * downloads draw from two streams of the same seed: how often a terminal downloads its tasks
 * depends on the terminal, and must not shift the batches' faults. A download meets `error`
 * and `drop` only (there is nothing to acknowledge).
 */
import { PosError } from '../../config/errors.js';
import { prng } from '../../config/prng.js';

export type BackendFault = 'drop' | 'error' | 'duplicate';

/** The order faults are drawn in: part of what makes a seed reproduce a day. */
export const BACKEND_FAULTS: readonly BackendFault[] = ['drop', 'error', 'duplicate'];

export interface BackendFaultOptions {
  seed: number;
  /** How long every answer is held back, milliseconds (default 0). */
  latencyMs?: number;
  /** Probability per request of each fault, 0 to 1; together at most 1. */
  dropRate?: number;
  errorRate?: number;
  duplicateRate?: number;
}

/** The option (or console word) each setting comes from, for usage errors that name it. */
const OPTION_NAMES = {
  seed: '--fault-seed',
  latencyMs: '--latency-ms',
  dropRate: '--drop-rate',
  errorRate: '--error-rate',
  duplicateRate: '--duplicate-rate',
} as const;

export class BackendFaultDraw {
  private readonly batchRandom: () => number;
  private readonly taskRandom: () => number;
  private settings: Required<Omit<BackendFaultOptions, 'seed'>>;

  constructor(
    readonly seed: number,
    settings: Omit<BackendFaultOptions, 'seed'> = {},
  ) {
    checkBackendFaults({ seed, ...settings });
    this.batchRandom = prng(seed);
    // A different but fixed seed for the second stream (the golden ratio's 32 bits, to spread it).
    this.taskRandom = prng((seed ^ 0x9e3779b9) >>> 0);
    this.settings = { latencyMs: 0, dropRate: 0, errorRate: 0, duplicateRate: 0, ...definedOnly(settings) };
  }

  get latencyMs(): number {
    return this.settings.latencyMs;
  }

  /** The settings now, with the seed: what `faults` prints. */
  describe(): Required<BackendFaultOptions> {
    return { seed: this.seed, ...this.settings };
  }

  /** Changes some settings (the console); the draws go on from where they were. */
  change(settings: Omit<BackendFaultOptions, 'seed'>): void {
    const next = { ...this.settings, ...definedOnly(settings) };
    checkBackendFaults({ seed: this.seed, ...next });
    this.settings = next;
  }

  /** One record batch's fault, or undefined: answered normally. */
  next(): BackendFault | undefined {
    return this.pick(BACKEND_FAULTS, this.batchRandom());
  }

  /** One task list download's fault (`drop` or `error`), or undefined. */
  nextForTasks(): BackendFault | undefined {
    return this.pick(['drop', 'error'], this.taskRandom());
  }

  private pick(faults: readonly BackendFault[], draw: number): BackendFault | undefined {
    let upTo = 0;
    for (const fault of faults) {
      upTo += this.settings[`${fault}Rate`];
      if (draw < upTo) return fault;
    }
    return undefined;
  }
}

/** Throws a usage error naming the first bad setting by its option. */
export function checkBackendFaults(options: BackendFaultOptions): void {
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
    throw usage('seed', `${String(options.seed)}: expected a whole number from 0 to 4294967295`);
  }
  if (
    options.latencyMs !== undefined &&
    !(Number.isInteger(options.latencyMs) && options.latencyMs >= 0 && options.latencyMs <= 3_600_000)
  ) {
    throw usage('latencyMs', `${String(options.latencyMs)}: expected a whole number of milliseconds from 0 to 3600000`);
  }
  let sum = 0;
  for (const key of ['dropRate', 'errorRate', 'duplicateRate'] as const) {
    const rate = options[key];
    if (rate === undefined) continue;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1)
      throw usage(key, `${String(rate)}: a rate is a number from 0 to 1`);
    sum += rate;
  }
  // A small tolerance: 0.1 + 0.2 + 0.7 is not exactly 1 in floating point.
  if (sum > 1 + 1e-9) {
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `back-end simulator: --drop-rate, --error-rate and --duplicate-rate add up to ${sum}: together they may not exceed 1`,
      { details: { option: '--drop-rate' } },
    );
  }
}

/** A rate as typed (`0.25`, `1`, `.5`): a number from 0 to 1, or a usage error naming the option. */
export function parseRate(option: string, text: string): number {
  if (!/^(?:0(?:\.[0-9]+)?|1(?:\.0+)?|\.[0-9]+)$/.test(text)) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `${option} ${text}: expected a rate from 0 to 1 (e.g. 0.1)`, {
      details: { option },
    });
  }
  return Number(text);
}

function definedOnly<T extends object>(settings: T): Partial<T> {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function usage(key: keyof typeof OPTION_NAMES, problem: string): PosError {
  const option = OPTION_NAMES[key];
  return new PosError('CODPOS_USAGE_BAD_OPTION', `back-end simulator: ${option} ${problem}`, { details: { option } });
}
