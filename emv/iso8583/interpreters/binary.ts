/**
 * Binary data (b) as the bytes themselves (jPOS LiteralBinaryInterpreter). The reader
 * returns a view of the input, not a copy (like emv/tlv): a caller that reuses its
 * input buffer copies what it keeps.
 */
import type { Interpreter } from './interpreter.js';
import { encodeBytes } from './bytes.js';

export const binaryInterpreter: Interpreter = {
  name: 'binary',
  dataBytes: (length) => length,
  sizeSource: (len) => len,
  encode: (value, f, out, pos) => encodeBytes(value, f, out, pos, 1, copyBytes),
  read: (buf, pos, length) => binaryView(buf, pos, length),
  snippet: (_f, site) => [`${site.into} = binaryView(buf, pos, ${site.size});`],
  helpers: { binaryView },
};

/** buf[pos, pos + length) as a Buffer sharing its memory. */
function binaryView(buf: Buffer, pos: number, length: number): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + pos, length);
}

function copyBytes(data: Uint8Array, bytes: Buffer, pos: number): number {
  bytes.set(data, pos);
  return pos + data.length;
}
