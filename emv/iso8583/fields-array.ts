/** The array both decoders put a message's fields in. */
import type { IsoFields } from './message.js';

/**
 * Decoded fields live in a sparse array indexed by field number: filling one is
 * several times faster than adding integer keys to a plain object, and it reads the
 * same (`fields[35]`, `Object.entries(fields)`, `for..in` list the present fields).
 */
export function newFields(highest: number): IsoFields {
  return new Array<IsoFields[number]>(highest + 1);
}

/** The highest field number a bitmap's words name (0 when none). */
export function highestField(w0: number, w1: number, w2: number, w3: number): number {
  if (w3 !== 0) return 128 - ctz(w3);
  if (w2 !== 0) return 96 - ctz(w2);
  if (w1 !== 0) return 64 - ctz(w1);
  return w0 !== 0 ? 32 - ctz(w0) : 0;
}

/** Count of trailing zero bits of a non-zero 32-bit word. */
function ctz(word: number): number {
  return 31 - Math.clz32(word & -word);
}
