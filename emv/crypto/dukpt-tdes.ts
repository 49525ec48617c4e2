/**
 * TDES DUKPT per ANSI X9.24-1:2009 (host and PIN pad side).
 *
 * The 10-byte KSN is the initial key serial number (59 bits) followed by a 21-bit
 * transaction counter. The PIN pad never holds more than the 21 "future keys";
 * the host derives the same transaction key from the BDK in at most 10 steps,
 * because a valid counter never has more than 10 one-bits.
 */
import { PosError } from '../../config/errors.js';
import { toBytes, xor, type HexOrBuffer } from './bytes.js';
import { desEcbEncrypt, tdesEcbEncrypt } from './primitives.js';

declare const tdesKsnBrand: unique symbol;
/** A 10-byte TDES DUKPT key serial number. Distinct from AesKsn: mixing them does not compile. */
export type TdesKsn = Buffer & { readonly [tdesKsnBrand]: true };

export const TDES_KSN_LENGTH = 10;
export const TDES_COUNTER_BITS = 21;
export const TDES_COUNTER_MASK = 0x1fffff;
export const TDES_MAX_COUNTER_ONE_BITS = 10;

const KEY_REGISTER_MASK = Buffer.from('C0C0C0C000000000C0C0C0C000000000', 'hex');

/** Variant masks (X9.24-1:2009 Annex A) XORed onto the transaction key for each usage. */
const VARIANTS = {
  pin: Buffer.from('00000000000000FF00000000000000FF', 'hex'),
  macRequest: Buffer.from('000000000000FF00000000000000FF00', 'hex'),
  macResponse: Buffer.from('00000000FF00000000000000FF000000', 'hex'),
  dataRequest: Buffer.from('0000000000FF00000000000000FF0000', 'hex'),
  dataResponse: Buffer.from('000000FF00000000000000FF00000000', 'hex'),
} as const;

export function parseTdesKsn(value: HexOrBuffer): TdesKsn {
  return toBytes(value, 'TDES KSN', [TDES_KSN_LENGTH], 'CODPOS_CRYPTO_KSN_LENGTH') as TdesKsn;
}

/** The 21-bit transaction counter of a KSN. */
export function tdesKsnCounter(ksn: TdesKsn): number {
  return ksn.readUIntBE(7, 3) & TDES_COUNTER_MASK;
}

/** The KSN with its 21-bit counter replaced. */
export function withTdesCounter(ksn: TdesKsn, counter: number): TdesKsn {
  const out = Buffer.from(ksn);
  const tail = (out.readUIntBE(7, 3) & ~TDES_COUNTER_MASK & 0xffffff) | counter;
  out.writeUIntBE(tail, 7, 3);
  return out as TdesKsn;
}

export function countOneBits(value: number): number {
  let ones = 0;
  for (let v = value >>> 0; v; v >>>= 1) ones += v & 1;
  return ones;
}

/** A counter a PIN pad may use: non-zero, 21 bits, at most 10 one-bits. */
export function isValidTdesCounter(counter: number): boolean {
  return (
    Number.isInteger(counter) &&
    counter > 0 &&
    counter <= TDES_COUNTER_MASK &&
    countOneBits(counter) <= TDES_MAX_COUNTER_ONE_BITS
  );
}

/**
 * The next KSN a PIN pad uses: the counter goes up by one, and past any value with
 * more than 10 one-bits by adding its lowest one-bit (X9.24-1 skips those counters).
 * An exhausted device (no valid counter left) is a PosError.
 */
export function nextKsn(ksn: TdesKsn): TdesKsn {
  let counter = tdesKsnCounter(ksn) + 1;
  while (counter <= TDES_COUNTER_MASK && countOneBits(counter) > TDES_MAX_COUNTER_ONE_BITS) {
    counter += counter & -counter;
  }
  if (counter > TDES_COUNTER_MASK) {
    throw new PosError(
      'CODPOS_CRYPTO_KSN_EXHAUSTED',
      'the TDES DUKPT counter is exhausted: the PIN pad needs a new initial key',
    );
  }
  return withTdesCounter(ksn, counter);
}

/** The initial KSN (counter zeroed), whose leftmost 8 bytes feed the IPEK derivation. */
export function initialKsn(ksn: TdesKsn): TdesKsn {
  return withTdesCounter(ksn, 0);
}

function checkBdk(bdkInput: HexOrBuffer): Buffer {
  return toBytes(bdkInput, 'BDK', [16], 'CODPOS_CRYPTO_KEY_LENGTH');
}

/** IPEK (initial PIN encryption key) from the BDK and any KSN of the device. */
export function deriveIpek(bdkInput: HexOrBuffer, ksn: TdesKsn): Buffer {
  const bdk = checkBdk(bdkInput);
  const ksn8 = initialKsn(ksn).subarray(0, 8);
  const left = tdesEcbEncrypt(bdk, ksn8);
  const right = tdesEcbEncrypt(xor(bdk, KEY_REGISTER_MASK), ksn8);
  return Buffer.concat([left, right]);
}

/** The non-reversible key generation process: a 16-byte key and 8 bytes of data (the KSN's right half). */
export function nonReversibleKeyGeneration(key: Buffer, data: Buffer): Buffer {
  const half = (k: Buffer): Buffer => {
    const kl = k.subarray(0, 8);
    const kr = k.subarray(8, 16);
    return xor(desEcbEncrypt(kl, xor(data, kr)), kr);
  };
  const masked = xor(key, KEY_REGISTER_MASK);
  return Buffer.concat([half(masked), half(key)]);
}

/**
 * The transaction ("current") key for a KSN, from the IPEK: walk the counter's
 * one-bits from the most significant, deriving one future key per bit.
 */
export function deriveTransactionKey(ipekInput: HexOrBuffer, ksn: TdesKsn): Buffer {
  let key = toBytes(ipekInput, 'IPEK', [16], 'CODPOS_CRYPTO_KEY_LENGTH');
  const counter = tdesKsnCounter(ksn);
  if (!isValidTdesCounter(counter)) {
    throw new PosError(
      'CODPOS_CRYPTO_KSN_COUNTER',
      counter === 0
        ? 'the KSN counter is 0: that is the initial KSN, which names no transaction key'
        : `the KSN counter ${counter.toString(16).toUpperCase()} has ${countOneBits(counter)} one-bits; X9.24-1 allows at most ${TDES_MAX_COUNTER_ONE_BITS}`,
      { details: { counter } },
    );
  }
  const register = Buffer.from(initialKsn(ksn).subarray(2, 10));
  let built = 0;
  for (let bit = 1 << (TDES_COUNTER_BITS - 1); bit > 0; bit >>>= 1) {
    if ((counter & bit) === 0) continue;
    built |= bit;
    const tail = (register.readUIntBE(5, 3) & ~TDES_COUNTER_MASK & 0xffffff) | built;
    register.writeUIntBE(tail, 5, 3);
    key = nonReversibleKeyGeneration(key, register);
  }
  return key;
}

export interface TdesWorkingKeys {
  /** The transaction key itself (before any variant). */
  transactionKey: Buffer;
  /** PIN encryption key (PIN variant). */
  pinKey: Buffer;
  /** MAC key for requests (X9.19 retail MAC). */
  macKey: Buffer;
  /** MAC key for responses. */
  macResponseKey: Buffer;
  /** Data encryption key for requests (variant, then each half TDES-encrypted under it, per X9.24-1:2009). */
  dataKey: Buffer;
  /** Data encryption key for responses. */
  dataResponseKey: Buffer;
}

function dataKeyFromVariant(variant: Buffer): Buffer {
  return Buffer.concat([
    tdesEcbEncrypt(variant, variant.subarray(0, 8)),
    tdesEcbEncrypt(variant, variant.subarray(8, 16)),
  ]);
}

/** The working keys of one transaction key. */
export function tdesWorkingKeys(transactionKey: Buffer): TdesWorkingKeys {
  return {
    transactionKey: Buffer.from(transactionKey),
    pinKey: xor(transactionKey, VARIANTS.pin),
    macKey: xor(transactionKey, VARIANTS.macRequest),
    macResponseKey: xor(transactionKey, VARIANTS.macResponse),
    dataKey: dataKeyFromVariant(xor(transactionKey, VARIANTS.dataRequest)),
    dataResponseKey: dataKeyFromVariant(xor(transactionKey, VARIANTS.dataResponse)),
  };
}

export interface TdesDukptKeys extends TdesWorkingKeys {
  ipek: Buffer;
}

/** Host side: every key of one transaction from the BDK and the KSN the PIN pad sent. */
export function deriveTdesKeys(bdk: HexOrBuffer, ksn: TdesKsn): TdesDukptKeys {
  const ipek = deriveIpek(bdk, ksn);
  return { ipek, ...tdesWorkingKeys(deriveTransactionKey(ipek, ksn)) };
}
