/**
 * The content rules every text interpreter shares (spec.ts ContentType): a value is a
 * string of the field's length in its units, a short fixed value is padded the way jPOS
 * pads it (numerics with leading zeros, text with trailing spaces: that never changes
 * the meaning), and each character must belong to the content's classes. Here so that
 * BCD, ASCII, EBCDIC and signed amounts word their refusals the same way.
 */
import { CHAR_CLASS, PRINTABLE, SIGN } from '../charsets.js';
import { AN, ANS, N, XN, Z } from '../codes.js';
import type { CompiledField } from '../compile.js';
import { ISO8583_ERRORS as E, fieldDecodeError, fieldEncodeError } from '../errors.js';
import { hex2 } from '../prefixers/prefixer.js';
import type { Scratch } from '../scratch.js';
import type { TextInterpreter } from './interpreter.js';

/** The value as the text to write: checked to be a string that fits, a short fixed value padded. */
export function textToWrite(value: unknown, f: CompiledField): string {
  if (typeof value !== 'string') throw fieldEncodeError(E.BAD_VALUE, f, `must be a string, not ${describe(value)}`);
  const content = f.content;
  const fixed = f.lengthDigits === 0;
  // Units the value holds (digits or characters; an xn sign is not counted).
  const length = content === XN ? value.length - 1 : value.length;
  if (content === XN && (length < 0 || (CHAR_CLASS[value.charCodeAt(0)]! & SIGN) === 0)) {
    throw fieldEncodeError(E.BAD_VALUE, f, 'a signed amount starts with C or D');
  }
  if (length > f.maxLength) {
    throw fieldEncodeError(
      E.LENGTH_OVER_MAX,
      f,
      `the value has ${length} ${unit(f)}; the field holds ${fixed ? 'exactly' : 'at most'} ${f.maxLength}`,
    );
  }
  if (!fixed || length === f.maxLength) return value;
  const missing = f.maxLength - length;
  if (content === N) return '0'.repeat(missing) + value;
  if (content === XN) return value[0] + '0'.repeat(missing) + value.slice(1);
  if (content === AN || content === ANS) return value + ' '.repeat(missing);
  throw fieldEncodeError(E.BAD_VALUE, f, `the value has ${length} ${unit(f)}; the field holds exactly ${f.maxLength}`);
}

/**
 * A text interpreter's encoder: the value checked and padded (textToWrite), room made
 * (a byte a character is enough for every text encoding: BCD takes half), the length
 * prefix written by the field's prefixer, then the text by `write`.
 */
export function encodeText(
  value: unknown,
  f: CompiledField,
  out: Scratch,
  pos: number,
  write: TextInterpreter['writeText'],
): number {
  const text = textToWrite(value, f);
  const bytes = out.ensure(pos, f.prefixBytes + text.length);
  // Most fields are fixed: no call for an empty prefix.
  return write(
    text,
    0,
    text.length,
    f,
    bytes,
    f.prefixBytes === 0 ? pos : f.prefixer.write(text.length, f, bytes, pos),
  );
}

/** The encoder's refusal of character `i` of a value. */
export function badCharToWrite(i: number, f: CompiledField) {
  const code = f.content === AN || f.content === ANS ? E.BAD_CHARACTER : E.BAD_DIGIT;
  return fieldEncodeError(code, f, `character ${i + 1} is not ${expected(f)}`);
}

/** The index of the first character of `text` outside the field's classes. */
export function firstBadChar(text: string, from: number, f: CompiledField): number {
  let i = from;
  while (i < text.length && text.charCodeAt(i) <= 0xff && (CHAR_CLASS[text.charCodeAt(i)]! & f.charClass) !== 0) i++;
  return i;
}

/** The checked reader's refusal of the byte at `offset` (`ebcdic`: the byte is EBCDIC). */
export function badCharRead(buf: Buffer, offset: number, ebcdic: boolean, f: CompiledField) {
  const kind =
    f.content === N || f.content === XN
      ? 'a digit'
      : f.content === Z
        ? 'a digit or ='
        : f.charClass & PRINTABLE
          ? 'printable ASCII'
          : 'a letter, digit or space';
  const code = f.content === N || f.content === XN || f.content === Z ? E.BAD_DIGIT : E.BAD_CHARACTER;
  return fieldDecodeError(code, f, offset, `${ebcdic ? 'EBCDIC ' : ''}byte 0x${hex2(buf[offset]!)} is not ${kind}`);
}

/** The checked reader's refusal of an xn sign byte. */
export function badSignRead(buf: Buffer, offset: number, f: CompiledField) {
  return fieldDecodeError(E.BAD_CHARACTER, f, offset, `sign byte 0x${hex2(buf[offset]!)} is not C or D`);
}

function expected(f: CompiledField): string {
  switch (f.content) {
    case AN:
      return 'a letter, digit or space';
    case ANS:
      return 'printable ASCII';
    case Z:
      return 'a digit or =';
    default:
      return 'a digit';
  }
}

function unit(f: CompiledField): string {
  return f.content === AN || f.content === ANS ? 'characters' : 'digits';
}

/** What a wrong value is, for a message that must not quote it (it may be card data). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
