/**
 * Crash-safe counters. A counter moves only inside a SQLite transaction, and the
 * journal moves it in the same transaction as the row that uses the new value:
 * either both are on disk or neither is, so a crash can never hand out a STAN
 * (or invoice number) twice.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../config/errors.js';

export interface CounterSpec {
  /** First value, and the value after `max` (wrap). */
  min: number;
  max: number;
}

/** DE11 STAN, the sequence inside DE37 RRN, DE60-style batch number, invoice (receipt) number. */
export const COUNTERS = {
  stan: { min: 1, max: 999_999 },
  rrn: { min: 1, max: 999_999 },
  batch: { min: 1, max: 999_999 },
  invoice: { min: 1, max: 999_999 },
  /** EMV transaction sequence counter (tag 9F41), one per card transaction the kernel runs. */
  sequence: { min: 1, max: 99_999_999 },
} as const satisfies Record<string, CounterSpec>;

export type CounterName = keyof typeof COUNTERS;

export class Counters {
  private readonly seed: Statement;
  private readonly advance: Statement;
  private readonly read: Statement;

  constructor(private readonly db: Database) {
    this.seed = db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING');
    this.advance = db.prepare(
      'UPDATE counters SET value = CASE WHEN value >= ? THEN ? ELSE value + 1 END WHERE name = ? RETURNING value',
    );
    this.read = db.prepare('SELECT value FROM counters WHERE name = ?');
  }

  /**
   * The next value, wrapping from max to min. Runs in the caller's transaction when
   * there is one (that is the point); otherwise in its own, durable on return.
   */
  next(name: CounterName): number {
    const spec = specOf(name);
    const step = () => {
      // A fresh counter's first value is `min`: seed it one below.
      this.seed.run(name, spec.min - 1);
      return (this.advance.get(spec.max, spec.min, name) as { value: number }).value;
    };
    return this.db.inTransaction ? step() : this.db.transaction(step)();
  }

  /** The current value: the last one handed out (for the batch number: the open batch). */
  current(name: CounterName): number {
    const spec = specOf(name);
    const row = this.read.get(name) as { value: number } | undefined;
    return row === undefined || row.value < spec.min ? spec.min : row.value;
  }

  /** The batch number of the open batch; the first call opens batch 1. */
  openBatch(): number {
    const step = () => {
      const row = this.read.get('batch') as { value: number } | undefined;
      if (row === undefined || row.value < COUNTERS.batch.min) return this.next('batch');
      return row.value;
    };
    return this.db.inTransaction ? step() : this.db.transaction(step)();
  }
}

function specOf(name: string): CounterSpec {
  const spec = (COUNTERS as Record<string, CounterSpec>)[name];
  if (!spec)
    throw new PosError(
      'CODPOS_SPOOL_BAD_REQUEST',
      `unknown counter "${name}"; counters are ${Object.keys(COUNTERS).join(', ')}`,
    );
  return spec;
}
