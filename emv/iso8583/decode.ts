/**
 * ISO 8583 decoding: bytes -> { mti, fields }. Synchronous, no I/O, strict: every
 * fault (a truncated message, a length over the field's maximum, a non-digit in a
 * numeric field or BCD nibble, a bad filler nibble, a bitmap naming a field the
 * dialect lacks, bytes left over) is a PosError naming the field and byte offset.
 * A value is never guessed or silently repaired (jPOS packs "EFGH" as BCD 5678; we
 * refuse to read anything but digits).
 *
 * Hot path notes: field specs are precompiled (compile.ts); strings are built from
 * lookup tables; the bitmap is walked with Math.clz32 so absent fields cost nothing.
 */
import { BCD_PAIR, CHAR, CHAR_CLASS, EBCDIC_TO_ASCII, HEX_VALUE, SIGN, TRACK_NIBBLE } from './charsets.js';
import { ASCII, B, BCD, BINARY, EBCDIC, N, XN, Z, compileDialect, type CompiledField, type CompiledFieldSet } from './compile.js';
import { ISO8583_ERRORS as E, decodeError } from './errors.js';
import type { Dialect } from './spec.js';
import type { IsoFields, IsoMessage } from './message.js';

/** Decodes one whole message; `data` must hold exactly one message (no framing). */
export function decodeIso8583(data: Uint8Array, dialect: Dialect): IsoMessage {
  const compiled = compileDialect(dialect);
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = buf.length;
  const mtiBytes = compiled.mtiEncoding === BCD ? 2 : 4;
  if (end < mtiBytes) throw decodeError(E.TRUNCATED, 'mti', 'MTI', 0, `needs ${mtiBytes} bytes, the message has ${end}`);
  const mti = compiled.mtiEncoding === BCD ? bcdDigits(buf, 0, 2, 'mti', 'MTI') : textDigits(buf, 0, 4, compiled.mtiEncoding === EBCDIC, 'mti', 'MTI');
  const fields: IsoFields = {};
  const pos = decodeBody(buf, mtiBytes, end, compiled.body, fields);
  if (pos !== end) throw decodeError(E.TRAILING_BYTES, 'message', 'message', pos, `${end - pos} bytes are left after the last field the bitmap names`);
  return { mti, fields };
}

/** Decodes a bitmap and the fields it names from buf[start, end); returns the offset after the last field. */
function decodeBody(buf: Buffer, start: number, end: number, set: CompiledFieldSet, out: IsoFields): number {
  let pos = start;
  const bitmapBytes = set.bitmapHex ? 16 : 8;
  if (pos + bitmapBytes > end) throw decodeError(E.TRUNCATED, 'bitmap', 'primary bitmap', pos, `needs ${bitmapBytes} bytes, ${end - pos} left`);
  const w0 = set.bitmapHex ? hexWord(buf, pos) : buf.readUInt32BE(pos);
  const w1 = set.bitmapHex ? hexWord(buf, pos + 8) : buf.readUInt32BE(pos + 4);
  pos += bitmapBytes;
  let w2 = 0;
  let w3 = 0;
  if ((w0 & 0x80000000) !== 0) {
    if (!set.hasSecondary) throw decodeError(E.UNKNOWN_FIELD, '1', 'bitmap', pos - bitmapBytes, 'bit 1 announces a secondary bitmap, but this dialect has no field above 64');
    if (pos + bitmapBytes > end) throw decodeError(E.TRUNCATED, '1', 'secondary bitmap', pos, `needs ${bitmapBytes} bytes, ${end - pos} left`);
    w2 = set.bitmapHex ? hexWord(buf, pos) : buf.readUInt32BE(pos);
    w3 = set.bitmapHex ? hexWord(buf, pos + 8) : buf.readUInt32BE(pos + 4);
    pos += bitmapBytes;
  }
  pos = decodeWord(buf, pos, end, set, out, w0 & 0x7fffffff, 0, start);
  pos = decodeWord(buf, pos, end, set, out, w1, 32, start);
  if (w2 !== 0) pos = decodeWord(buf, pos, end, set, out, w2, 64, start);
  if (w3 !== 0) pos = decodeWord(buf, pos, end, set, out, w3, 96, start);
  return pos;
}

/** Decodes the fields named by one 32-bit bitmap word whose first bit is field `base + 1`. */
function decodeWord(buf: Buffer, pos: number, end: number, set: CompiledFieldSet, out: IsoFields, word: number, base: number, bitmapOffset: number): number {
  while (word !== 0) {
    const bit = Math.clz32(word);
    word &= ~(0x80000000 >>> bit);
    const number = base + bit + 1;
    const field = set.fields[number];
    if (field === undefined) {
      throw decodeError(E.UNKNOWN_FIELD, String(number), 'bitmap', bitmapOffset + (((number - 1) >> 6) * (set.bitmapHex ? 16 : 8)), `names field ${number}, which this dialect does not define`);
    }
    pos = decodeField(buf, pos, end, field, out, number);
  }
  return pos;
}

function decodeField(buf: Buffer, pos: number, end: number, f: CompiledField, out: IsoFields, number: number): number {
  let length = f.maxLength;
  if (f.lengthDigits !== 0) {
    if (pos + f.prefixBytes > end) throw decodeError(E.TRUNCATED, f.path, f.label, pos, `its length prefix needs ${f.prefixBytes} bytes, ${end - pos} left`);
    length = readLength(buf, pos, f);
    if (length > f.maxLength) throw decodeError(E.LENGTH_OVER_MAX, f.path, f.label, pos, `length ${length} is over the field's maximum ${f.maxLength}`);
    pos += f.prefixBytes;
  }
  const enc = f.encoding;
  const size =
    enc === BCD ? (length + 1) >> 1 : enc === BINARY ? length : enc === ASCII || enc === EBCDIC ? length : length * 2; // HEX: two characters a byte
  const total = f.content === XN ? size + 1 : size;
  if (pos + total > end) throw decodeError(E.TRUNCATED, f.path, f.label, pos, `needs ${total} bytes, ${end - pos} left`);
  const content = f.content;
  if (content === B) {
    if (enc === BINARY) {
      if (f.sub !== undefined) {
        const sub: IsoFields = {};
        const subEnd = decodeBody(buf, pos, pos + size, f.sub, sub);
        if (subEnd !== pos + size) throw decodeError(E.TRAILING_BYTES, f.path, f.label, subEnd, `${pos + size - subEnd} bytes are left after the last subfield its bitmap names`);
        out[number] = sub;
      } else {
        const value = Buffer.allocUnsafe(size);
        buf.copy(value, 0, pos, pos + size);
        out[number] = value;
      }
    } else {
      out[number] = hexBytes(buf, pos, length, f);
    }
    return pos + size;
  }
  if (enc === BCD) {
    if (content === XN) {
      out[number] = sign(buf, pos, f) + bcdValue(buf, pos + 1, length, f);
      return pos + total;
    }
    out[number] = content === Z ? trackValue(buf, pos, length, f) : bcdValue(buf, pos, length, f);
    return pos + size;
  }
  // ASCII or EBCDIC characters.
  if (content === XN) {
    out[number] = sign(buf, pos, f) + text(buf, pos + 1, length, enc === EBCDIC, f.charClass, f);
    return pos + total;
  }
  out[number] = text(buf, pos, length, enc === EBCDIC, f.charClass, f);
  return pos + size;
}

/** The length in a variable field's prefix at buf[pos]. */
function readLength(buf: Buffer, pos: number, f: CompiledField): number {
  const enc = f.lengthEncoding;
  let length = 0;
  if (enc === BINARY) {
    for (let i = 0; i < f.prefixBytes; i++) length = length * 256 + buf[pos + i]!;
    return length;
  }
  if (enc === BCD) {
    for (let i = 0; i < f.prefixBytes; i++) {
      const b = buf[pos + i]!;
      if (b >> 4 > 9 || (b & 15) > 9) throw decodeError(E.BAD_DIGIT, f.path, f.label, pos + i, `length prefix byte 0x${hex2(b)} is not BCD`);
      length = length * 100 + (b >> 4) * 10 + (b & 15);
    }
    return length;
  }
  const zero = enc === EBCDIC ? 0xf0 : 0x30;
  for (let i = 0; i < f.prefixBytes; i++) {
    const d = buf[pos + i]! - zero;
    if (d < 0 || d > 9) throw decodeError(E.BAD_DIGIT, f.path, f.label, pos + i, `length prefix byte 0x${hex2(buf[pos + i]!)} is not a digit`);
    length = length * 10 + d;
  }
  return length;
}

/** `digits` digits packed as BCD at buf[pos], with the filler nibble on the field's pad side when odd. */
function bcdValue(buf: Buffer, pos: number, digits: number, f: CompiledField): string {
  let value = '';
  let i = pos;
  const odd = (digits & 1) === 1;
  if (odd && f.padLeft) {
    const b = buf[i]!;
    if (b >> 4 !== 0) throw decodeError(E.BAD_PADDING, f.path, f.label, i, `filler nibble is ${hex1(b >> 4)}, not 0`);
    if ((b & 15) > 9) throw decodeError(E.BAD_DIGIT, f.path, f.label, i, `nibble ${hex1(b & 15)} is not a digit`);
    value = CHAR[48 + (b & 15)]!;
    i++;
  }
  const pairsEnd = pos + (odd && !f.padLeft ? digits >> 1 : (digits + 1) >> 1);
  for (; i < pairsEnd; i++) {
    const pair = BCD_PAIR[buf[i]!];
    if (pair === undefined) throw decodeError(E.BAD_DIGIT, f.path, f.label, i, `byte 0x${hex2(buf[i]!)} is not two BCD digits`);
    value += pair;
  }
  if (odd && !f.padLeft) {
    const b = buf[i]!;
    if (b >> 4 > 9) throw decodeError(E.BAD_DIGIT, f.path, f.label, i, `nibble ${hex1(b >> 4)} is not a digit`);
    if ((b & 15) !== 0) throw decodeError(E.BAD_PADDING, f.path, f.label, i, `filler nibble is ${hex1(b & 15)}, not 0`);
    value += CHAR[48 + (b >> 4)]!;
  }
  return value;
}

/** Track data packed as BCD: digits, and nibble D read as the separator '='. */
function trackValue(buf: Buffer, pos: number, digits: number, f: CompiledField): string {
  let value = '';
  const odd = (digits & 1) === 1;
  const nibbles = odd ? digits + 1 : digits;
  for (let n = 0; n < nibbles; n++) {
    const b = buf[pos + (n >> 1)]!;
    const nibble = (n & 1) === 0 ? b >> 4 : b & 15;
    const isFiller = odd && (f.padLeft ? n === 0 : n === nibbles - 1);
    if (isFiller) {
      if (nibble !== 0) throw decodeError(E.BAD_PADDING, f.path, f.label, pos + (n >> 1), `filler nibble is ${hex1(nibble)}, not 0`);
      continue;
    }
    const c = TRACK_NIBBLE[nibble];
    if (c === undefined) throw decodeError(E.BAD_DIGIT, f.path, f.label, pos + (n >> 1), `nibble ${hex1(nibble)} is neither a digit nor the separator D`);
    value += c;
  }
  return value;
}

/** An MTI as BCD. */
function bcdDigits(buf: Buffer, pos: number, bytes: number, path: string, where: string): string {
  let value = '';
  for (let i = pos; i < pos + bytes; i++) {
    const pair = BCD_PAIR[buf[i]!];
    if (pair === undefined) throw decodeError(E.BAD_DIGIT, path, where, i, `byte 0x${hex2(buf[i]!)} is not two BCD digits`);
    value += pair;
  }
  return value;
}

/** An MTI as ASCII or EBCDIC digits. */
function textDigits(buf: Buffer, pos: number, length: number, ebcdic: boolean, path: string, where: string): string {
  let value = '';
  for (let i = pos; i < pos + length; i++) {
    const c = ebcdic ? EBCDIC_TO_ASCII[buf[i]!]! : buf[i]!;
    if (c < 0x30 || c > 0x39) throw decodeError(E.BAD_DIGIT, path, where, i, `byte 0x${hex2(buf[i]!)} is not a digit`);
    value += CHAR[c]!;
  }
  return value;
}

/** `length` ASCII or EBCDIC characters, each in one of the classes `allowed`. */
function text(buf: Buffer, pos: number, length: number, ebcdic: boolean, allowed: number, f: CompiledField): string {
  const end = pos + length;
  for (let i = pos; i < end; i++) {
    const c = ebcdic ? EBCDIC_TO_ASCII[buf[i]!]! : buf[i]!;
    if ((CHAR_CLASS[c]! & allowed) === 0) throw badCharacter(buf, i, ebcdic, f);
  }
  if (!ebcdic) return buf.toString('latin1', pos, end);
  let value = '';
  for (let i = pos; i < end; i++) value += CHAR[EBCDIC_TO_ASCII[buf[i]!]!]!;
  return value;
}

function badCharacter(buf: Buffer, i: number, ebcdic: boolean, f: CompiledField) {
  const kind = f.content === N || f.content === XN ? 'a digit' : f.content === Z ? 'a digit or =' : f.charClass & 4 ? 'printable ASCII' : 'a letter, digit or space';
  const code = f.content === N || f.content === XN || f.content === Z ? E.BAD_DIGIT : E.BAD_CHARACTER;
  return decodeError(code, f.path, f.label, i, `${ebcdic ? 'EBCDIC ' : ''}byte 0x${hex2(buf[i]!)} is not ${kind}`);
}

/** The sign character of an xn amount (one ASCII or EBCDIC byte). */
function sign(buf: Buffer, pos: number, f: CompiledField): string {
  const c = f.encoding === EBCDIC ? EBCDIC_TO_ASCII[buf[pos]!]! : buf[pos]!;
  if ((CHAR_CLASS[c]! & SIGN) === 0) throw decodeError(E.BAD_CHARACTER, f.path, f.label, pos, `sign byte 0x${hex2(buf[pos]!)} is not C or D`);
  return CHAR[c]!;
}

/** Binary data sent as ASCII hex (two characters a byte). */
function hexBytes(buf: Buffer, pos: number, length: number, f: CompiledField): Buffer {
  const value = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const hi = HEX_VALUE[buf[pos + 2 * i]!]!;
    const lo = HEX_VALUE[buf[pos + 2 * i + 1]!]!;
    if ((hi | lo) === 255) throw decodeError(E.BAD_DIGIT, f.path, f.label, pos + 2 * i + (hi === 255 ? 0 : 1), 'not a hex digit');
    value[i] = (hi << 4) | lo;
  }
  return value;
}

/** Eight ASCII hex characters of a bitmap as a 32-bit word. */
function hexWord(buf: Buffer, pos: number): number {
  let word = 0;
  for (let i = 0; i < 8; i++) {
    const v = HEX_VALUE[buf[pos + i]!]!;
    if (v === 255) throw decodeError(E.BAD_BITMAP, 'bitmap', 'bitmap', pos + i, `byte 0x${hex2(buf[pos + i]!)} is not a hex digit`);
    word = (word << 4) | v;
  }
  return word >>> 0;
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function hex1(n: number): string {
  return n.toString(16).toUpperCase();
}
