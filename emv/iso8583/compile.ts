/**
 * Turns a dialect (data) into the form the codec runs on: field specs checked once
 * and flattened into small numeric codes in an array indexed by field number, so
 * encoding and decoding never look at strings or re-validate options per message.
 * Compiled forms are cached per dialect object.
 */
import { PosError } from '../../config/errors.js';
import { DIGIT, LETTER_OR_SPACE, PRINTABLE, TRACK_SEPARATOR } from './charsets.js';
import { ISO8583_ERRORS } from './errors.js';
import type { Dialect, FieldSpec, FieldTable, BitmapEncoding } from './spec.js';

// Content kinds.
export const N = 0;
export const Z = 1;
export const XN = 2;
export const AN = 3;
export const ANS = 4;
export const B = 5;

// Data and prefix encodings.
export const BCD = 0;
export const ASCII = 1;
export const EBCDIC = 2;
export const BINARY = 3;
export const HEX = 4;

const CONTENT_CODES = { n: N, z: Z, xn: XN, an: AN, ans: ANS, b: B } as const;
const ENCODING_CODES = { bcd: BCD, ascii: ASCII, ebcdic: EBCDIC, binary: BINARY, hex: HEX } as const;
const LENGTH_DIGITS = { fixed: 0, LL: 2, LLL: 3, LLLL: 4, LLLLLL: 6 } as const;

/** Which data encodings each content type may use. */
const ALLOWED_ENCODINGS: Record<FieldSpec['content'], readonly FieldSpec['encoding'][]> = {
  n: ['bcd', 'ascii', 'ebcdic'],
  z: ['bcd', 'ascii', 'ebcdic'],
  xn: ['bcd', 'ascii', 'ebcdic'],
  an: ['ascii', 'ebcdic'],
  ans: ['ascii', 'ebcdic'],
  b: ['binary', 'hex'],
};

export class CompiledField {
  constructor(
    /** "35", or "127.25" inside a sub-message. */
    readonly path: string,
    /** "field 35 (Track 2 data)", for messages. */
    readonly label: string,
    readonly name: string,
    readonly content: number,
    readonly encoding: number,
    readonly maxLength: number,
    /** 0 for a fixed field. */
    readonly lengthDigits: number,
    readonly lengthEncoding: number,
    /** Bytes the length prefix takes (0 for fixed). */
    readonly prefixBytes: number,
    readonly padLeft: boolean,
    /** Character classes (charsets.ts) a text or ASCII/EBCDIC numeric character must belong to. */
    readonly charClass: number,
    readonly sub: CompiledFieldSet | undefined,
    /** The same rule as `charClass`, for checking long strings in one native pass. */
    readonly pattern: RegExp,
  ) {
    this.fixedBcdNumeric = lengthDigits === 0 && encoding === BCD && content === N;
    this.fixedAsciiNumeric = lengthDigits === 0 && encoding === ASCII && content === N;
    this.fixedBytes = encoding === BCD ? (maxLength + 1) >> 1 : encoding === HEX ? maxLength * 2 : maxLength;
  }

  /** A fixed-length BCD numeric: most fields of a binary dialect, so the decoder reads them first. */
  readonly fixedBcdNumeric: boolean;
  /** A fixed-length ASCII numeric: most fields of an ASCII dialect. */
  readonly fixedAsciiNumeric: boolean;
  /** Bytes the data of a fixed field takes (without an xn sign). */
  readonly fixedBytes: number;
}

export interface CompiledFieldSet {
  bitmapHex: boolean;
  /** Index = field number (2..128); undefined where the table has no such field. */
  fields: (CompiledField | undefined)[];
  /** True when the table defines a field above 64, so a secondary bitmap may appear. */
  hasSecondary: boolean;
}

export interface CompiledDialect {
  dialect: Dialect;
  mtiEncoding: number;
  body: CompiledFieldSet;
}

const cache = new WeakMap<Dialect, CompiledDialect>();

let lastDialect: Dialect | undefined;
let lastCompiled: CompiledDialect | undefined;

/** The compiled form of `dialect`, checking it on first use (PosError CODPOS_ISO8583_BAD_DIALECT). */
export function compileDialect(dialect: Dialect): CompiledDialect {
  // Most callers use one dialect all day: skip the WeakMap for the last one.
  if (dialect === lastDialect) return lastCompiled!;
  const compiled = compileCached(dialect);
  lastDialect = dialect;
  lastCompiled = compiled;
  return compiled;
}

function compileCached(dialect: Dialect): CompiledDialect {
  let compiled = cache.get(dialect);
  if (compiled === undefined) {
    const mtiEncoding = ENCODING_CODES[dialect.mtiEncoding as 'bcd'];
    if (mtiEncoding === undefined || mtiEncoding > EBCDIC) bad(dialect.name, 'mtiEncoding', `must be bcd, ascii or ebcdic, not ${String(dialect.mtiEncoding)}`);
    compiled = { dialect, mtiEncoding, body: compileSet(dialect.name, dialect.bitmapEncoding, dialect.fields, '') };
    cache.set(dialect, compiled);
  }
  return compiled;
}

function compileSet(dialectName: string, bitmapEncoding: BitmapEncoding, table: FieldTable, pathPrefix: string): CompiledFieldSet {
  if (bitmapEncoding !== 'binary' && bitmapEncoding !== 'hex') bad(dialectName, `${pathPrefix}bitmapEncoding`, `must be binary or hex, not ${String(bitmapEncoding)}`);
  const fields: (CompiledField | undefined)[] = new Array(129).fill(undefined);
  let hasSecondary = false;
  for (const [key, spec] of Object.entries(table)) {
    const number = Number(key);
    if (!Number.isInteger(number) || number < 2 || number > 128) bad(dialectName, pathPrefix + key, 'field numbers run from 2 to 128 (1 is the secondary bitmap)');
    fields[number] = compileField(dialectName, pathPrefix + key, spec);
    if (number > 64) hasSecondary = true;
  }
  return { bitmapHex: bitmapEncoding === 'hex', fields, hasSecondary };
}

function compileField(dialectName: string, path: string, spec: FieldSpec): CompiledField {
  const where = `field ${path}`;
  if (typeof spec !== 'object' || spec === null) bad(dialectName, where, 'is not a field spec');
  const content = CONTENT_CODES[spec.content];
  if (content === undefined) bad(dialectName, where, `content must be one of n, z, xn, an, ans, b, not ${String(spec.content)}`);
  if (!ALLOWED_ENCODINGS[spec.content].includes(spec.encoding)) {
    bad(dialectName, where, `content ${spec.content} can be encoded as ${ALLOWED_ENCODINGS[spec.content].join(', ')}, not ${String(spec.encoding)}`);
  }
  const encoding = ENCODING_CODES[spec.encoding];
  const lengthDigits = LENGTH_DIGITS[spec.lengthType];
  if (lengthDigits === undefined) bad(dialectName, where, `lengthType must be fixed, LL, LLL, LLLL or LLLLLL, not ${String(spec.lengthType)}`);
  if (!Number.isInteger(spec.maxLength) || spec.maxLength < 1) bad(dialectName, where, `maxLength must be a positive integer, not ${String(spec.maxLength)}`);
  let lengthEncoding = -1;
  let prefixBytes = 0;
  if (lengthDigits > 0) {
    if (spec.lengthEncoding === undefined || !(spec.lengthEncoding in ENCODING_CODES) || spec.lengthEncoding === ('hex' as string)) {
      bad(dialectName, where, `a ${spec.lengthType} field needs lengthEncoding bcd, ascii, ebcdic or binary`);
    }
    lengthEncoding = ENCODING_CODES[spec.lengthEncoding];
    prefixBytes = lengthEncoding === BCD ? (lengthDigits + 1) >> 1 : lengthEncoding === BINARY ? binaryPrefixBytes(lengthDigits) : lengthDigits;
    const largest = lengthEncoding === BINARY ? 256 ** prefixBytes - 1 : 10 ** lengthDigits - 1;
    if (spec.maxLength > largest) bad(dialectName, where, `maxLength ${spec.maxLength} does not fit a ${spec.lengthType} ${spec.lengthEncoding} length (at most ${largest})`);
    if (content === XN) bad(dialectName, where, 'signed amounts (xn) are fixed-length only');
  }
  if (spec.pad !== undefined && spec.pad !== 'left' && spec.pad !== 'right') bad(dialectName, where, `pad must be left or right, not ${String(spec.pad)}`);
  const padLeft = spec.pad === undefined ? lengthDigits === 0 : spec.pad === 'left';
  let sub: CompiledFieldSet | undefined;
  if (spec.subfields !== undefined) {
    if (content !== B || encoding !== BINARY) bad(dialectName, where, 'only binary (b, binary) fields can carry subfields');
    sub = compileSet(dialectName, spec.subfields.bitmapEncoding, spec.subfields.fields, `${path}.`);
  }
  const charClass =
    content === AN ? LETTER_OR_SPACE | DIGIT : content === ANS ? PRINTABLE : content === Z ? DIGIT | TRACK_SEPARATOR : DIGIT;
  const pattern = content === AN ? /^[A-Za-z0-9 ]*$/ : content === ANS ? /^[\x20-\x7e]*$/ : content === Z ? /^[0-9=]*$/ : /^[0-9]*$/;
  return new CompiledField(path, `field ${path} (${spec.name})`, spec.name, content, encoding, spec.maxLength, lengthDigits, lengthEncoding, prefixBytes, padLeft, charClass, sub, pattern);
}

/** A binary length prefix is as many bytes as its decimal form would need to hold the same maximum. */
function binaryPrefixBytes(lengthDigits: number): number {
  return lengthDigits <= 2 ? 1 : lengthDigits <= 4 ? 2 : 3;
}

function bad(dialectName: string, where: string, problem: string): never {
  throw new PosError(ISO8583_ERRORS.BAD_DIALECT, `ISO 8583 dialect ${dialectName}: ${where}: ${problem}`, { details: { dialect: dialectName, field: where } });
}
