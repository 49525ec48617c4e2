/**
 * The checking ISO 8583 decoder: bytes -> { mti, fields }, strict, every fault (a
 * truncated message, a length over the field's maximum, a non-digit in a numeric
 * field or BCD nibble, a bad filler nibble, a bitmap naming a field the dialect lacks,
 * bytes left over) a PosError naming the field and byte offset. A value is never
 * guessed or silently repaired.
 *
 * decodeIso8583 (decode.ts) runs the dialect's generated decoder (decode-fast.ts)
 * first and comes here when that finds any fault, so that the error is this decoder's:
 * the first fault in message order, with its field and offset. It walks the compiled
 * table; each field's prefixer (prefixers/) reads its length and its interpreter
 * (interpreters/) its value, each refusing with the field and offset.
 */
import { compileDialect, type CompiledDialect, type CompiledField, type CompiledFieldSet } from './compile.js';
import { ASCII, BCD } from './codes.js';
import { HEX_VALUE } from './charsets.js';
import { highestField, newFields } from './fields-array.js';
import { ISO8583_ERRORS as E, decodeError, fieldDecodeError } from './errors.js';
import { WholeMessageText, ownText } from './interpreters/text-source.js';
import type { TextSource } from './interpreters/interpreter.js';
import { hex2 } from './prefixers/prefixer.js';
import type { Dialect } from './spec.js';
import type { IsoFields, IsoMessage } from './message.js';

/** One read of one message: where it is, and where its text comes from. */
interface Reading {
  readonly buf: Buffer;
  readonly source: TextSource;
  /** Where the last readBody() stopped. */
  pos: number;
}

/** Decodes one whole message (no framing), throwing a PosError at its first fault. */
export function decodeChecked(buf: Buffer, compiled: CompiledDialect): IsoMessage {
  const end = buf.length;
  const mtiBytes = compiled.mtiEncoding === BCD ? 2 : 4;
  if (end < mtiBytes)
    throw decodeError(E.TRUNCATED, 'mti', 'MTI', 0, `needs ${mtiBytes} bytes, the message has ${end}`);
  // A text dialect (ASCII MTI) is mostly text: one string of the whole message pays off.
  const reading: Reading = { buf, source: compiled.mtiEncoding === ASCII ? new WholeMessageText() : ownText, pos: 0 };
  const mti = compiled.mti.interpreter.read(buf, 0, 4, compiled.mti, reading.source) as string;
  const fields = readBody(reading, mtiBytes, end, compiled.body);
  if (reading.pos !== end)
    throw decodeError(
      E.TRAILING_BYTES,
      'message',
      'message',
      reading.pos,
      `${end - reading.pos} bytes are left after the last field the bitmap names`,
    );
  return { mti, fields };
}

/** The checking decoder alone (for tests that hold the two decoders to the same results). */
export function decodeIso8583Checked(data: Buffer, dialect: Dialect): IsoMessage {
  return decodeChecked(data, compileDialect(dialect));
}

/** Reads a bitmap and the fields it names from buf[start, end); sets reading.pos to the offset after the last one. */
function readBody(reading: Reading, start: number, end: number, set: CompiledFieldSet): IsoFields {
  const buf = reading.buf;
  let pos = start;
  const bitmapBytes = set.bitmapHex ? 16 : 8;
  if (pos + bitmapBytes > end)
    throw decodeError(E.TRUNCATED, 'bitmap', 'primary bitmap', pos, `needs ${bitmapBytes} bytes, ${end - pos} left`);
  const w0 = set.bitmapHex ? hexWord(buf, pos) : u32(buf, pos);
  const w1 = set.bitmapHex ? hexWord(buf, pos + 8) : u32(buf, pos + 4);
  pos += bitmapBytes;
  let w2 = 0;
  let w3 = 0;
  if ((w0 & 0x80000000) !== 0) {
    if (!set.hasSecondary)
      throw decodeError(
        E.UNKNOWN_FIELD,
        '1',
        'bitmap',
        pos - bitmapBytes,
        'bit 1 announces a secondary bitmap, but this dialect has no field above 64',
      );
    if (pos + bitmapBytes > end)
      throw decodeError(E.TRUNCATED, '1', 'secondary bitmap', pos, `needs ${bitmapBytes} bytes, ${end - pos} left`);
    w2 = set.bitmapHex ? hexWord(buf, pos) : u32(buf, pos);
    w3 = set.bitmapHex ? hexWord(buf, pos + 8) : u32(buf, pos + 4);
    pos += bitmapBytes;
  }
  const out = newFields(highestField(w0 & 0x7fffffff, w1, w2, w3));
  const words = [w0 & 0x7fffffff, w1, w2, w3];
  for (let k = 0; k < 4; k++) {
    let word = words[k]!;
    while (word !== 0) {
      const bit = Math.clz32(word);
      word &= ~(0x80000000 >>> bit);
      const number = k * 32 + bit + 1;
      const field = set.fields[number];
      if (field === undefined) throw unknownField(set, number, start);
      pos = readField(reading, pos, end, field, out, number);
    }
  }
  reading.pos = pos;
  return out;
}

/** Big-endian 32-bit word (bounds already checked). */
function u32(buf: Buffer, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
}

/** Reads field `number` (spec `f`) at buf[pos] into out[number]; returns the offset after it. */
function readField(
  reading: Reading,
  pos: number,
  end: number,
  f: CompiledField,
  out: IsoFields,
  number: number,
): number {
  let length = f.maxLength;
  if (f.prefixBytes !== 0) {
    if (pos + f.prefixBytes > end) throw truncatedPrefix(f, pos, end);
    length = f.prefixer.read(reading.buf, pos, f);
    if (length > f.maxLength) throw overMaximum(f, pos, length);
    pos += f.prefixBytes;
  }
  const size = f.interpreter.dataBytes(length);
  if (pos + size > end) throw truncated(f, pos, size, end);
  if (f.sub !== undefined) {
    out[number] = readBody(reading, pos, pos + size, f.sub);
    if (reading.pos !== pos + size) throw subfieldsLeftOver(f, reading.pos, pos + size);
  } else {
    out[number] = f.interpreter.read(reading.buf, pos, length, f, reading.source);
  }
  return pos + size;
}

function unknownField(set: CompiledFieldSet, number: number, bitmapOffset: number) {
  const offset = bitmapOffset + ((number - 1) >> 6) * (set.bitmapHex ? 16 : 8);
  return decodeError(
    E.UNKNOWN_FIELD,
    String(number),
    'bitmap',
    offset,
    `names field ${number}, which this dialect does not define`,
  );
}

function truncated(f: CompiledField, pos: number, needed: number, end: number) {
  return fieldDecodeError(E.TRUNCATED, f, pos, `needs ${needed} bytes, ${end - pos} left`);
}

function truncatedPrefix(f: CompiledField, pos: number, end: number) {
  return fieldDecodeError(E.TRUNCATED, f, pos, `its length prefix needs ${f.prefixBytes} bytes, ${end - pos} left`);
}

function overMaximum(f: CompiledField, pos: number, length: number) {
  return fieldDecodeError(E.LENGTH_OVER_MAX, f, pos, `length ${length} is over the field's maximum ${f.maxLength}`);
}

function subfieldsLeftOver(f: CompiledField, subEnd: number, end: number) {
  return fieldDecodeError(
    E.TRAILING_BYTES,
    f,
    subEnd,
    `${end - subEnd} bytes are left after the last subfield its bitmap names`,
  );
}

/** Eight ASCII hex characters of a bitmap as a 32-bit word. */
export function hexWord(buf: Buffer, pos: number): number {
  let word = 0;
  for (let i = 0; i < 8; i++) {
    const v = HEX_VALUE[buf[pos + i]!]!;
    if (v === 255)
      throw decodeError(E.BAD_BITMAP, 'bitmap', 'bitmap', pos + i, `byte 0x${hex2(buf[pos + i]!)} is not a hex digit`);
    word = (word << 4) | v;
  }
  return word >>> 0;
}
