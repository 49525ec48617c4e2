/**
 * The checking ISO 8583 decoder: bytes -> { mti, fields }, strict, every fault (a
 * truncated message, a length over the field's maximum, a non-digit in a numeric
 * field or BCD nibble, a bad filler nibble, a bitmap naming a field the dialect lacks,
 * bytes left over) a PosError naming the field and byte offset. A value is never
 * guessed or silently repaired (jPOS packs "EFGH" as BCD 5678; we refuse to read
 * anything but digits).
 *
 * decodeIso8583 (decode.ts) runs the dialect's generated decoder (decode-fast.ts)
 * first and comes here when that finds any fault, so that the error is this decoder's:
 * the first fault in message order, with its field and offset. This file also lends
 * the generated decoder its field readers for the rarer field kinds (BCD, hex, sub-
 * bitmaps, EBCDIC, signed amounts).
 *
 * It is fast in its own right (it was the only decoder until the generated one): field
 * specs are precompiled (compile.ts); in text dialects fields are cut from one latin1
 * string of the whole message (latin1Text); BCD values are built with as few
 * String.fromCharCode calls as possible and 2-4 digit values come from shared tables;
 * the bitmap is walked with Math.clz32; fields go into a sparse array.
 */
import { BCD_PAIR, BCD_VALUE, CHAR, CHAR_CLASS, DIGITS3, DIGITS4, PRINTABLE, DIGIT_CODE, EBCDIC_TO_ASCII, HEX_VALUE, IS_BCD, IS_TRACK_BCD, SIGN, TRACK_CODE, TRACK_NIBBLE } from './charsets.js';
import { ASCII, B, BCD, BINARY, EBCDIC, N, XN, Z, type CompiledDialect, type CompiledField, type CompiledFieldSet } from './compile.js';
import { ISO8583_ERRORS as E, decodeError } from './errors.js';
import { bufferView, newBuffer } from '../buffer-view.js';
import type { IsoFields, IsoMessage } from './message.js';

/** Decodes one whole message (no framing), throwing a PosError at its first fault. */
export function decodeChecked(buf: Buffer, compiled: CompiledDialect): IsoMessage {
  const end = buf.length;
  const mtiBytes = compiled.mtiEncoding === BCD ? 2 : 4;
  if (end < mtiBytes) throw decodeError(E.TRUNCATED, 'mti', 'MTI', 0, `needs ${mtiBytes} bytes, the message has ${end}`);
  const mti = compiled.mtiEncoding === BCD ? bcdDigits(buf, 0, 2, 'mti', 'MTI') : textDigits(buf, 0, compiled.mtiEncoding === EBCDIC, 'mti', 'MTI');
  // A text dialect (ASCII MTI) is mostly text: one slice of the whole message pays off.
  // A binary dialect has a few short text fields, cheaper built on their own.
  textFromWhole = compiled.mtiEncoding === ASCII;
  try {
    const fields = decodeBody(buf, mtiBytes, end, compiled.body);
    const pos = bodyEnd;
    if (pos !== end) throw decodeError(E.TRAILING_BYTES, 'message', 'message', pos, `${end - pos} bytes are left after the last field the bitmap names`);
    return { mti, fields };
  } finally {
    // The caches belong to this call: a caller may reuse the same Buffer for the next message.
    wholeOf = undefined;
    wholeLatin1 = '';
    textFromWhole = false;
  }
}

/**
 * Decodes field `number` (spec `f`) at buf[pos] into out[number] and returns the offset
 * after it: the generated decoder's reader for field kinds it does not specialize.
 * Its text is built on its own, never cut from a whole-message string.
 */
export function decodeOneField(buf: Buffer, pos: number, end: number, f: CompiledField, out: IsoFields, number: number): number {
  return decodeField(buf, pos, end, f, out, number);
}

/**
 * Field text is cut from one string of the whole message, made on first need:
 * one native slice and then V8 substrings is several times cheaper than building
 * each field's string from its bytes (measured: 3x for a message's worth of fields).
 * Bytes are always validated first; the strings only save the copying.
 */
let wholeOf: Buffer | undefined;
let wholeLatin1 = '';
let textFromWhole = false;

/** buf[start, end) as latin1 text of a validated field: cut from the whole message or built on its own. */
export function fieldText(buf: Buffer, start: number, end: number): string {
  if (textFromWhole) return latin1Text(buf, start, end);
  const length = end - start;
  if (length > 16) return buf.toString('latin1', start, end);
  return length > 8 ? shortLatin1(buf, start, 8) + shortLatin1(buf, start + 8, length - 8) : shortLatin1(buf, start, length);
}

/** buf[start, end) as latin1 text (validated ASCII by the caller). */
function latin1Text(buf: Buffer, start: number, end: number): string {
  if (wholeOf !== buf) {
    wholeOf = buf;
    wholeLatin1 = '';
  }
  if (wholeLatin1 === '') wholeLatin1 = buf.toString('latin1');
  return wholeLatin1.substring(start, end);
}


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

/** Where the last decodeBody() stopped (a module variable, so no result object is made per call). */
let bodyEnd = 0;

/** Decodes a bitmap and the fields it names from buf[start, end); sets bodyEnd to the offset after the last one. */
function decodeBody(buf: Buffer, start: number, end: number, set: CompiledFieldSet): IsoFields {
  let pos = start;
  const bitmapBytes = set.bitmapHex ? 16 : 8;
  if (pos + bitmapBytes > end) throw decodeError(E.TRUNCATED, 'bitmap', 'primary bitmap', pos, `needs ${bitmapBytes} bytes, ${end - pos} left`);
  const w0 = set.bitmapHex ? hexWord(buf, pos) : u32(buf, pos);
  const w1 = set.bitmapHex ? hexWord(buf, pos + 8) : u32(buf, pos + 4);
  pos += bitmapBytes;
  let w2 = 0;
  let w3 = 0;
  if ((w0 & 0x80000000) !== 0) {
    if (!set.hasSecondary) throw decodeError(E.UNKNOWN_FIELD, '1', 'bitmap', pos - bitmapBytes, 'bit 1 announces a secondary bitmap, but this dialect has no field above 64');
    if (pos + bitmapBytes > end) throw decodeError(E.TRUNCATED, '1', 'secondary bitmap', pos, `needs ${bitmapBytes} bytes, ${end - pos} left`);
    w2 = set.bitmapHex ? hexWord(buf, pos) : u32(buf, pos);
    w3 = set.bitmapHex ? hexWord(buf, pos + 8) : u32(buf, pos + 4);
    pos += bitmapBytes;
  }
  const out = newFields(highestField(w0 & 0x7fffffff, w1, w2, w3));
  pos = decodeWord(buf, pos, end, set, out, w0 & 0x7fffffff, 0, start);
  pos = decodeWord(buf, pos, end, set, out, w1, 32, start);
  if (w2 !== 0) pos = decodeWord(buf, pos, end, set, out, w2, 64, start);
  if (w3 !== 0) pos = decodeWord(buf, pos, end, set, out, w3, 96, start);
  bodyEnd = pos;
  return out;
}

/** Big-endian 32-bit word (bounds already checked). */
function u32(buf: Buffer, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
}

/** Decodes the fields named by one 32-bit bitmap word whose first bit is field `base + 1`. */
function decodeWord(buf: Buffer, pos: number, end: number, set: CompiledFieldSet, out: IsoFields, word: number, base: number, bitmapOffset: number): number {
  while (word !== 0) {
    const bit = Math.clz32(word);
    word &= ~(0x80000000 >>> bit);
    const number = base + bit + 1;
    const field = set.fields[number];
    if (field === undefined) throw unknownField(set, number, bitmapOffset);
    pos = decodeField(buf, pos, end, field, out, number);
  }
  return pos;
}

function decodeField(buf: Buffer, pos: number, end: number, f: CompiledField, out: IsoFields, number: number): number {
  if (f.fixedBcdNumeric) {
    const size = f.fixedBytes;
    if (pos + size > end) throw truncated(f, pos, size, end);
    out[number] = bcdValue(buf, pos, f.maxLength, f);
    return pos + size;
  }
  if (f.fixedAsciiNumeric) {
    const size = f.fixedBytes;
    if (pos + size > end) throw truncated(f, pos, size, end);
    out[number] = asciiDigits(buf, pos, size, f);
    return pos + size;
  }
  let length = f.maxLength;
  if (f.lengthDigits !== 0) {
    if (pos + f.prefixBytes > end) throw truncatedPrefix(f, pos, end);
    length = readLength(buf, pos, f);
    if (length > f.maxLength) throw overMaximum(f, pos, length);
    pos += f.prefixBytes;
  }
  const enc = f.encoding;
  const size =
    enc === BCD ? (length + 1) >> 1 : enc === BINARY ? length : enc === ASCII || enc === EBCDIC ? length : length * 2; // HEX: two characters a byte
  const total = f.content === XN ? size + 1 : size;
  if (pos + total > end) throw truncated(f, pos, total, end);
  const content = f.content;
  if (content === B) {
    if (enc === BINARY) {
      if (f.sub !== undefined) {
        const sub = decodeBody(buf, pos, pos + size, f.sub);
        const subEnd = bodyEnd;
        if (subEnd !== pos + size) throw subfieldsLeftOver(f, subEnd, pos + size);
        out[number] = sub;
      } else {
        // A view, not a copy (like emv/tlv): copy it if the input buffer will be reused.
        out[number] = bufferView(buf, pos, pos + size);
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
    out[number] = bcdValue(buf, pos, length, f);
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

// Errors are built in small functions of their own so the hot functions stay small
// enough for V8 to inline.

function unknownField(set: CompiledFieldSet, number: number, bitmapOffset: number) {
  const offset = bitmapOffset + ((number - 1) >> 6) * (set.bitmapHex ? 16 : 8);
  return decodeError(E.UNKNOWN_FIELD, String(number), 'bitmap', offset, `names field ${number}, which this dialect does not define`);
}

function truncated(f: CompiledField, pos: number, needed: number, end: number) {
  return decodeError(E.TRUNCATED, f.path, f.label, pos, `needs ${needed} bytes, ${end - pos} left`);
}

function truncatedPrefix(f: CompiledField, pos: number, end: number) {
  return decodeError(E.TRUNCATED, f.path, f.label, pos, `its length prefix needs ${f.prefixBytes} bytes, ${end - pos} left`);
}

function overMaximum(f: CompiledField, pos: number, length: number) {
  return decodeError(E.LENGTH_OVER_MAX, f.path, f.label, pos, `length ${length} is over the field's maximum ${f.maxLength}`);
}

function subfieldsLeftOver(f: CompiledField, subEnd: number, end: number) {
  return decodeError(E.TRAILING_BYTES, f.path, f.label, subEnd, `${end - subEnd} bytes are left after the last subfield its bitmap names`);
}

function badPadding(f: CompiledField, offset: number, nibble: number) {
  return decodeError(E.BAD_PADDING, f.path, f.label, offset, `filler nibble is ${hex1(nibble)}, not 0`);
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

/**
 * `digits` digits packed as BCD at buf[pos], with the filler nibble 0 on the field's
 * pad side when odd. Track data (z) reads nibble D as the separator '='.
 */
export function bcdValue(buf: Buffer, pos: number, digits: number, f: CompiledField): string {
  const track = f.content === Z;
  if ((digits & 1) === 0) return evenBcd(buf, pos, pos + (digits >> 1), track, f);
  if (f.padLeft) {
    const a = buf[pos]!;
    if (a >> 4 !== 0) throw badPadding(f, pos, a >> 4);
    if (digits === 3 && !track) {
      // n3 (entry mode, card sequence number, NII, country codes): a shared string from the table.
      const low = BCD_VALUE[buf[pos + 1]!]!;
      if ((a & 15) <= 9 && low !== 255) return DIGITS3[(a & 15) * 100 + low]!;
    }
    return oneDigit(a & 15, track, pos, f) + evenBcd(buf, pos + 1, pos + 1 + (digits >> 1), track, f);
  }
  const last = pos + (digits >> 1);
  const b = buf[last]!;
  if ((b & 15) !== 0) throw badPadding(f, last, b & 15);
  return evenBcd(buf, pos, last, track, f) + oneDigit(b >> 4, track, last, f);
}

/**
 * The bytes buf[i, end) as two characters each. Building strings is the cost here, not
 * the checks, so characters go out in as few String.fromCharCode calls as possible:
 * sixteen at a time, then the rest in one call (each remainder length has its own case,
 * reading only its own bytes: reads past the end of a typed array are slow in V8).
 */
function evenBcd(buf: Buffer, i: number, end: number, track: boolean, f: CompiledField): string {
  const valid = track ? IS_TRACK_BCD : IS_BCD;
  const code = track ? TRACK_CODE : DIGIT_CODE;
  let value = '';
  for (; i + 8 <= end; i += 8) {
    const a = buf[i]!;
    const b = buf[i + 1]!;
    const c = buf[i + 2]!;
    const d = buf[i + 3]!;
    const e = buf[i + 4]!;
    const g = buf[i + 5]!;
    const h = buf[i + 6]!;
    const k = buf[i + 7]!;
    if ((valid[a]! & valid[b]! & valid[c]! & valid[d]! & valid[e]! & valid[g]! & valid[h]! & valid[k]!) === 0) throw badBcd(buf, i, track, f);
    value += String.fromCharCode(
      code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!, code[c >> 4]!, code[c & 15]!, code[d >> 4]!, code[d & 15]!,
      code[e >> 4]!, code[e & 15]!, code[g >> 4]!, code[g & 15]!, code[h >> 4]!, code[h & 15]!, code[k >> 4]!, code[k & 15]!,
    );
  }
  switch (end - i) {
    case 0:
      return value;
    case 1: {
      const a = buf[i]!;
      if (valid[a]! === 0) throw badBcd(buf, i, track, f);
      return value + (track ? String.fromCharCode(code[a >> 4]!, code[a & 15]!) : BCD_PAIR[a]!);
    }
    case 2: {
      const a = buf[i]!;
      const b = buf[i + 1]!;
      if ((valid[a]! & valid[b]!) === 0) throw badBcd(buf, i, track, f);
      // Two bytes of digits (dates, MMDD, n4 codes): a shared string from the table.
      return value + (track ? String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!) : DIGITS4[BCD_VALUE[a]! * 100 + BCD_VALUE[b]!]!);
    }
    case 3: {
      const a = buf[i]!;
      const b = buf[i + 1]!;
      const c = buf[i + 2]!;
      if ((valid[a]! & valid[b]! & valid[c]!) === 0) throw badBcd(buf, i, track, f);
      return value + String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!, code[c >> 4]!, code[c & 15]!);
    }
    case 4: {
      const a = buf[i]!;
      const b = buf[i + 1]!;
      const c = buf[i + 2]!;
      const d = buf[i + 3]!;
      if ((valid[a]! & valid[b]! & valid[c]! & valid[d]!) === 0) throw badBcd(buf, i, track, f);
      return value + String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!, code[c >> 4]!, code[c & 15]!, code[d >> 4]!, code[d & 15]!);
    }
    case 5: {
      const a = buf[i]!;
      const b = buf[i + 1]!;
      const c = buf[i + 2]!;
      const d = buf[i + 3]!;
      const e = buf[i + 4]!;
      if ((valid[a]! & valid[b]! & valid[c]! & valid[d]! & valid[e]!) === 0) throw badBcd(buf, i, track, f);
      return value + String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!, code[c >> 4]!, code[c & 15]!, code[d >> 4]!, code[d & 15]!, code[e >> 4]!, code[e & 15]!);
    }
    case 6: {
      const a = buf[i]!;
      const b = buf[i + 1]!;
      const c = buf[i + 2]!;
      const d = buf[i + 3]!;
      const e = buf[i + 4]!;
      const g = buf[i + 5]!;
      if ((valid[a]! & valid[b]! & valid[c]! & valid[d]! & valid[e]! & valid[g]!) === 0) throw badBcd(buf, i, track, f);
      return value + String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!, code[c >> 4]!, code[c & 15]!, code[d >> 4]!, code[d & 15]!, code[e >> 4]!, code[e & 15]!, code[g >> 4]!, code[g & 15]!);
    }
    default: {
      // 7 bytes: 8 + 6 characters (rare enough not to need its own call).
      const a = buf[i]!;
      const b = buf[i + 1]!;
      const c = buf[i + 2]!;
      const d = buf[i + 3]!;
      if ((valid[a]! & valid[b]! & valid[c]! & valid[d]!) === 0) throw badBcd(buf, i, track, f);
      value += String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!, code[c >> 4]!, code[c & 15]!, code[d >> 4]!, code[d & 15]!);
      return value + evenBcd(buf, i + 4, end, track, f);
    }
  }
}

/** The error for the first byte from `i` on that is not BCD. */
function badBcd(buf: Buffer, i: number, track: boolean, f: CompiledField) {
  const valid = track ? IS_TRACK_BCD : IS_BCD;
  while (valid[buf[i]!] === 1) i++;
  return decodeError(E.BAD_DIGIT, f.path, f.label, i, `byte 0x${hex2(buf[i]!)} is not two BCD digits${track ? ' (or the separator D)' : ''}`);
}

function oneDigit(nibble: number, track: boolean, offset: number, f: CompiledField): string {
  const c = track ? TRACK_NIBBLE[nibble] : nibble <= 9 ? CHAR[48 + nibble] : undefined;
  if (c === undefined) throw decodeError(E.BAD_DIGIT, f.path, f.label, offset, `nibble ${hex1(nibble)} is not a digit${track ? ' or the separator D' : ''}`);
  return c;
}

/** An MTI as BCD (two bytes). */
export function bcdDigits(buf: Buffer, pos: number, bytes: number, path: string, where: string): string {
  for (let i = pos; i < pos + bytes; i++) {
    if (IS_BCD[buf[i]!] === 0) throw decodeError(E.BAD_DIGIT, path, where, i, `byte 0x${hex2(buf[i]!)} is not two BCD digits`);
  }
  return DIGITS4[BCD_VALUE[buf[pos]!]! * 100 + BCD_VALUE[buf[pos + 1]!]!]!;
}

/** `length` ASCII digits; up to four come from the shared tables instead of a new string. */
function asciiDigits(buf: Buffer, pos: number, length: number, f: CompiledField): string {
  let value = 0;
  for (let i = pos; i < pos + length; i++) {
    const d = buf[i]! - 48;
    if (d >>> 0 > 9) throw badCharacter(buf, i, false, f);
    if (length <= 4) value = value * 10 + d;
  }
  if (length === 4) return DIGITS4[value]!;
  if (length === 3) return DIGITS3[value]!;
  if (length < 3) return shortLatin1(buf, pos, length);
  return fieldText(buf, pos, pos + length);
}

/** A 4-digit MTI as ASCII or EBCDIC digits (a shared string from the table). */
export function textDigits(buf: Buffer, pos: number, ebcdic: boolean, path: string, where: string): string {
  let value = 0;
  for (let i = pos; i < pos + 4; i++) {
    const c = ebcdic ? EBCDIC_TO_ASCII[buf[i]!]! : buf[i]!;
    if (c < 0x30 || c > 0x39) throw decodeError(E.BAD_DIGIT, path, where, i, `byte 0x${hex2(buf[i]!)} is not a digit`);
    value = value * 10 + (c - 0x30);
  }
  return DIGITS4[value]!;
}

/** `length` ASCII or EBCDIC characters, each in one of the classes `allowed`. */
function text(buf: Buffer, pos: number, length: number, ebcdic: boolean, allowed: number, f: CompiledField): string {
  const end = pos + length;
  if (ebcdic) {
    let value = '';
    for (let i = pos; i < end; i++) {
      const c = EBCDIC_TO_ASCII[buf[i]!]!;
      if ((CHAR_CLASS[c]! & allowed) === 0) throw badCharacter(buf, i, ebcdic, f);
      value += CHAR[c]!;
    }
    return value;
  }
  if (length > 64) {
    // Long text (DE55 as hex text in iso87a, DE46-48): check a word at a time, or one regex pass.
    if (allowed === PRINTABLE) {
      if (allPrintable(buf, pos, end)) return fieldText(buf, pos, end);
    } else {
      const value = fieldText(buf, pos, end);
      if (f.pattern.test(value)) return value;
    }
  } else {
    let i = pos;
    while (i < end && (CHAR_CLASS[buf[i]!]! & allowed) !== 0) i++;
    if (i === end) return length < 3 ? shortLatin1(buf, pos, length) : fieldText(buf, pos, end);
  }
  let i = pos;
  while ((CHAR_CLASS[buf[i]!]! & allowed) !== 0) i++;
  throw badCharacter(buf, i, ebcdic, f);
}

/** A 32-bit view of the last input's memory, so long runs can be checked four bytes at a time. */
let wordsOf: ArrayBufferLike | undefined;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * True when every byte of buf[start, end) is printable ASCII (0x20-0x7E). Aligned words
 * are tested with the "has a byte less than / more than" bit tricks (exact for existence;
 * Bit Twiddling Hacks, hasless/hasmore), the ragged ends byte by byte.
 */
function allPrintable(buf: Buffer, start: number, end: number): boolean {
  const base = buf.byteOffset;
  let i = start;
  for (; i < end && ((base + i) & 3) !== 0; i++) if (buf[i]! < 0x20 || buf[i]! > 0x7e) return false;
  const firstWord = (base + i) >>> 2;
  const endWord = (base + end) >>> 2;
  if (endWord > firstWord) {
    if (buf.buffer !== wordsOf) {
      wordsOf = buf.buffer;
      words = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
    }
    let bad = 0;
    for (let w = firstWord; w < endWord; w++) {
      const x = words[w]!;
      bad |= ((x - 0x20202020) & ~x) | ((x + 0x01010101) | x);
    }
    if ((bad & 0x80808080) !== 0) return false;
    i = endWord * 4 - base;
  }
  for (; i < end; i++) if (buf[i]! < 0x20 || buf[i]! > 0x7e) return false;
  return true;
}

/**
 * Up to eight bytes as a string, in one String.fromCharCode call: for short values this
 * beats a native conversion, whose fixed cost dominates.
 */
function shortLatin1(buf: Buffer, i: number, length: number): string {
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
      return String.fromCharCode(buf[i]!, buf[i + 1]!, buf[i + 2]!, buf[i + 3]!, buf[i + 4]!, buf[i + 5]!, buf[i + 6]!, buf[i + 7]!);
  }
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
export function hexBytes(buf: Buffer, pos: number, length: number, f: CompiledField): Buffer {
  const value = newBuffer(length);
  for (let i = 0; i < length; i++) {
    const hi = HEX_VALUE[buf[pos + 2 * i]!]!;
    const lo = HEX_VALUE[buf[pos + 2 * i + 1]!]!;
    if ((hi | lo) === 255) throw decodeError(E.BAD_DIGIT, f.path, f.label, pos + 2 * i + (hi === 255 ? 0 : 1), 'not a hex digit');
    value[i] = (hi << 4) | lo;
  }
  return value;
}

/** Eight ASCII hex characters of a bitmap as a 32-bit word. */
export function hexWord(buf: Buffer, pos: number): number {
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
