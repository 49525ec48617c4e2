/**
 * ISO 9564-1 PIN blocks, formats 0, 1, 3 (8-byte, TDES) and 4 (16-byte, AES).
 *
 * Format 0 and 3 XOR the PIN field with a PAN field (12 rightmost PAN digits without
 * the check digit); format 1 has no PAN binding; format 4 enciphers the PIN field,
 * XORs the PAN field in, and enciphers again. Random fill comes from an injectable
 * source so tests are reproducible; error messages never quote a PIN or a PAN.
 */
import { randomBytes } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { toBytes, xor, type HexOrBuffer } from './bytes.js';
import { aesEcbDecrypt, aesEcbEncrypt, tdesEcbDecrypt, tdesEcbEncrypt } from './primitives.js';

export type PinBlockFormat = 0 | 1 | 3 | 4;
export const PIN_BLOCK_FORMATS: readonly PinBlockFormat[] = [0, 1, 3, 4];

/** Returns `size` random bytes; crypto.randomBytes by default. */
export type RandomSource = (size: number) => Buffer;

export interface EncodePinBlockOptions {
  format: PinBlockFormat;
  pin: string;
  /** Required for formats 0, 3 and 4; ignored by format 1. */
  pan?: string;
  /**
   * Encrypting key: TDES (16 or 24 bytes) for formats 0/1/3, AES (16, 24 or 32 bytes)
   * for format 4 (which has no clear form, so its key is required). Without a key
   * formats 0/1/3 return the clear PIN block.
   */
  key?: HexOrBuffer;
  /**
   * Explicit fill instead of random, as hex (lab and test use only): format 1 the
   * 14 - L fill digits (0-F), format 3 the 14 - L fill digits (A-F only), format 4
   * 16 digits (the 8 random bytes of the plain PIN field's second half).
   */
  fill?: string;
  random?: RandomSource;
}

export interface DecodePinBlockOptions {
  format: PinBlockFormat;
  block: HexOrBuffer;
  pan?: string;
  key?: HexOrBuffer;
}

function pinError(what: string, details: Record<string, unknown> = {}): PosError {
  return new PosError('CODPOS_CRYPTO_PIN', what, { details });
}

export function checkFormat(format: unknown): PinBlockFormat {
  if (format === 0 || format === 1 || format === 3 || format === 4) return format;
  throw new PosError(
    'CODPOS_CRYPTO_PIN_BLOCK_FORMAT',
    `PIN block format must be 0, 1, 3 or 4 (got ${String(format)})`,
    { details: { format } },
  );
}

export function checkPin(pin: unknown): string {
  if (typeof pin !== 'string' || !/^[0-9]+$/.test(pin)) throw pinError('PIN must be decimal digits only');
  if (pin.length < 4 || pin.length > 12)
    throw pinError(`PIN must be 4 to 12 digits long (got ${pin.length})`, { length: pin.length });
  return pin;
}

function checkPan(pan: unknown, format: PinBlockFormat): string {
  if (pan === undefined || pan === '') {
    throw new PosError('CODPOS_CRYPTO_PAN', `PIN block format ${format} needs the PAN`, { details: { format } });
  }
  if (typeof pan !== 'string' || !/^[0-9]+$/.test(pan))
    throw new PosError('CODPOS_CRYPTO_PAN', 'PAN must be decimal digits only', { details: { format } });
  // Formats 0 and 3 bind to the 12 digits left of the check digit: a PAN shorter than
  // 13 digits cannot supply them. Format 4 takes any PAN of 1 to 19 digits (pads to 12).
  const min = format === 4 ? 1 : 13;
  if (pan.length < min || pan.length > 19) {
    throw new PosError(
      'CODPOS_CRYPTO_PAN',
      `PAN must be ${min} to 19 digits long for PIN block format ${format} (got ${pan.length})`,
      { details: { format, length: pan.length } },
    );
  }
  return pan;
}

/** The format 0/3 PAN field: 0000 then the 12 rightmost PAN digits excluding the check digit. */
export function panField8(pan: string): Buffer {
  const digits = pan.slice(0, -1).slice(-12);
  return Buffer.from('0000' + digits, 'hex');
}

/** The format 4 PAN field: M (length - 12, at least 0), the PAN left-padded with zeros to 12 digits, zero fill. */
export function panField16(pan: string): Buffer {
  const m = Math.max(pan.length - 12, 0);
  const nibbles = (m.toString(16) + pan.padStart(12, '0')).padEnd(32, '0');
  return Buffer.from(nibbles, 'hex');
}

function randomNibbles(count: number, random: RandomSource, alphabet: 'any' | 'a-f'): string {
  let out = '';
  while (out.length < count) {
    for (const byte of random(count)) {
      if (out.length === count) break;
      if (alphabet === 'any') out += (byte & 0x0f).toString(16);
      else if (byte < 252) out += (10 + (byte % 6)).toString(16); // rejection keeps A-F uniform
    }
  }
  return out.toUpperCase();
}

function checkFill(fill: string, count: number, alphabet: 'any' | 'a-f', format: PinBlockFormat): string {
  const pattern = alphabet === 'any' ? /^[0-9A-Fa-f]*$/ : /^[A-Fa-f]*$/;
  if (fill.length !== count || !pattern.test(fill)) {
    throw new PosError(
      'CODPOS_CRYPTO_PIN_FILL',
      `fill for PIN block format ${format} with this PIN must be ${count} hex digits${alphabet === 'a-f' ? ' from A to F' : ''} (got ${fill.length})`,
      {
        details: { format, expected: count },
      },
    );
  }
  return fill.toUpperCase();
}

/** The plain 8-byte PIN field of format 0, 1 or 3. */
export function pinField8(format: 0 | 1 | 3, pin: string, fill: string): Buffer {
  return Buffer.from(`${format}${pin.length.toString(16)}${pin}${fill}`.toUpperCase(), 'hex');
}

/** The plain 16-byte format 4 PIN field: 4, length, PIN, A-fill to 16 nibbles, then 8 random bytes. */
export function pinField16(pin: string, randomHalf: Buffer): Buffer {
  const first = `4${pin.length.toString(16)}${pin}`.padEnd(16, 'A');
  return Buffer.concat([Buffer.from(first, 'hex'), randomHalf]);
}

function tdesPinKey(key: HexOrBuffer): Buffer {
  return toBytes(key, 'PIN key', [16, 24], 'CODPOS_CRYPTO_KEY_LENGTH');
}

function aesPinKey(key: HexOrBuffer): Buffer {
  return toBytes(key, 'PIN key', [16, 24, 32], 'CODPOS_CRYPTO_KEY_LENGTH');
}

/** Encodes (and, with a key, encrypts) a PIN block. */
export function encodePinBlock(options: EncodePinBlockOptions): Buffer {
  const format = checkFormat(options.format);
  const pin = checkPin(options.pin);
  const random = options.random ?? randomBytes;
  if (format === 4) {
    if (options.key === undefined)
      throw new PosError(
        'CODPOS_CRYPTO_KEY_MISSING',
        'PIN block format 4 is defined only enciphered: give the AES PIN key',
      );
    const key = aesPinKey(options.key);
    const pan = checkPan(options.pan, format);
    const randomHalf =
      options.fill !== undefined
        ? Buffer.from(checkFill(options.fill, 16, 'any', format), 'hex')
        : random(8).subarray(0, 8);
    if (randomHalf.length !== 8)
      throw new PosError('CODPOS_CRYPTO_RANDOM', 'the random source returned fewer than 8 bytes');
    const intermediateA = aesEcbEncrypt(key, pinField16(pin, randomHalf));
    return aesEcbEncrypt(key, xor(intermediateA, panField16(pan)));
  }
  const fillCount = 14 - pin.length;
  let clear: Buffer;
  if (format === 0) {
    if (options.fill !== undefined)
      throw new PosError(
        'CODPOS_CRYPTO_PIN_FILL',
        'PIN block format 0 has a fixed F fill: --fill applies to formats 1, 3 and 4',
      );
    clear = xor(pinField8(0, pin, 'F'.repeat(fillCount)), panField8(checkPan(options.pan, format)));
  } else if (format === 1) {
    const fill =
      options.fill !== undefined
        ? checkFill(options.fill, fillCount, 'any', format)
        : randomNibbles(fillCount, random, 'any');
    clear = pinField8(1, pin, fill);
  } else {
    const pan = checkPan(options.pan, format);
    const fill =
      options.fill !== undefined
        ? checkFill(options.fill, fillCount, 'a-f', format)
        : randomNibbles(fillCount, random, 'a-f');
    clear = xor(pinField8(3, pin, fill), panField8(pan));
  }
  return options.key === undefined ? clear : tdesEcbEncrypt(tdesPinKey(options.key), clear);
}

function badBlock(format: PinBlockFormat, what: string): PosError {
  // The reason is kept coarse on purpose: a decryption oracle should learn little.
  return new PosError(
    'CODPOS_CRYPTO_PIN_BLOCK',
    `not a valid format ${format} PIN block: ${what} (wrong key, PAN or format?)`,
    { details: { format } },
  );
}

/** Reads the PIN out of a plain PIN field, checking control, length and fill. */
function readPinField(nibbles: string, format: PinBlockFormat): string {
  if (nibbles[0] !== String(format)) throw badBlock(format, 'control field');
  const length = parseInt(nibbles[1]!, 16);
  if (length < 4 || length > 12) throw badBlock(format, 'PIN length field');
  const pin = nibbles.slice(2, 2 + length);
  if (!/^[0-9]+$/.test(pin)) throw badBlock(format, 'PIN digits');
  const fill = nibbles.slice(2 + length, 16);
  const fillOk =
    format === 0 ? /^F*$/.test(fill) : format === 3 ? /^[A-F]*$/.test(fill) : format === 4 ? /^A*$/.test(fill) : true;
  if (!fillOk) throw badBlock(format, 'fill');
  return pin;
}

/** Decrypts (with a key) and decodes a PIN block; returns the PIN. */
export function decodePinBlock(options: DecodePinBlockOptions): string {
  const format = checkFormat(options.format);
  if (format === 4) {
    if (options.key === undefined)
      throw new PosError(
        'CODPOS_CRYPTO_KEY_MISSING',
        'PIN block format 4 is defined only enciphered: give the AES PIN key',
      );
    const key = aesPinKey(options.key);
    const block = toBytes(options.block, 'PIN block', [16], 'CODPOS_CRYPTO_PIN_BLOCK');
    const pan = checkPan(options.pan, format);
    const intermediateA = xor(aesEcbDecrypt(key, block), panField16(pan));
    const field = aesEcbDecrypt(key, intermediateA);
    return readPinField(field.subarray(0, 8).toString('hex').toUpperCase(), format);
  }
  let clear = toBytes(options.block, 'PIN block', [8], 'CODPOS_CRYPTO_PIN_BLOCK');
  if (options.key !== undefined) clear = tdesEcbDecrypt(tdesPinKey(options.key), clear);
  if (format !== 1) clear = xor(clear, panField8(checkPan(options.pan, format)));
  return readPinField(clear.toString('hex').toUpperCase(), format);
}
