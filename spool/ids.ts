/**
 * Terminal-made record ids: UUIDv7 (RFC 9562). The 48-bit millisecond timestamp
 * makes them sort in creation order; the 12-bit `rand_a` field is used as a
 * counter within one millisecond (RFC 9562 method 1) so ids made by one process
 * also sort in the order they were made, even when the clock stands still or
 * steps back. 62 random bits keep ids from two processes (before and after a
 * crash) apart. Receivers dedupe on these ids forever.
 */
import { systemClock, cryptoRandomBytes, type Clock, type RandomBytes } from './clock.js';

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export class IdGenerator {
  private lastMs = -1;
  private counter = 0;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly random: RandomBytes = cryptoRandomBytes,
  ) {}

  next(): string {
    let ms = this.clock.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      // Start the counter low in its range so many ids fit in one millisecond.
      this.counter = this.random(1)[0]! & 0x7f;
    } else {
      ms = this.lastMs;
      this.counter++;
      if (this.counter > 0xfff) {
        // Counter exhausted: borrow the next millisecond rather than repeat.
        this.lastMs = ms = ms + 1;
        this.counter = 0;
      }
    }
    const bytes = Buffer.alloc(16);
    bytes.writeUIntBE(ms, 0, 6);
    bytes[6] = 0x70 | (this.counter >> 8);
    bytes[7] = this.counter & 0xff;
    this.random(8).copy(bytes, 8);
    bytes[8] = 0x80 | (bytes[8]! & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}

/** The creation time written into a UUIDv7. */
export function uuidV7Time(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
