/**
 * ISO 8583 decoding: bytes -> { mti, fields }. Synchronous, no I/O, strict: a fault
 * is a PosError naming the field and byte offset, never a guessed value.
 *
 * Two decoders share the work. The dialect's generated decoder (decode-fast.ts) reads
 * well-formed messages, which is nearly all of them, at full speed; when it finds any
 * fault the checking decoder (decode-checked.ts) reads the message again and throws
 * the error for its first fault. The checking decoder is the reference: the tests hold
 * the two to the same results, and a message the generated one refuses but the
 * checking one reads is returned as the checking one reads it.
 */
import { compileDialect } from './compile.js';
import { ISO8583_ERRORS as E, decodeError } from './errors.js';
import { decodeChecked } from './decode-checked.js';
import { fastDecoderFor } from './decode-fast.js';
import type { Dialect } from './spec.js';
import type { IsoMessage } from './message.js';

export { decodeIso8583Checked } from './decode-checked.js';

/** Decodes one whole message; `data` must hold exactly one message (no framing). */
export function decodeIso8583(data: Uint8Array, dialect: Dialect): IsoMessage {
  const compiled = compileDialect(dialect);
  if (!(data instanceof Uint8Array))
    throw decodeError(E.BAD_VALUE, 'message', 'message', 0, 'the input must be bytes (a Buffer or Uint8Array)');
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    return fastDecoderFor(compiled)(buf);
  } catch {
    // A fault somewhere: the checking decoder finds the first one and says where.
  }
  return decodeChecked(buf, compiled);
}
