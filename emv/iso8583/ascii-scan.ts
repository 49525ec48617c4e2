/**
 * Checking runs of ASCII digits and printable characters four bytes at a time, for
 * the generated decoder (an ASCII dialect is mostly digits and printable text: 390 of
 * the 400 bytes of a 0200 in iso87a). A byte-by-byte loop costs about 1 ns a byte on
 * the terminal-class machines we measure on; a word at a time about a quarter of that.
 *
 * The word tests are exact, not filters. Faults of all words are ORed and looked at
 * once per run (no branch in the loop); the checking decoder then finds the byte.
 * Each sum below stays inside its byte and inside int32 (a sum past 2^31 would send
 * V8 from integer to floating-point code), for every byte b of a word x:
 *   digit (0x30-0x39):  high nibble 3, and low nibble + 6 stays a nibble
 *                       ((x & 0x0F0F0F0F) + 0x06060606 <= 0x15151515);
 *   printable (0x20-0x7E): bit 7 clear; bit 5 or 6 set (b >= 0x20); and not 0x7F,
 *                       that is no zero byte in ~x & 0x7F7F7F7F (the "has a zero
 *                       byte" test of Bit Twiddling Hacks, exact for whether one exists).
 */
import { CHAR_CLASS } from './charsets.js';

/** Runs shorter than this are checked byte by byte: the word loop's set-up costs more. */
const WORD_RUN_MIN = 12;

/**
 * A 32-bit view of the input's whole ArrayBuffer, so any aligned word of it can be read.
 * Kept for the Uint8Array it was made for: reading `.buffer` costs about as much as
 * checking twenty bytes, so it is read once per input, not once per run.
 */
let wordsFor: Uint8Array | undefined;
let wordsOf: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

function wordsOver(buf: Uint8Array): Int32Array<ArrayBufferLike> {
  if (buf !== wordsFor) {
    wordsFor = buf;
    if (buf.buffer !== wordsOf) {
      wordsOf = buf.buffer;
      words = new Int32Array(wordsOf, 0, wordsOf.byteLength >>> 2);
    }
  }
  return words;
}

/**
 * Forgets the last input (call when a message is done). The view of its ArrayBuffer
 * stays, as the next input is most often cut from the same one (Node's pool, a
 * socket's chunk): at most one such buffer is kept alive by it.
 */
export function releaseScanInput(): void {
  wordsFor = undefined;
}

/** True when every byte of buf[start, end) is an ASCII digit. */
export function allDigits(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (end - start >= WORD_RUN_MIN) {
    const base = buf.byteOffset;
    for (; ((base + i) & 3) !== 0; i++) if ((buf[i]! - 0x30) >>> 0 > 9) return false;
    const firstWord = (base + i) >> 2;
    const endWord = (base + end) >> 2;
    const all = wordsOver(buf);
    let faults = 0;
    for (let w = firstWord; w < endWord; w++) {
      const x = all[w]!;
      faults |= ((x & 0xf0f0f0f0) ^ 0x30303030) | (((x & 0x0f0f0f0f) + 0x06060606) & 0xf0f0f0f0);
    }
    if (faults !== 0) return false;
    i = endWord * 4 - base;
  }
  for (; i < end; i++) if ((buf[i]! - 0x30) >>> 0 > 9) return false;
  return true;
}

/** True when every byte of buf[start, end) is printable ASCII (0x20-0x7E). */
export function allPrintable(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (end - start >= WORD_RUN_MIN) {
    const base = buf.byteOffset;
    for (; ((base + i) & 3) !== 0; i++) if ((buf[i]! - 0x20) >>> 0 > 0x5e) return false;
    const firstWord = (base + i) >> 2;
    const endWord = (base + end) >> 2;
    const all = wordsOver(buf);
    let faults = 0;
    for (let w = firstWord; w < endWord; w++) {
      const x = all[w]!;
      const bits56 = x & 0x60606060;
      const not7f = ~x & 0x7f7f7f7f;
      faults |= (x & 0x80808080) | (((bits56 | (bits56 << 1)) & 0x40404040) ^ 0x40404040) | ((not7f - 0x01010101) & ~not7f & 0x80808080);
    }
    if (faults !== 0) return false;
    i = endWord * 4 - base;
  }
  for (; i < end; i++) if ((buf[i]! - 0x20) >>> 0 > 0x5e) return false;
  return true;
}

/** True when every byte of buf[start, end) is in one of the character classes `allowed` (a CHAR_CLASS bit set). */
export function allInClass(buf: Uint8Array, start: number, end: number, allowed: number): boolean {
  for (let i = start; i < end; i++) if ((CHAR_CLASS[buf[i]!]! & allowed) === 0) return false;
  return true;
}
