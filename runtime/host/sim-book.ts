/**
 * The acquirer simulator's book: what the host has approved, reversed, voided and settled,
 * per terminal id + STAN, at the approved amount (a partial approval's, not the request's).
 * It holds what a terminal's open batch holds and empties when that terminal settles in
 * balance. Reversals are idempotent (a repeat, or one of something never booked, changes
 * nothing more), and a reversed void puts its original back on the book.
 *
 * Memory is bounded: past `maxBooked` transactions over all terminals the oldest is
 * forgotten, as `forget` would, and `onForgotten` is told (the audit counts it).
 */
import type { TerminalBook } from './sim-audit.js';

interface BookedTransaction {
  amount: bigint;
  reversed: boolean;
}

export interface SimBookOptions {
  /** Default 10,000. */
  maxBooked?: number | undefined;
  onForgotten?: () => void;
}

export class SimBook {
  private readonly booked = new Map<string, BookedTransaction>();
  /** Voids on the book (terminal id + the void's STAN -> the original's key). */
  private readonly voids = new Map<string, string>();

  constructor(private readonly options: SimBookOptions = {}) {}

  /** Books a transaction; a STAN booked again is the newest, not the oldest. */
  put(terminalId: string, stan: string, amount: bigint): void {
    const key = keyOf(terminalId, stan);
    this.booked.delete(key);
    this.booked.set(key, { amount, reversed: false });
    if (this.booked.size <= (this.options.maxBooked ?? 10_000)) return;
    const oldest = this.booked.keys().next().value!;
    this.booked.delete(oldest);
    for (const [voidKey, original] of this.voids) if (original === oldest) this.voids.delete(voidKey);
    this.options.onForgotten?.();
  }

  /** Whether the host has the transaction (reversed or not). */
  has(terminalId: string, stan: string): boolean {
    return this.booked.has(keyOf(terminalId, stan));
  }

  /** The host loses a transaction, as a host that lost it would (a batch upload brings it back). */
  forget(terminalId: string, stan: string): boolean {
    return this.booked.delete(keyOf(terminalId, stan));
  }

  /** A void (STAN `voidStan`) of the approved purchase `originalStan`; false when nothing approved is booked under it. */
  void(terminalId: string, originalStan: string, voidStan: string): boolean {
    const originalKey = keyOf(terminalId, originalStan);
    const original = this.booked.get(originalKey);
    if (!original || original.reversed) return false;
    original.reversed = true;
    this.voids.set(keyOf(terminalId, voidStan), originalKey);
    return true;
  }

  /** A reversal of `originalStan`: off the book; when it names a void, the purchase voided is on the book again. */
  reverse(terminalId: string, originalStan: string): void {
    const key = keyOf(terminalId, originalStan);
    const booked = this.booked.get(key);
    if (booked) booked.reversed = true;
    const voided = this.voids.get(key);
    if (voided === undefined) return;
    const original = this.booked.get(voided);
    if (original) original.reversed = false;
    this.voids.delete(key);
  }

  /**
   * A 0500: whether the terminal's debit count and amount equal the host's (approved, not
   * reversed or voided). In balance, the host closes the terminal's batch too.
   */
  settle(terminalId: string, debitCount: number, debitAmount: bigint): boolean {
    const { count, amount } = this.totalsOf(terminalId);
    const inBalance = debitCount === count && debitAmount === amount;
    if (inBalance) {
      const prefix = `${terminalId}|`;
      for (const map of [this.booked, this.voids])
        for (const key of [...map.keys()]) if (key.startsWith(prefix)) map.delete(key);
    }
    return inBalance;
  }

  /** The host's totals per terminal (what a 0500 is compared with). */
  books(): TerminalBook[] {
    const books = new Map<string, TerminalBook>();
    for (const [key, booked] of this.booked) {
      const terminalId = key.slice(0, key.indexOf('|'));
      const entry = books.get(terminalId) ?? { terminalId, count: 0, amount: 0 };
      if (!booked.reversed) {
        entry.count++;
        entry.amount += Number(booked.amount);
      }
      books.set(terminalId, entry);
    }
    return [...books.values()];
  }

  /** Transactions on the book, all terminals. */
  get size(): number {
    return this.booked.size;
  }

  private totalsOf(terminalId: string): { count: number; amount: bigint } {
    let count = 0;
    let amount = 0n;
    const prefix = `${terminalId}|`;
    for (const [key, booked] of this.booked) {
      if (!key.startsWith(prefix) || booked.reversed) continue;
      count++;
      amount += booked.amount;
    }
    return { count, amount };
  }
}

function keyOf(terminalId: string, stan: string): string {
  return `${terminalId}|${stan}`;
}
