/**
 * Time and randomness come in through these seams so that lease expiry, backoff,
 * retention and ids can be tested deterministically (an injected clock and an
 * injected random source), while production uses the wall clock and node:crypto.
 */
import { randomBytes } from 'node:crypto';

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** Returns `size` random bytes; ids use it. */
export type RandomBytes = (size: number) => Buffer;
/** Returns a number in [0, 1); backoff jitter uses it. */
export type RandomFraction = () => number;

export const systemClock: Clock = { now: () => Date.now() };
/**
 * node:crypto random bytes, drawn from a 4 KiB pool: one randomBytes call per
 * few hundred ids instead of two per id (the call costs more than the bytes).
 */
export const cryptoRandomBytes: RandomBytes = (() => {
  const POOL = 4096;
  let pool = randomBytes(POOL);
  let offset = 0;
  return (size: number) => {
    if (size > POOL) return randomBytes(size);
    if (offset + size > POOL) {
      pool = randomBytes(POOL);
      offset = 0;
    }
    const out = Buffer.from(pool.subarray(offset, offset + size));
    offset += size;
    return out;
  };
})();
export const cryptoRandomFraction: RandomFraction = () => randomBytes(4).readUInt32BE(0) / 0x1_0000_0000;

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
