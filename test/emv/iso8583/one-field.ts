/**
 * Helpers for the interpreter and prefixer table tests: a dialect of one field (field 2,
 * BCD MTI, binary bitmap), so a row's wire bytes are the field's own after a fixed
 * 10-byte header, and each of the three readers (the interpreter's checked reader, the
 * checking decoder, the generated decoder) can be held to the same value.
 */
import type { Test } from 'tap';
import { PosError } from '../../../config/errors.js';
import {
  compileDialect,
  decodeIso8583,
  encodeIso8583,
  type Dialect,
  type FieldSpec,
  type FieldValue,
} from '../../../emv/iso8583/index.js';
import { decodeIso8583Checked } from '../../../emv/iso8583/decode.js';
import { fastDecoderFor } from '../../../emv/iso8583/decode-fast.js';
import type { CompiledField } from '../../../emv/iso8583/compile.js';
import { ownText } from '../../../emv/iso8583/interpreters/text-source.js';

/** MTI 0200 as BCD, then a primary bitmap naming field 2 only. */
export const HEADER = Buffer.from('02004000000000000000', 'hex');

export function oneFieldDialect(spec: FieldSpec): Dialect {
  return {
    name: `one-field-${spec.content}-${spec.encoding}-${spec.lengthType}-${spec.lengthEncoding ?? 'none'}`,
    description: 'one field',
    mtiEncoding: 'bcd',
    bitmapEncoding: 'binary',
    fields: { 2: spec },
  };
}

export function compiledField(dialect: Dialect): CompiledField {
  return compileDialect(dialect).body.fields[2]!;
}

function show(value: FieldValue | undefined): string {
  return Buffer.isBuffer(value) ? `<${value.toString('hex')}>` : JSON.stringify(value);
}

/**
 * Encodes `value`, expects the field's bytes (prefix and data) to be `wireHex`, and
 * reads them back three ways, each to `readBack` (the value as written, after padding).
 */
export function agree(
  t: Test,
  spec: FieldSpec,
  value: FieldValue,
  wireHex: string,
  readBack: FieldValue = value,
): void {
  const dialect = oneFieldDialect(spec);
  const f = compiledField(dialect);
  const wire = encodeIso8583({ mti: '0200', fields: { 2: value } }, dialect);
  const label = `${f.interpreter.name} x ${f.prefixer.name}: ${show(value)}`;
  t.equal(wire.subarray(HEADER.length).toString('hex').toUpperCase(), wireHex.toUpperCase(), `${label}: encoded`);
  const length = f.prefixBytes === 0 ? f.maxLength : f.prefixer.read(wire, HEADER.length, f);
  const direct = f.interpreter.read(wire, HEADER.length + f.prefixBytes, length, f, ownText);
  const checked = decodeIso8583Checked(wire, dialect).fields[2];
  const fast = fastDecoderFor(compileDialect(dialect))(wire).fields[2];
  for (const [reader, got] of [
    ['checked reader', direct],
    ['checking decoder', checked],
    ['generated decoder', fast],
  ] as const) {
    t.equal(show(got), show(readBack), `${label}: ${reader}`);
  }
}

/**
 * The field bytes `fieldHex` (after the header) are refused: the checking decoder with
 * `code` naming field 2 and the byte at `offsetInField`; the generated decoder refuses
 * them too, and decodeIso8583 reports the checking decoder's error.
 */
export function refusesToRead(t: Test, spec: FieldSpec, fieldHex: string, code: string, offsetInField: number): void {
  const dialect = oneFieldDialect(spec);
  const wire = Buffer.concat([HEADER, Buffer.from(fieldHex, 'hex')]);
  const label = `${compiledField(dialect).interpreter.name} x ${compiledField(dialect).prefixer.name}: ${fieldHex}`;
  t.throws(() => fastDecoderFor(compileDialect(dialect))(wire), `${label}: the generated decoder refuses it`);
  for (const [name, read] of [
    ['checking decoder', () => decodeIso8583Checked(wire, dialect)],
    ['decodeIso8583', () => decodeIso8583(wire, dialect)],
  ] as const) {
    try {
      read();
      t.fail(`${label}: ${name} accepted it`);
    } catch (error) {
      t.ok(error instanceof PosError, `${label}: ${name} throws a PosError`);
      const e = error as PosError;
      t.same(
        { code: e.code, field: e.details?.field, offset: e.details?.offset },
        { code, field: '2', offset: HEADER.length + offsetInField },
        `${label}: ${name} names the field and offset`,
      );
      t.match(e.message, /field 2 \(/, `${label}: the message names the field`);
    }
  }
}

/** Encoding `value` is refused with `code`, naming field 2. */
export function refusesToWrite(t: Test, spec: FieldSpec, value: unknown, code: string): void {
  const dialect = oneFieldDialect(spec);
  t.throws(
    () => encodeIso8583({ mti: '0200', fields: { 2: value as FieldValue } }, dialect),
    { code, details: { field: '2' } },
    `${spec.encoding}: ${String(value)} refused with ${code}`,
  );
}
