/**
 * RSA public-key recovery (the raw operation x^e mod n) for EMV offline data
 * authentication, on node:crypto: the key is built from its modulus and exponent as a
 * JWK, and `publicDecrypt` runs with RSA_NO_PADDING because EMV certificates carry
 * their own framing (header 6A, trailer BC, SHA-1 hash).
 *
 * OpenSSL silently accepts input shorter than the modulus, so the length is checked
 * here; input not below the modulus is refused before OpenSSL sees it.
 */
import { constants, createPublicKey, publicDecrypt, type KeyObject } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { toBytes, type HexOrBuffer } from './bytes.js';

export interface RsaPublicKey {
  /** Big-endian modulus; its byte length is the length every input must have. */
  modulus: Buffer;
  /** Big-endian public exponent (EMV: 03 or 010001). */
  exponent: Buffer;
}

/** EMV allows CA keys up to 1984 bits (248 bytes); 4096 leaves room for lab keys. */
const MAX_MODULUS_BYTES = 512;

const keyObjects = new WeakMap<RsaPublicKey, KeyObject>();

function base64Url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function stripLeadingZeros(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

/** Builds (and checks) a public key from hex or Buffers. */
export function rsaPublicKey(modulus: HexOrBuffer, exponent: HexOrBuffer): RsaPublicKey {
  const n = toBytes(modulus, 'RSA modulus', undefined, 'CODPOS_CRYPTO_RSA_KEY');
  const e = toBytes(exponent, 'RSA exponent', undefined, 'CODPOS_CRYPTO_RSA_KEY');
  if (n.length < 64 || n.length > MAX_MODULUS_BYTES || n[0] === 0 || (n[n.length - 1]! & 1) === 0) {
    throw new PosError(
      'CODPOS_CRYPTO_RSA_KEY',
      `RSA modulus must be an odd number of 64 to ${MAX_MODULUS_BYTES} bytes without leading zero (got ${n.length} bytes)`,
      {
        details: { modulusBytes: n.length },
      },
    );
  }
  const eTrim = stripLeadingZeros(e);
  if (e.length === 0 || e.length > 8 || (eTrim[eTrim.length - 1]! & 1) === 0 || (eTrim.length === 1 && eTrim[0]! < 3)) {
    throw new PosError(
      'CODPOS_CRYPTO_RSA_KEY',
      'RSA exponent must be an odd number of at least 3 (EMV uses 03 or 010001)',
    );
  }
  return { modulus: n, exponent: eTrim };
}

function keyObjectOf(key: RsaPublicKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    try {
      object = createPublicKey({
        key: { kty: 'RSA', n: base64Url(key.modulus), e: base64Url(key.exponent) },
        format: 'jwk',
      });
    } catch (cause) {
      throw new PosError('CODPOS_CRYPTO_RSA_KEY', 'the RSA modulus and exponent do not form a usable public key', {
        cause,
      });
    }
    keyObjects.set(key, object);
  }
  return object;
}

/**
 * input^e mod n, as many bytes as the modulus. Input of another length is
 * CODPOS_CRYPTO_RSA_INPUT_LENGTH; input not below the modulus (which a genuine
 * signature never is) is CODPOS_CRYPTO_RSA_INPUT_RANGE: callers treat both as an
 * authentication failure.
 */
export function rsaRecover(key: RsaPublicKey, input: Buffer): Buffer {
  if (input.length !== key.modulus.length) {
    throw new PosError(
      'CODPOS_CRYPTO_RSA_INPUT_LENGTH',
      `RSA input must be as long as the modulus, ${key.modulus.length} bytes (got ${input.length})`,
      {
        details: { expected: key.modulus.length, length: input.length },
      },
    );
  }
  if (Buffer.compare(input, key.modulus) >= 0) {
    throw new PosError(
      'CODPOS_CRYPTO_RSA_INPUT_RANGE',
      'RSA input is not below the modulus: not a signature made with this key',
    );
  }
  return publicDecrypt({ key: keyObjectOf(key), padding: constants.RSA_NO_PADDING }, input);
}
