/**
 * Checking runs of ASCII digits and printable characters four bytes at a time, for
 * the generated decoder (an ASCII dialect is mostly digits and printable text: 390 of
 * the 400 bytes of a 0200 in iso87a). A byte-by-byte loop costs about 1 ns a byte on
 * the terminal-class machines we measure on; a word at a time about a quarter of that.
 *
 * The word tests are exact, not filters. Faults of all words are ORed and looked at
 * once per run (no branch in the loop); the checking decoder then finds the byte.
 * For every byte b of a word x, with b7 = b & 0x7F (so no byte sum passes 0xFF and
 * nothing carries into the next byte):
 *   range lo..hi:  b >= 0x80 shows in bit 7 of x itself; otherwise b >= lo exactly
 *                  when b7 + (0x80 - lo) reaches bit 7, and b > hi exactly when
 *                  b7 + (0x7F - hi) does. (The word sum may pass 2^31; the bitwise
 *                  use keeps its low 32 bits, which V8 computes as a plain int32 add.)
 *   track 2 (digits and '=', 0x3D): high nibble 3, and low nibble below 10 or
 *                  exactly 0xD (low ^ 0x0D is zero, so low ^ 0x0D + 0x0F stays
 *                  below 0x10).
 */
import { CHAR_CLASS } from './charsets.js';

/** Runs shorter than this are checked byte by byte: the word loop's set-up costs more. */
const WORD_RUN_MIN = 12;

const NO_INPUT = new Uint8Array(0);

/**
 * The checks over one input at a time. Each generated decoder owns one (nothing is
 * shared between decoders or kept at module level): begin() names the message, whose
 * `.byteOffset` and `.buffer` are read once per message, not once per run (reading them
 * costs more than checking ten bytes). `words` is a 32-bit view of the input's whole
 * ArrayBuffer (any aligned word of it can be read), made when a run first needs it and
 * kept while inputs come from the same ArrayBuffer (Node's pool, a socket's chunk).
 */
export class AsciiScanner {
  private input: Uint8Array = NO_INPUT;
  private inputBase = 0;
  private inputWords: Int32Array<ArrayBufferLike> | undefined;
  private wordsOf: ArrayBufferLike | undefined;
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);

  /** Makes `buf` the input the checks read. */
  begin(buf: Uint8Array): void {
    this.input = buf;
    this.inputBase = buf.byteOffset;
    this.inputWords = undefined;
  }

  /** Forgets the input (the message is done), so it is not kept alive; the ArrayBuffer view stays for the next one. */
  release(): void {
    this.input = NO_INPUT;
    this.inputWords = undefined;
  }

  private inputAsWords(): Int32Array<ArrayBufferLike> {
    if (this.inputWords === undefined) {
      const buffer = this.input.buffer;
      if (buffer !== this.wordsOf) {
        this.wordsOf = buffer;
        this.words = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
      }
      this.inputWords = this.words;
    }
    return this.inputWords;
  }

  /**
   * True when every byte of input[start, end) is in lo..hi (0x01 <= lo <= hi <= 0x7E):
   * digits are 0x30..0x39, printable text 0x20..0x7E.
   */
  allInRange(start: number, end: number, lo: number, hi: number): boolean {
    const buf = this.input;
    const span = hi - lo;
    let i = start;
    if (end - start >= WORD_RUN_MIN) {
      const base = this.inputBase;
      for (; ((base + i) & 3) !== 0; i++) if ((buf[i]! - lo) >>> 0 > span) return false;
      let w = (base + i) >> 2;
      const endWord = (base + end) >> 2;
      const all = this.inputAsWords();
      const reachesLo = (0x80 - lo) * 0x01010101;
      const passesHi = (0x7f - hi) * 0x01010101;
      let faults = 0;
      // Two words a turn: the loop's own cost is a good part of the whole here.
      for (; w + 1 < endWord; w += 2) {
        const x = all[w]!;
        const y = all[w + 1]!;
        const x7 = x & 0x7f7f7f7f;
        const y7 = y & 0x7f7f7f7f;
        faults |= x | ~(x7 + reachesLo) | (x7 + passesHi) | y | ~(y7 + reachesLo) | (y7 + passesHi);
      }
      if (w < endWord) {
        const x = all[w]!;
        const x7 = x & 0x7f7f7f7f;
        faults |= x | ~(x7 + reachesLo) | (x7 + passesHi);
      }
      if ((faults & 0x80808080) !== 0) return false;
      i = endWord * 4 - base;
    }
    for (; i < end; i++) if ((buf[i]! - lo) >>> 0 > span) return false;
    return true;
  }

  /** True when every byte of input[start, end) is an ASCII digit or '=' (track 2 as text). */
  allTrack2(start: number, end: number): boolean {
    const buf = this.input;
    let i = start;
    if (end - start >= WORD_RUN_MIN) {
      const base = this.inputBase;
      for (; ((base + i) & 3) !== 0; i++) if (!isTrack2Byte(buf[i]!)) return false;
      const firstWord = (base + i) >> 2;
      const endWord = (base + end) >> 2;
      const all = this.inputAsWords();
      let faults = 0;
      for (let w = firstWord; w < endWord; w++) {
        const x = all[w]!;
        const low = x & 0x0f0f0f0f;
        const tenOrMore = (low + 0x06060606) & 0x10101010;
        const notD = ((low ^ 0x0d0d0d0d) + 0x0f0f0f0f) & 0x10101010;
        faults |= ((x & 0xf0f0f0f0) ^ 0x30303030) | (tenOrMore & notD);
      }
      if (faults !== 0) return false;
      i = endWord * 4 - base;
    }
    for (; i < end; i++) if (!isTrack2Byte(buf[i]!)) return false;
    return true;
  }

  /** True when every byte of input[start, end) is in one of the character classes `allowed` (a CHAR_CLASS bit set). */
  allInClass(start: number, end: number, allowed: number): boolean {
    const buf = this.input;
    for (let i = start; i < end; i++) if ((CHAR_CLASS[buf[i]!]! & allowed) === 0) return false;
    return true;
  }
}

function isTrack2Byte(b: number): boolean {
  return (b - 0x30) >>> 0 <= 9 || b === 0x3d;
}
