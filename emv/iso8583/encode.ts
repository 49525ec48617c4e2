/**
 * ISO 8583 encoding: { mti, fields } -> bytes. Synchronous, no I/O. The message's
 * structure (MTI, bitmaps, sub-messages) is written here; each field's value by its
 * interpreter (interpreters/), which checks it as it writes it (a letter in a numeric
 * field, a value longer than the field, a string for a binary field are PosErrors
 * naming the field) and has the field's prefixer (prefixers/) write its length.
 *
 * Hot path notes: one pass writes the message in place into a block shared by many
 * messages (scratch.ts), and the result is a view of those bytes: no copy.
 */
import { PosError } from '../../config/errors.js';
import { HEX_DIGIT } from './charsets.js';
import { compileDialect, type CompiledField, type CompiledFieldSet } from './compile.js';
import { ISO8583_ERRORS as E, encodeError, fieldEncodeError } from './errors.js';
import { Scratch } from './scratch.js';
import type { Dialect } from './spec.js';
import type { IsoFields, IsoMessage } from './message.js';

/** Where messages are written (encoding is synchronous, so one is enough). */
const scratch = new Scratch();

/** Encodes one message (no framing). */
export function encodeIso8583(message: IsoMessage, dialect: Dialect): Buffer {
  const compiled = compileDialect(dialect);
  const mti = message.mti;
  if (typeof mti !== 'string' || mti.length !== 4) throw encodeError(E.BAD_MTI, 'mti', 'MTI', 'must be 4 digits');
  let pos = compiled.mti.interpreter.encode(mti, compiled.mti, scratch, scratch.begin());
  pos = encodeBody(message.fields, compiled.body, pos);
  return scratch.finish(pos);
}

function encodeBody(fields: IsoFields, set: CompiledFieldSet, start: number): number {
  if (typeof fields !== 'object' || fields === null)
    throw new PosError(E.BAD_VALUE, 'ISO 8583 message: fields must be an object of field number -> value');
  if (fields[0] !== undefined || fields[1] !== undefined) {
    throw new PosError(
      E.UNKNOWN_FIELD,
      'ISO 8583: fields 0 and 1 are the MTI and the secondary bitmap, which the encoder writes itself',
      { details: { field: fields[0] !== undefined ? '0' : '1' } },
    );
  }
  // Pass 1: the bitmap, checking every present field is in the dialect. Field numbers
  // are scanned as integers: for..in over integer keys would make a string per key.
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  for (let number = 2; number <= 128; number++) {
    if (fields[number] === undefined) continue;
    if (set.fields[number] === undefined)
      throw new PosError(E.UNKNOWN_FIELD, `ISO 8583: field ${number} is not in this dialect`, {
        details: { field: String(number) },
      });
    const bit = 0x80000000 >>> ((number - 1) & 31);
    if (number <= 32) w0 |= bit;
    else if (number <= 64) w1 |= bit;
    else if (number <= 96) w2 |= bit;
    else w3 |= bit;
  }
  if ((w2 | w3) !== 0) w0 |= 0x80000000;
  let pos = start;
  const words = (w2 | w3) !== 0 ? 4 : 2;
  scratch.ensure(pos, words * 8);
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
  const out = scratch.bytes;
  out[pos] = word >>> 24;
  out[pos + 1] = (word >>> 16) & 0xff;
  out[pos + 2] = (word >>> 8) & 0xff;
  out[pos + 3] = word & 0xff;
  return pos + 4;
}

function writeHexWord(word: number, pos: number): number {
  const out = scratch.bytes;
  for (let shift = 28; shift >= 0; shift -= 4) out[pos++] = HEX_DIGIT[(word >>> shift) & 15]!;
  return pos;
}

function encodeField(value: unknown, f: CompiledField, pos: number): number {
  if (f.sub !== undefined && typeof value === 'object' && value !== null && !(value instanceof Uint8Array))
    return encodeSubMessage(value as IsoFields, f, pos);
  return f.interpreter.encode(value, f, scratch, pos);
}

/** A field that carries its own bitmap and fields: reserve the prefix, encode in place, then write the length. */
function encodeSubMessage(value: IsoFields, f: CompiledField, pos: number): number {
  scratch.ensure(pos, f.prefixBytes);
  const dataStart = pos + f.prefixBytes;
  const dataEnd = encodeBody(value, f.sub!, dataStart);
  const length = dataEnd - dataStart;
  if (length > f.maxLength)
    throw fieldEncodeError(
      E.LENGTH_OVER_MAX,
      f,
      `the subfields take ${length} bytes; the field holds at most ${f.maxLength}`,
    );
  f.prefixer.write(length, f, scratch.bytes, pos);
  return dataEnd;
}
