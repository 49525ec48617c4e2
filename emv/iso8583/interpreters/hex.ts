/** Binary data (b) written as ASCII hex, two characters a byte (jPOS IFA_BINARY); the reader takes either case. */
import { HEX_DIGIT, HEX_VALUE } from '../charsets.js';
import type { CompiledField } from '../compile.js';
import { ISO8583_ERRORS as E, fieldDecodeError } from '../errors.js';
import { encodeBytes } from './bytes.js';
import type { Interpreter } from './interpreter.js';

export const hexInterpreter: Interpreter = {
  name: 'hex',
  dataBytes: (length) => length * 2,
  sizeSource: (len) => `(${len} * 2)`,
  encode: (value, f, out, pos) => encodeBytes(value, f, out, pos, 2, writeHex),
  read: (buf, pos, length, f) => hexBytes(buf, pos, length, f),
  snippet: (_f, site) => [`${site.into} = hexBytes(buf, pos, ${site.len}, ${site.field});`],
  helpers: { hexBytes },
};

function writeHex(data: Uint8Array, bytes: Buffer, pos: number): number {
  for (let i = 0; i < data.length; i++) {
    bytes[pos++] = HEX_DIGIT[data[i]! >> 4]!;
    bytes[pos++] = HEX_DIGIT[data[i]! & 15]!;
  }
  return pos;
}

/** `length` bytes written as hex at buf[pos], as a new Buffer. */
function hexBytes(buf: Buffer, pos: number, length: number, f: CompiledField): Buffer {
  const value = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    const hi = HEX_VALUE[buf[pos + 2 * i]!]!;
    const lo = HEX_VALUE[buf[pos + 2 * i + 1]!]!;
    if ((hi | lo) === 255)
      throw fieldDecodeError(E.BAD_DIGIT, f, pos + 2 * i + (hi === 255 ? 0 : 1), 'not a hex digit');
    value[i] = (hi << 4) | lo;
  }
  return value;
}
