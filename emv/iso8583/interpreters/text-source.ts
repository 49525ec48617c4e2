/**
 * Where field text comes from while one message is read. In a text dialect (ASCII MTI)
 * the message is mostly text, so fields are cut from one latin1 string of the whole
 * message (one native slice and then V8 substrings is several times cheaper than a string
 * per field); in a binary dialect the few short text fields are built on their own.
 * A source belongs to one read of one message: a caller may reuse its Buffer next.
 */
import { CHAR } from '../charsets.js';
import type { TextSource } from './interpreter.js';

/** Text built field by field. */
export const ownText: TextSource = { text: latin1 };

/** Text cut from one string of the whole message, made on first need. */
export class WholeMessageText implements TextSource {
  private whole: string | undefined;

  text(buf: Buffer, start: number, end: number): string {
    this.whole ??= buf.toString('latin1');
    return this.whole.substring(start, end);
  }
}

/** buf[start, end) as latin1 text, short values in one String.fromCharCode call (a native conversion's fixed cost dominates them). */
export function latin1(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > 16) return buf.toString('latin1', start, end);
  return length > 8
    ? shortLatin1(buf, start, 8) + shortLatin1(buf, start + 8, length - 8)
    : shortLatin1(buf, start, length);
}

/** Up to eight bytes as a string. */
export function shortLatin1(buf: Buffer, i: number, length: number): string {
  switch (length) {
    case 0:
      return '';
    case 1:
      return CHAR[buf[i]!]!;
    case 2:
      return String.fromCharCode(buf[i]!, buf[i + 1]!);
    case 3:
      return String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!);
    case 4:
      return String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!);
    case 5:
      return String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!, buf[i + 4]!);
    case 6:
      return String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!, buf[i + 4]!, buf[i + 5]!);
    case 7:
      return String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!, buf[i + 4]!, buf[i + 5]!, buf[i + 6]!);
    default:
      return String.fromCharCode(
        buf[i]!,
        buf[i + 1]!,
        buf[i + 2]!,
        buf[i + 3]!,
        buf[i + 4]!,
        buf[i + 5]!,
        buf[i + 6]!,
        buf[i + 7]!,
      );
  }
}
