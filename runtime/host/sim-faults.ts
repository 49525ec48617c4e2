/**
 * Random host faults for the acquirer simulator: a day of payments against a host that
 * now and then stays silent, answers late, drops the link, declines (05, 91) or approves
 * part of the amount. Every draw comes from a seeded generator, so a failing day
 * reproduces from its seed.
 *
 * A purchase (0200) draws one outcome; a reversal (0400/0401) draws from a second stream
 * of the same seed. Two streams, because how many reversals come depends on the terminal:
 * with one stream the purchases' faults would shift whenever the terminal changed.
 */
import { PosError } from '../../config/errors.js';
import { prng } from '../../config/prng.js';

/** What a fault does to one purchase. */
export type SimFault = 'silent' | 'late' | 'drop' | 'decline05' | 'decline91' | 'partial';
/** What a fault does to one reversal: the terminal must repeat it (0401). */
export type SimReversalFault = 'silent' | 'drop';

/** The order faults are drawn in: part of what makes a seed reproduce a day. */
export const SIM_FAULTS: readonly SimFault[] = ['silent', 'late', 'drop', 'decline05', 'decline91', 'partial'];
export const SIM_REVERSAL_FAULTS: readonly SimReversalFault[] = ['silent', 'drop'];

export interface SimFaultOptions {
  seed: number;
  /** Probability of each fault per purchase, 0 to 1; together at most 1 (the rest is answered normally). */
  rates: Partial<Record<SimFault, number>>;
  /** How long a `late` answer is held back; default 1000 ms. */
  lateMs?: number;
  /** Probability per reversal of no answer (`silent`) or a dropped connection (`drop`). */
  reversalRates?: Partial<Record<SimReversalFault, number>>;
}

/** The share of the request a `partial` fault approves. */
export const PARTIAL_FAULT_PERCENT = 50;
export const DEFAULT_LATE_MS = 1000;

/** Draws the faults of a simulator's purchases and reversals. */
export class SimFaultDraw {
  readonly lateMs: number;
  private readonly purchaseRandom: () => number;
  private readonly reversalRandom: () => number;

  constructor(private readonly options: SimFaultOptions) {
    checkFaultOptions(options);
    this.lateMs = options.lateMs ?? DEFAULT_LATE_MS;
    this.purchaseRandom = prng(options.seed);
    // A different but fixed seed for the second stream (the golden ratio's 32 bits, to spread it).
    this.reversalRandom = prng((options.seed ^ 0x9e3779b9) >>> 0);
  }

  /** One purchase's fault, or undefined: answered normally. */
  purchase(): SimFault | undefined {
    return pick(SIM_FAULTS, this.options.rates, this.purchaseRandom());
  }

  /** One reversal's fault, or undefined: answered normally. */
  reversal(): SimReversalFault | undefined {
    return pick(SIM_REVERSAL_FAULTS, this.options.reversalRates ?? {}, this.reversalRandom());
  }
}

function pick<T extends string>(order: readonly T[], rates: Partial<Record<T, number>>, draw: number): T | undefined {
  let upTo = 0;
  for (const fault of order) {
    upTo += rates[fault] ?? 0;
    if (draw < upTo) return fault;
  }
  return undefined;
}

/** Throws a usage error naming the first bad rate, seed or delay. */
export function checkFaultOptions(options: SimFaultOptions): void {
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
    throw usage('seed', `fault seed ${String(options.seed)}: expected a whole number from 0 to 4294967295`);
  }
  if (options.lateMs !== undefined && !(Number.isInteger(options.lateMs) && options.lateMs >= 0)) {
    throw usage('lateMs', `late delay ${String(options.lateMs)}: expected a whole number of milliseconds`);
  }
  checkRates(options.rates, SIM_FAULTS, 'rates');
  checkRates(options.reversalRates ?? {}, SIM_REVERSAL_FAULTS, 'reversalRates');
}

function checkRates(rates: Record<string, number | undefined>, known: readonly string[], option: string): void {
  let sum = 0;
  for (const [name, rate] of Object.entries(rates)) {
    if (!known.includes(name)) throw usage(option, `fault ${name}: not a fault (${known.join(', ')})`);
    if (rate === undefined) continue;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1)
      throw usage(option, `fault ${name}=${String(rate)}: a rate is a number from 0 to 1`);
    sum += rate;
  }
  // A small tolerance: 0.1 + 0.2 + 0.7 is not exactly 1 in floating point.
  if (sum > 1 + 1e-9) throw usage(option, `fault rates add up to ${sum}: together they may not exceed 1`);
}

/** `silent=0.05,late=0.05,...` (the `--faults` option) into rates; a bad word names itself. */
export function parseFaultRates<T extends string>(
  text: string,
  known: readonly T[] = SIM_FAULTS as readonly string[] as readonly T[],
): Partial<Record<T, number>> {
  const rates: Partial<Record<T, number>> = {};
  for (const word of text.split(',').map((w) => w.trim())) {
    if (word === '') continue;
    const [name = '', value, extra] = word.split('=');
    if (!known.includes(name as T))
      throw usage('faults', `fault "${name}" in "${word}": expected one of ${known.join(', ')}`);
    if (value === undefined || extra !== undefined || !/^(?:0(?:\.[0-9]+)?|1(?:\.0+)?|\.[0-9]+)$/.test(value)) {
      throw usage('faults', `fault ${word}: expected ${name}=RATE with RATE from 0 to 1 (e.g. ${name}=0.05)`);
    }
    if (rates[name as T] !== undefined) throw usage('faults', `fault ${name} given twice`);
    rates[name as T] = Number(value);
  }
  checkRates(rates, known, 'faults');
  return rates;
}

function usage(option: string, message: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_OPTION', `acquirer simulator: ${message}`, { details: { option } });
}
