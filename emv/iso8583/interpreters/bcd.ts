/**
 * Packed BCD (jPOS BCDInterpreter): two digits a byte, for numeric (n) and track (z)
 * content; track data writes its separator '=' as nibble D. An odd number of digits
 * gets the filler nibble 0 on the field's pad side, and the reader refuses any other
 * filler (a value is never guessed: jPOS packs "EFGH" as BCD 5678, we refuse it).
 */
import {
  BCD_PAIR,
  BCD_VALUE,
  CHAR,
  DIGIT_CODE,
  DIGITS3,
  DIGITS4,
  IS_BCD,
  IS_TRACK_BCD,
  TRACK_CODE,
  TRACK_NIBBLE,
} from '../charsets.js';
import { Z } from '../codes.js';
import type { CompiledField } from '../compile.js';
import { ISO8583_ERRORS as E, fieldDecodeError, fieldEncodeError } from '../errors.js';
import { hex2, int } from '../prefixers/prefixer.js';
import { encodeText } from './content.js';
import type { TextInterpreter } from './interpreter.js';

export const bcdInterpreter: TextInterpreter = {
  name: 'bcd',
  dataBytes: bcdBytes,
  sizeSource: (len) => `((${len} + 1) >> 1)`,
  encode: (value, f, out, pos) => encodeText(value, f, out, pos, writeBcd),
  read: (buf, pos, length, f) => bcdValue(buf, pos, length, f),
  writeText: writeBcd,
  readText: (buf, pos, count, f) => bcdValue(buf, pos, count, f),
  snippet(f, site) {
    return shortBcdSnippet(f, site.into) ?? [`${site.into} = bcdValue(buf, pos, ${site.len}, ${site.field});`];
  },
  helpers: {
    BCD_VALUE,
    bcdValue,
    DIGITS1: DIGITS3.slice(0, 10).map((d) => d.slice(2)),
    DIGITS2: DIGITS3.slice(0, 100).map((d) => d.slice(1)),
    DIGITS3,
    DIGITS4,
  },
};

/** Bytes `digits` BCD digits take. */
function bcdBytes(digits: number): number {
  return (digits + 1) >> 1;
}

/** Writes text[from, from + digits) as BCD at out[pos], the filler nibble 0 on the pad side when odd. */
function writeBcd(text: string, from: number, digits: number, f: CompiledField, out: Buffer, pos: number): number {
  const track = f.content === Z;
  let i = from;
  const end = from + digits;
  if ((digits & 1) === 1 && f.padLeft) out[pos++] = nibble(text, i++, track, f);
  while (i + 1 < end) {
    const hi = text.charCodeAt(i) - 48;
    const lo = text.charCodeAt(i + 1) - 48;
    // Both digits (the usual case) in one unsigned compare each; anything else takes the careful path.
    out[pos++] =
      hi >>> 0 <= 9 && lo >>> 0 <= 9
        ? (hi << 4) | lo
        : (nibble(text, i, track, f) << 4) | nibble(text, i + 1, track, f);
    i += 2;
  }
  if (i < end) out[pos++] = nibble(text, i, track, f) << 4;
  return pos;
}

function nibble(text: string, i: number, track: boolean, f: CompiledField): number {
  const d = text.charCodeAt(i) - 48;
  if (d >= 0 && d <= 9) return d;
  if (track && d === 13) return 0xd; // '=' (0x3D) is the track separator, nibble D
  throw fieldEncodeError(E.BAD_DIGIT, f, `character ${i + 1} is not a digit${track ? ' or =' : ''}`);
}

/** `digits` digits packed as BCD at buf[pos], the filler nibble 0 on the field's pad side when odd. */
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
 * eight at a time, then the rest (reads past the end of a typed array are slow in V8, so
 * each remainder reads only its own bytes).
 */
function evenBcd(buf: Buffer, i: number, end: number, track: boolean, f: CompiledField): string {
  const valid = track ? IS_TRACK_BCD : IS_BCD;
  const code = track ? TRACK_CODE : DIGIT_CODE;
  let value = '';
  for (; i + 4 <= end; i += 4) {
    const a = buf[i]!;
    const b = buf[i + 1]!;
    const c = buf[i + 2]!;
    const d = buf[i + 3]!;
    if ((valid[a]! & valid[b]! & valid[c]! & valid[d]!) === 0) throw badBcd(buf, i, track, f);
    value += String.fromCharCode(
      code[a >> 4]!,
      code[a & 15]!,
      code[b >> 4]!,
      code[b & 15]!,
      code[c >> 4]!,
      code[c & 15]!,
      code[d >> 4]!,
      code[d & 15]!,
    );
  }
  if (i === end) return value;
  const a = buf[i]!;
  if (valid[a]! === 0) throw badBcd(buf, i, track, f);
  if (i + 1 === end) return value + (track ? String.fromCharCode(code[a >> 4]!, code[a & 15]!) : BCD_PAIR[a]!);
  const b = buf[i + 1]!;
  if (valid[b]! === 0) throw badBcd(buf, i + 1, track, f);
  // Two bytes of digits (dates, MMDD, n4 codes): a shared string from the table.
  const twoBytes = track
    ? String.fromCharCode(code[a >> 4]!, code[a & 15]!, code[b >> 4]!, code[b & 15]!)
    : DIGITS4[BCD_VALUE[a]! * 100 + BCD_VALUE[b]!]!;
  return i + 2 === end ? value + twoBytes : value + twoBytes + evenBcd(buf, i + 2, end, track, f);
}

/** The refusal for the first byte from `i` on that is not BCD. */
function badBcd(buf: Buffer, i: number, track: boolean, f: CompiledField) {
  const valid = track ? IS_TRACK_BCD : IS_BCD;
  while (valid[buf[i]!] === 1) i++;
  return fieldDecodeError(
    E.BAD_DIGIT,
    f,
    i,
    `byte 0x${hex2(buf[i]!)} is not two BCD digits${track ? ' (or the separator D)' : ''}`,
  );
}

function oneDigit(nibble: number, track: boolean, offset: number, f: CompiledField): string {
  const c = track ? TRACK_NIBBLE[nibble] : nibble <= 9 ? CHAR[48 + nibble] : undefined;
  if (c === undefined)
    throw fieldDecodeError(
      E.BAD_DIGIT,
      f,
      offset,
      `nibble ${nibble.toString(16).toUpperCase()} is not a digit${track ? ' or the separator D' : ''}`,
    );
  return c;
}

function badPadding(f: CompiledField, offset: number, nibble: number) {
  return fieldDecodeError(E.BAD_PADDING, f, offset, `filler nibble is ${nibble.toString(16).toUpperCase()}, not 0`);
}

/**
 * Fixed numeric fields of up to six bytes (dates, times, processing codes, STANs, entry
 * modes, amounts): built from the shared 1- to 4-digit strings, about twice as fast as
 * String.fromCharCode with a character per argument. Undefined for any other field.
 */
function shortBcdSnippet(f: CompiledField, into: string): string[] | undefined {
  if (f.content === Z || f.lengthDigits !== 0 || f.maxLength > 12) return undefined;
  const bytes = (f.maxLength + 1) >> 1;
  const names = Array.from({ length: bytes }, (_, i) => `v${i}`);
  const lines = [
    `const ${names.map((v, i) => `${v} = BCD_VALUE[buf[pos + ${int(i)}]]`).join(', ')};`,
    `if (${names.map((v) => `${v} === 255`).join(' || ')}) throw FAULT;`,
  ];
  const odd = (f.maxLength & 1) === 1;
  if (odd) {
    // The filler nibble must be 0: on the left, the first byte is then 0-9; on the right, the last byte's value is a multiple of 10.
    lines.push(f.padLeft ? 'if (v0 > 9) throw FAULT;' : `if (v${bytes - 1} % 10 !== 0) throw FAULT;`);
  }
  lines.push(`${into} = ${shortBcdParts(names, odd, f.padLeft).join(' + ')};`);
  return lines;
}

/** The table lookups that spell out the bytes `v`: four digits from two bytes, a lone digit from a padded byte. */
function shortBcdParts(v: string[], odd: boolean, padLeft: boolean): string[] {
  if (odd && padLeft && v.length >= 2)
    return [`DIGITS3[${v[0]} * 100 + ${v[1]}]`, ...shortBcdParts(v.slice(2), false, false)];
  if (odd && padLeft) return [`DIGITS1[${v[0]}]`];
  if (odd) {
    const last = v[v.length - 1]!;
    if (v.length === 2) return [`DIGITS3[${v[0]} * 10 + ${last} / 10]`];
    return [...shortBcdParts(v.slice(0, -1), false, false), `DIGITS1[${last} / 10]`];
  }
  const parts: string[] = [];
  for (let i = 0; i < v.length; i += 2)
    parts.push(i + 1 < v.length ? `DIGITS4[${v[i]} * 100 + ${v[i + 1]}]` : `DIGITS2[${v[i]}]`);
  return parts;
}
