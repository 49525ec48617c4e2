/** The content rule of binary (b) values, shared by the binary and hex interpreters. */
import type { CompiledField } from '../compile.js';
import { ISO8583_ERRORS as E, fieldEncodeError } from '../errors.js';
import { describe } from './content.js';
import type { Scratch } from '../scratch.js';

/** The value checked to be bytes of the field's length (exactly it when fixed, at most it when variable). */
export function bytesToWrite(value: unknown, f: CompiledField): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw fieldEncodeError(E.BAD_VALUE, f, `binary data must be a Buffer, not ${describe(value)}`);
  const fixed = f.lengthDigits === 0;
  if (fixed ? value.length !== f.maxLength : value.length > f.maxLength) {
    throw fieldEncodeError(
      E.LENGTH_OVER_MAX,
      f,
      `the value has ${value.length} bytes; the field holds ${fixed ? 'exactly' : 'at most'} ${f.maxLength}`,
    );
  }
  return value;
}

/**
 * A binary interpreter's encoder: the value checked (bytesToWrite), room made for
 * `bytesPerByte` wire bytes a value byte, the length prefix written, then the data by `write`.
 */
export function encodeBytes(
  value: unknown,
  f: CompiledField,
  out: Scratch,
  pos: number,
  bytesPerByte: number,
  write: (data: Uint8Array, bytes: Buffer, pos: number) => number,
): number {
  const data = bytesToWrite(value, f);
  const bytes = out.ensure(pos, f.prefixBytes + data.length * bytesPerByte);
  return write(data, bytes, f.prefixBytes === 0 ? pos : f.prefixer.write(data.length, f, bytes, pos));
}
