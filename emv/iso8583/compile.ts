/**
 * Turns a dialect (data) into the form the codec runs on: field specs checked once
 * and flattened into small numeric codes in an array indexed by field number, so
 * encoding and decoding never look at strings or re-validate options per message.
 * Each field gets its interpreter (interpreters/) and its length prefixer (prefixers/):
 * their encoders, checked readers and generated-decoder snippets are what encode.ts,
 * decode-checked.ts and decode-fast.ts run. Compiled forms are cached per dialect object.
 */
import { PosError } from '../../config/errors.js';
import { DIGIT, LETTER_OR_SPACE, PRINTABLE, TRACK_SEPARATOR } from './charsets.js';
import { ISO8583_ERRORS } from './errors.js';
import { encodingsFor, interpreterFor, type Interpreter } from './interpreters/index.js';
import { PREFIXERS, fixedPrefixer, type Prefixer } from './prefixers/index.js';
import type { Dialect, FieldSpec, FieldTable, BitmapEncoding } from './spec.js';

import { AN, ANS, ASCII, B, BCD, BINARY, EBCDIC, HEX, N, XN, Z } from './codes.js';

export { AN, ANS, ASCII, B, BCD, BINARY, EBCDIC, HEX, N, XN, Z };

const CONTENT_CODES = { n: N, z: Z, xn: XN, an: AN, ans: ANS, b: B } as const;
const ENCODING_CODES = { bcd: BCD, ascii: ASCII, ebcdic: EBCDIC, binary: BINARY, hex: HEX } as const;
const LENGTH_DIGITS = { fixed: 0, LL: 2, LLL: 3, LLLL: 4, LLLLLL: 6 } as const;

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
    /** How the data is written and read. */
    readonly interpreter: Interpreter,
    /** How the length is written and read (fixedPrefixer for a fixed field). */
    readonly prefixer: Prefixer,
  ) {}
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
  /** The MTI as a fixed n4 field in the dialect's MTI encoding, so it is written and read like one. */
  mti: CompiledField;
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
    if (mtiEncoding === undefined || mtiEncoding > EBCDIC)
      bad(dialect.name, 'mtiEncoding', `must be bcd, ascii or ebcdic, not ${String(dialect.mtiEncoding)}`);
    const mti = compileField(
      dialect.name,
      'mti',
      { name: 'MTI', content: 'n', lengthType: 'fixed', maxLength: 4, encoding: dialect.mtiEncoding },
      'MTI',
    );
    compiled = {
      dialect,
      mtiEncoding,
      mti,
      body: compileSet(dialect.name, dialect.bitmapEncoding, dialect.fields, ''),
    };
    cache.set(dialect, compiled);
  }
  return compiled;
}

function compileSet(
  dialectName: string,
  bitmapEncoding: BitmapEncoding,
  table: FieldTable,
  pathPrefix: string,
): CompiledFieldSet {
  if (bitmapEncoding !== 'binary' && bitmapEncoding !== 'hex')
    bad(dialectName, `${pathPrefix}bitmapEncoding`, `must be binary or hex, not ${String(bitmapEncoding)}`);
  const fields: (CompiledField | undefined)[] = new Array<CompiledField | undefined>(129).fill(undefined);
  let hasSecondary = false;
  for (const [key, spec] of Object.entries(table)) {
    const number = Number(key);
    if (!Number.isInteger(number) || number < 2 || number > 128)
      bad(dialectName, pathPrefix + key, 'field numbers run from 2 to 128 (1 is the secondary bitmap)');
    fields[number] = compileField(dialectName, pathPrefix + key, spec);
    if (number > 64) hasSecondary = true;
  }
  return { bitmapHex: bitmapEncoding === 'hex', fields, hasSecondary };
}

function compileField(
  dialectName: string,
  path: string,
  spec: FieldSpec,
  label = `field ${path} (${spec.name})`,
): CompiledField {
  const where = `field ${path}`;
  if (typeof spec !== 'object' || spec === null) bad(dialectName, where, 'is not a field spec');
  const content = CONTENT_CODES[spec.content];
  if (content === undefined)
    bad(dialectName, where, `content must be one of n, z, xn, an, ans, b, not ${String(spec.content)}`);
  const encodings = encodingsFor(spec.content);
  if (!encodings.includes(spec.encoding))
    bad(
      dialectName,
      where,
      `content ${spec.content} can be encoded as ${encodings.join(', ')}, not ${String(spec.encoding)}`,
    );
  const encoding = ENCODING_CODES[spec.encoding];
  const lengthDigits = LENGTH_DIGITS[spec.lengthType];
  if (lengthDigits === undefined)
    bad(dialectName, where, `lengthType must be fixed, LL, LLL, LLLL or LLLLLL, not ${String(spec.lengthType)}`);
  if (!Number.isInteger(spec.maxLength) || spec.maxLength < 1)
    bad(dialectName, where, `maxLength must be a positive integer, not ${String(spec.maxLength)}`);
  let lengthEncoding = -1;
  let prefixBytes = 0;
  let prefixer = fixedPrefixer;
  if (lengthDigits > 0) {
    if (spec.lengthEncoding === undefined || !Object.hasOwn(PREFIXERS, spec.lengthEncoding)) {
      bad(dialectName, where, `a ${spec.lengthType} field needs lengthEncoding bcd, ascii, ebcdic or binary`);
    }
    lengthEncoding = ENCODING_CODES[spec.lengthEncoding];
    prefixer = PREFIXERS[spec.lengthEncoding];
    prefixBytes = prefixer.prefixBytes(lengthDigits);
    const largest = prefixer.largest(lengthDigits, prefixBytes);
    if (spec.maxLength > largest)
      bad(
        dialectName,
        where,
        `maxLength ${spec.maxLength} does not fit a ${spec.lengthType} ${spec.lengthEncoding} length (at most ${largest})`,
      );
    if (content === XN) bad(dialectName, where, 'signed amounts (xn) are fixed-length only');
  }
  if (spec.pad !== undefined && spec.pad !== 'left' && spec.pad !== 'right')
    bad(dialectName, where, `pad must be left or right, not ${String(spec.pad)}`);
  const padLeft = spec.pad === undefined ? lengthDigits === 0 : spec.pad === 'left';
  let sub: CompiledFieldSet | undefined;
  if (spec.subfields !== undefined) {
    if (content !== B || encoding !== BINARY)
      bad(dialectName, where, 'only binary (b, binary) fields can carry subfields');
    sub = compileSet(dialectName, spec.subfields.bitmapEncoding, spec.subfields.fields, `${path}.`);
  }
  const charClass =
    content === AN
      ? LETTER_OR_SPACE | DIGIT
      : content === ANS
        ? PRINTABLE
        : content === Z
          ? DIGIT | TRACK_SEPARATOR
          : DIGIT;
  const pattern =
    content === AN ? /^[A-Za-z0-9 ]*$/ : content === ANS ? /^[\x20-\x7e]*$/ : content === Z ? /^[0-9=]*$/ : /^[0-9]*$/;
  const interpreter = interpreterFor(spec.content, spec.encoding);
  return new CompiledField(
    path,
    label,
    spec.name,
    content,
    encoding,
    spec.maxLength,
    lengthDigits,
    lengthEncoding,
    prefixBytes,
    padLeft,
    charClass,
    sub,
    pattern,
    interpreter,
    prefixer,
  );
}

function bad(dialectName: string, where: string, problem: string): never {
  throw new PosError(ISO8583_ERRORS.BAD_DIALECT, `ISO 8583 dialect ${dialectName}: ${where}: ${problem}`, {
    details: { dialect: dialectName, field: where },
  });
}
