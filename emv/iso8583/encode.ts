/**
 * ISO 8583 encoding: { mti, fields } -> bytes. Synchronous, no I/O. Values are
 * checked as they are written (a letter in a numeric field, a value longer than the
 * field, a string for a binary field are PosErrors naming the field); short fixed
 * values are padded the way jPOS pads them (numerics with leading zeros, text with
 * trailing spaces), since that never changes their meaning.
 *
 * Hot path notes: one pass writes into a reusable scratch buffer (grown on demand),
 * and the result is one copy of the written bytes.
 */
import { PosError } from '../../config/errors.js';
import { ASCII_TO_EBCDIC, CHAR_CLASS, SIGN } from './charsets.js';
import { AN, ANS, B, BCD, BINARY, EBCDIC, N, XN, Z, compileDialect, type CompiledField, type CompiledFieldSet } from './compile.js';
import { ISO8583_ERRORS as E, encodeError } from './errors.js';
import type { Dialect } from './spec.js';
import type { IsoFields, IsoMessage } from './message.js';

let scratch = Buffer.allocUnsafe(4096);

function ensure(pos: number, bytes: number): void {
  if (pos + bytes <= scratch.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, pos + bytes));
  scratch.copy(bigger, 0, 0, pos);
  scratch = bigger;
}

/** Encodes one message (no framing). */
export function encodeIso8583(message: IsoMessage, dialect: Dialect): Buffer {
  const compiled = compileDialect(dialect);
  const mti = message.mti;
  if (typeof mti !== 'string' || mti.length !== 4) throw encodeError(E.BAD_MTI, 'mti', 'MTI', 'must be 4 digits');
  let pos = 0;
  ensure(0, 4);
  if (compiled.mtiEncoding === BCD) {
    pos = writeBcd(mti, 4, false, 0, 0, MTI_FIELD);
  } else {
    pos = writeChars(mti, 0, 0, 4, compiled.mtiEncoding === EBCDIC, MTI_FIELD);
  }
  pos = encodeBody(message.fields, compiled.body, pos);
  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  return out;
}

/** Stand-in spec so MTI errors read like field errors. */
const MTI_FIELD = { path: 'mti', label: 'MTI', content: N, charClass: 1 } as CompiledField;

function encodeBody(fields: IsoFields, set: CompiledFieldSet, start: number): number {
  if (typeof fields !== 'object' || fields === null) throw new PosError(E.BAD_VALUE, 'ISO 8583 message: fields must be an object of field number -> value');
  if (fields[0] !== undefined || fields[1] !== undefined) {
    throw new PosError(E.UNKNOWN_FIELD, 'ISO 8583: fields 0 and 1 are the MTI and the secondary bitmap, which the encoder writes itself', { details: { field: fields[0] !== undefined ? '0' : '1' } });
  }
  // Pass 1: the bitmap, checking every present field is in the dialect. Field numbers
  // are scanned as integers: for..in over integer keys would make a string per key.
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  for (let number = 2; number <= 128; number++) {
    if (fields[number] === undefined) continue;
    if (set.fields[number] === undefined) throw new PosError(E.UNKNOWN_FIELD, `ISO 8583: field ${number} is not in this dialect`, { details: { field: String(number) } });
    const bit = 0x80000000 >>> ((number - 1) & 31);
    if (number <= 32) w0 |= bit;
    else if (number <= 64) w1 |= bit;
    else if (number <= 96) w2 |= bit;
    else w3 |= bit;
  }
  if ((w2 | w3) !== 0) w0 |= 0x80000000;
  let pos = start;
  const words = (w2 | w3) !== 0 ? 4 : 2;
  ensure(pos, words * 8);
  if (set.bitmapHex) {
    pos = writeHexWord(w0, pos);
    pos = writeHexWord(w1, pos);
    if (words === 4) {
      pos = writeHexWord(w2, pos);
      pos = writeHexWord(w3, pos);
    }
  } else {
    pos = writeWord(w0, pos);
    pos = writeWord(w1, pos);
    if (words === 4) {
      pos = writeWord(w2, pos);
      pos = writeWord(w3, pos);
    }
  }
  // Pass 2: the fields the bitmap names, in ascending order.
  pos = encodeWord(fields, set, w0 & 0x7fffffff, 0, pos);
  pos = encodeWord(fields, set, w1, 32, pos);
  if (w2 !== 0) pos = encodeWord(fields, set, w2, 64, pos);
  if (w3 !== 0) pos = encodeWord(fields, set, w3, 96, pos);
  return pos;
}

/** Encodes the fields named by one 32-bit bitmap word whose first bit is field `base + 1`. */
function encodeWord(fields: IsoFields, set: CompiledFieldSet, word: number, base: number, pos: number): number {
  while (word !== 0) {
    const bit = Math.clz32(word);
    word &= ~(0x80000000 >>> bit);
    const number = base + bit + 1;
    pos = encodeField(fields[number], set.fields[number]!, pos);
  }
  return pos;
}

/** A bitmap word, big-endian. */
function writeWord(word: number, pos: number): number {
  const out = scratch;
  out[pos] = word >>> 24;
  out[pos + 1] = (word >>> 16) & 0xff;
  out[pos + 2] = (word >>> 8) & 0xff;
  out[pos + 3] = word & 0xff;
  return pos + 4;
}

function writeHexWord(word: number, pos: number): number {
  const out = scratch;
  for (let shift = 28; shift >= 0; shift -= 4) out[pos++] = HEX_DIGIT[(word >>> shift) & 15]!;
  return pos;
}

/** Nibble -> ASCII code of its uppercase hex digit. */
const HEX_DIGIT = Uint8Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));

function encodeField(value: unknown, f: CompiledField, pos: number): number {
  if (f.content === B) return encodeBinary(value, f, pos);
  if (typeof value !== 'string') throw encodeError(E.BAD_VALUE, f.path, f.label, `must be a string, not ${describe(value)}`);
  const fixed = f.lengthDigits === 0;
  const content = f.content;
  let text = value;
  // Units the value holds (digits or characters; an xn sign is not counted).
  let length = content === XN ? text.length - 1 : text.length;
  if (content === XN) {
    if (length < 0 || (CHAR_CLASS[text.charCodeAt(0)]! & SIGN) === 0) throw encodeError(E.BAD_VALUE, f.path, f.label, 'a signed amount starts with C or D');
  }
  if (length > f.maxLength) {
    throw encodeError(E.LENGTH_OVER_MAX, f.path, f.label, `the value has ${length} ${unit(f)}; the field holds ${fixed ? 'exactly' : 'at most'} ${f.maxLength}`);
  }
  if (fixed && length < f.maxLength) {
    if (content === N) text = '0'.repeat(f.maxLength - length) + text;
    else if (content === XN) text = text[0] + '0'.repeat(f.maxLength - length) + text.slice(1);
    else if (content === AN || content === ANS) text = text + ' '.repeat(f.maxLength - length);
    else throw encodeError(E.BAD_VALUE, f.path, f.label, `the value has ${length} ${unit(f)}; the field holds exactly ${f.maxLength}`);
    length = f.maxLength;
  }
  const enc = f.encoding;
  const dataBytes = (enc === BCD ? (length + 1) >> 1 : length) + (content === XN ? 1 : 0);
  ensure(pos, f.prefixBytes + dataBytes);
  if (!fixed) pos = writeLength(length, f, pos);
  if (content === XN) {
    const s = text.charCodeAt(0);
    scratch[pos++] = enc === EBCDIC ? ASCII_TO_EBCDIC[s]! : s;
    if (enc === BCD) return writeBcd(text, length, f.padLeft, 1, pos, f);
    return writeChars(text, 1, pos, length, enc === EBCDIC, f);
  }
  if (enc === BCD) return writeBcd(text, length, f.padLeft, 0, pos, f);
  return writeChars(text, 0, pos, length, enc === EBCDIC, f);
}

function encodeBinary(value: unknown, f: CompiledField, pos: number): number {
  if (f.sub !== undefined && typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    // A sub-message: reserve the prefix, encode in place, then write the length.
    ensure(pos, f.prefixBytes);
    const dataStart = pos + f.prefixBytes;
    const dataEnd = encodeBody(value as IsoFields, f.sub, dataStart);
    const length = dataEnd - dataStart;
    if (length > f.maxLength) throw encodeError(E.LENGTH_OVER_MAX, f.path, f.label, `the subfields take ${length} bytes; the field holds at most ${f.maxLength}`);
    if (f.lengthDigits !== 0) writeLength(length, f, pos);
    return dataEnd;
  }
  if (!(value instanceof Uint8Array)) throw encodeError(E.BAD_VALUE, f.path, f.label, `binary data must be a Buffer, not ${describe(value)}`);
  const length = value.length;
  if (f.lengthDigits === 0 ? length !== f.maxLength : length > f.maxLength) {
    throw encodeError(E.LENGTH_OVER_MAX, f.path, f.label, `the value has ${length} bytes; the field holds ${f.lengthDigits === 0 ? 'exactly' : 'at most'} ${f.maxLength}`);
  }
  const dataBytes = f.encoding === BINARY ? length : length * 2;
  ensure(pos, f.prefixBytes + dataBytes);
  if (f.lengthDigits !== 0) pos = writeLength(length, f, pos);
  if (f.encoding === BINARY) {
    scratch.set(value, pos);
    return pos + length;
  }
  const out = scratch;
  for (let i = 0; i < length; i++) {
    out[pos++] = HEX_DIGIT[value[i]! >> 4]!;
    out[pos++] = HEX_DIGIT[value[i]! & 15]!;
  }
  return pos;
}

function writeLength(length: number, f: CompiledField, pos: number): number {
  const bytes = f.prefixBytes;
  const enc = f.lengthEncoding;
  let rest = length;
  if (enc === BINARY) {
    for (let i = bytes - 1; i >= 0; i--) {
      scratch[pos + i] = rest & 0xff;
      rest = Math.floor(rest / 256);
    }
  } else if (enc === BCD) {
    for (let i = bytes - 1; i >= 0; i--) {
      scratch[pos + i] = ((Math.floor(rest / 10) % 10) << 4) | rest % 10;
      rest = Math.floor(rest / 100);
    }
  } else {
    const zero = enc === EBCDIC ? 0xf0 : 0x30;
    for (let i = bytes - 1; i >= 0; i--) {
      scratch[pos + i] = zero + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  }
  return pos + bytes;
}

/** Writes `digits` characters of text (from `from`) as BCD, the filler nibble 0 on the pad side when odd. */
function writeBcd(text: string, digits: number, padLeft: boolean, from: number, pos: number, f: CompiledField): number {
  const out = scratch;
  const track = f.content === Z;
  let i = from;
  const end = from + digits;
  if ((digits & 1) === 1 && padLeft) out[pos++] = nibble(text, i++, track, f);
  while (i + 1 < end) {
    const hi = text.charCodeAt(i) - 48;
    const lo = text.charCodeAt(i + 1) - 48;
    // Both digits (the usual case) in one unsigned compare each; anything else takes the careful path.
    out[pos++] = hi >>> 0 <= 9 && lo >>> 0 <= 9 ? (hi << 4) | lo : (nibble(text, i, track, f) << 4) | nibble(text, i + 1, track, f);
    i += 2;
  }
  if (i < end) out[pos++] = nibble(text, i, track, f) << 4;
  return pos;
}

function nibble(text: string, i: number, track: boolean, f: CompiledField): number {
  const d = text.charCodeAt(i) - 48;
  if (d >= 0 && d <= 9) return d;
  if (track && d === 13) return 0xd; // '=' (0x3D) is the track separator, nibble D
  throw encodeError(E.BAD_DIGIT, f.path, f.label, `character ${i + 1} is not a digit${track ? ' or =' : ''}`);
}

/** Writes `length` characters of text (from `from`) as ASCII or EBCDIC bytes, each checked against the field's classes. */
function writeChars(text: string, from: number, pos: number, length: number, ebcdic: boolean, f: CompiledField): number {
  const out = scratch;
  const allowed = f.charClass;
  const end = from + length;
  if (ebcdic) {
    for (let i = from; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c > 0xff || (CHAR_CLASS[c]! & allowed) === 0) throw badChar(text, i, f);
      out[pos++] = ASCII_TO_EBCDIC[c]!;
    }
    return pos;
  }
  if (length > 32 && from === 0) {
    // Long text: one regex pass and one native copy beat a JS loop.
    if (!f.pattern.test(text)) throw badChar(text, firstBad(text, f), f);
    return pos + out.write(text, pos, length, 'latin1');
  }
  if (f.content === N || f.content === XN) {
    for (let i = from; i < end; i++) {
      const c = text.charCodeAt(i);
      if ((c - 48) >>> 0 > 9) throw badChar(text, i, f);
      out[pos++] = c;
    }
    return pos;
  }
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (CHAR_CLASS[c]! & allowed) === 0) throw badChar(text, i, f);
    out[pos++] = c;
  }
  return pos;
}

function firstBad(text: string, f: CompiledField): number {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 0xff && (CHAR_CLASS[text.charCodeAt(i)]! & f.charClass) !== 0) i++;
  return i;
}

function badChar(text: string, i: number, f: CompiledField) {
  const code = f.content === AN || f.content === ANS ? E.BAD_CHARACTER : E.BAD_DIGIT;
  return encodeError(code, f.path, f.label, `character ${i + 1} is not ${expected(f)}`);
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

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

