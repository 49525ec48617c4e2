/**
 * Byte helpers shared by the crypto modules: strict hex parsing that names the
 * field at fault, XOR, and uppercase hex (the form every vector and the lab CLI use).
 */
import { PosError, type ErrorCode } from '../../config/errors.js';

export type HexOrBuffer = string | Buffer;

/**
 * A Buffer from hex (spaces allowed) or a Buffer copy, checked against the allowed
 * lengths in bytes. The error names `field` and never quotes the value: it may be a key.
 */
export function toBytes(
  value: HexOrBuffer,
  field: string,
  lengths?: readonly number[],
  code: ErrorCode = 'CODPOS_CRYPTO_BAD_INPUT',
): Buffer {
  let bytes: Buffer;
  if (typeof value === 'string') {
    const hex = value.replace(/\s+/g, '');
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new PosError(
        code,
        `${field} must be hex digits in pairs (got ${hex.length} characters${/^[0-9a-fA-F]*$/.test(hex) ? '' : ', not all hex'})`,
        { details: { field } },
      );
    }
    bytes = Buffer.from(hex, 'hex');
  } else if (Buffer.isBuffer(value)) {
    bytes = Buffer.from(value);
  } else {
    throw new PosError(code, `${field} must be a hex string or a Buffer`, { details: { field } });
  }
  if (lengths && !lengths.includes(bytes.length)) {
    throw new PosError(code, `${field} must be ${describeLengths(lengths)} bytes long (got ${bytes.length})`, {
      details: { field, length: bytes.length },
    });
  }
  return bytes;
}

function describeLengths(lengths: readonly number[]): string {
  return lengths.length === 1
    ? String(lengths[0])
    : `${lengths.slice(0, -1).join(', ')} or ${lengths[lengths.length - 1]}`;
}

export function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length)
    throw new PosError('CODPOS_INTERNAL_XOR_LENGTH', `xor of ${a.length} and ${b.length} bytes`);
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export function hexUpper(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase();
}

/** Overwrites a secret buffer once it is no longer needed (best effort: JS may have copies). */
export function wipe(...buffers: Buffer[]): void {
  for (const b of buffers) b.fill(0);
}
