/**
 * AES DUKPT per ANSI X9.24-3-2017.
 *
 * The 12-byte KSN is the 8-byte initial key ID (4-byte BDK ID + 4-byte derivation
 * ID) followed by a 32-bit transaction counter with at most 16 one-bits. Every key
 * comes from one derivation function: AES-ECB under the parent key of a 16-byte
 * block naming the child's usage, algorithm and length (NIST SP 800-108 counter mode).
 */
import { PosError } from '../../config/errors.js';
import { toBytes, type HexOrBuffer } from './bytes.js';
import { aesEcbEncrypt } from './primitives.js';
import { countOneBits } from './dukpt-tdes.js';

declare const aesKsnBrand: unique symbol;
/** A 12-byte AES DUKPT key serial number. Distinct from TdesKsn: mixing them does not compile. */
export type AesKsn = Buffer & { readonly [aesKsnBrand]: true };

export const AES_KSN_LENGTH = 12;
export const AES_MAX_COUNTER_ONE_BITS = 16;

/** Key types X9.24-3 can derive, with their algorithm code and length in bits. */
export const AES_DUKPT_KEY_TYPES = {
  tdes2: { algorithm: 0x0000, bits: 128 },
  tdes3: { algorithm: 0x0001, bits: 192 },
  aes128: { algorithm: 0x0002, bits: 128 },
  aes192: { algorithm: 0x0003, bits: 192 },
  aes256: { algorithm: 0x0004, bits: 256 },
  hmac128: { algorithm: 0x0005, bits: 128 },
} as const;

export type AesDukptKeyType = keyof typeof AES_DUKPT_KEY_TYPES;
/** Key types a BDK (and so an initial or intermediate derivation key) may have. */
export type AesDerivationKeyType = 'aes128' | 'aes192' | 'aes256';

/** Key usage codes of the derivation data (X9.24-3-2017 Table 2). */
export const AES_KEY_USAGE = {
  keyEncryptionKey: 0x0002,
  pinEncryption: 0x1000,
  macGeneration: 0x2000,
  macVerification: 0x2001,
  macBoth: 0x2002,
  dataEncryptionEncrypt: 0x3000,
  dataEncryptionDecrypt: 0x3001,
  dataEncryptionBoth: 0x3002,
  keyDerivation: 0x8000,
  keyDerivationInitialKey: 0x8001,
} as const;

export type AesKeyUsage = keyof typeof AES_KEY_USAGE;

export function parseAesKsn(value: HexOrBuffer): AesKsn {
  return toBytes(value, 'AES KSN', [AES_KSN_LENGTH], 'CODPOS_CRYPTO_KSN_LENGTH') as AesKsn;
}

/** Builds an AES KSN from an 8-byte initial key ID and a counter. */
export function makeAesKsn(initialKeyId: HexOrBuffer, counter: number): AesKsn {
  const id = toBytes(initialKeyId, 'initial key ID', [8], 'CODPOS_CRYPTO_KSN_LENGTH');
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff) {
    throw new PosError(
      'CODPOS_CRYPTO_KSN_COUNTER',
      `the AES DUKPT counter must be a 32-bit unsigned integer (got ${counter})`,
    );
  }
  const out = Buffer.alloc(AES_KSN_LENGTH);
  id.copy(out);
  out.writeUInt32BE(counter, 8);
  return out as AesKsn;
}

export function aesKsnInitialKeyId(ksn: AesKsn): Buffer {
  return Buffer.from(ksn.subarray(0, 8));
}

export function aesKsnCounter(ksn: AesKsn): number {
  return ksn.readUInt32BE(8);
}

export function isValidAesCounter(counter: number): boolean {
  return (
    Number.isInteger(counter) &&
    counter > 0 &&
    counter <= 0xffffffff &&
    countOneBits(counter) <= AES_MAX_COUNTER_ONE_BITS
  );
}

/** The next KSN of an AES DUKPT device, skipping counters with more than 16 one-bits. */
export function nextAesKsn(ksn: AesKsn): AesKsn {
  let counter = aesKsnCounter(ksn) + 1;
  while (counter <= 0xffffffff && countOneBits(counter) > AES_MAX_COUNTER_ONE_BITS) counter += counter & -counter;
  if (counter > 0xffffffff) {
    throw new PosError(
      'CODPOS_CRYPTO_KSN_EXHAUSTED',
      'the AES DUKPT counter is exhausted: the PIN pad needs a new initial key',
    );
  }
  return makeAesKsn(aesKsnInitialKeyId(ksn), counter);
}

function keyTypeOfLength(length: number): AesDerivationKeyType {
  if (length === 16) return 'aes128';
  if (length === 24) return 'aes192';
  if (length === 32) return 'aes256';
  throw new PosError(
    'CODPOS_CRYPTO_KEY_LENGTH',
    `an AES DUKPT derivation key must be 16, 24 or 32 bytes (got ${length})`,
  );
}

function checkDerivationKey(
  input: HexOrBuffer,
  field: string,
  keyType?: AesDerivationKeyType,
): { key: Buffer; type: AesDerivationKeyType } {
  const key = toBytes(input, field, [16, 24, 32], 'CODPOS_CRYPTO_KEY_LENGTH');
  const type = keyTypeOfLength(key.length);
  if (keyType !== undefined && keyType !== type) {
    const expected = AES_DUKPT_KEY_TYPES[keyType].bits / 8;
    throw new PosError(
      'CODPOS_CRYPTO_KEY_LENGTH',
      `${field} must be ${expected} bytes for key type ${keyType} (got ${key.length})`,
      { details: { field, keyType } },
    );
  }
  return { key, type };
}

/** The 16-byte derivation data block (X9.24-3-2017 section 6.3.2). */
export function aesDerivationData(usage: number, keyType: AesDukptKeyType, data8: Buffer): Buffer {
  const { algorithm, bits } = AES_DUKPT_KEY_TYPES[keyType];
  const block = Buffer.alloc(16);
  block[0] = 0x01; // version
  block[1] = 0x01; // key block counter, set per block below
  block.writeUInt16BE(usage, 2);
  block.writeUInt16BE(algorithm, 4);
  block.writeUInt16BE(bits, 6);
  data8.copy(block, 8);
  return block;
}

function deriveKey(parent: Buffer, derivationData: Buffer, bits: number): Buffer {
  const blocks = Math.ceil(bits / 128);
  const parts: Buffer[] = [];
  const block = Buffer.from(derivationData);
  for (let i = 1; i <= blocks; i++) {
    block[1] = i;
    parts.push(aesEcbEncrypt(parent, block));
  }
  return Buffer.concat(parts).subarray(0, bits / 8);
}

/** The initial key loaded into a PIN pad: from the BDK and the KSN's initial key ID. */
export function deriveAesInitialKey(bdkInput: HexOrBuffer, ksn: AesKsn, keyType?: AesDerivationKeyType): Buffer {
  const { key: bdk, type } = checkDerivationKey(bdkInput, 'BDK', keyType);
  const data = aesDerivationData(AES_KEY_USAGE.keyDerivationInitialKey, type, aesKsnInitialKeyId(ksn));
  return deriveKey(bdk, data, AES_DUKPT_KEY_TYPES[type].bits);
}

function counterData(ksn: AesKsn, counter: number): Buffer {
  const data = Buffer.alloc(8);
  ksn.copy(data, 0, 4, 8); // derivation ID: the right half of the initial key ID
  data.writeUInt32BE(counter >>> 0, 4);
  return data;
}

/** The transaction (derivation) key for the KSN's counter, from the initial key. */
export function deriveAesTransactionKey(initialKeyInput: HexOrBuffer, ksn: AesKsn): Buffer {
  const { key: initialKey, type } = checkDerivationKey(initialKeyInput, 'initial key');
  const counter = aesKsnCounter(ksn);
  if (!isValidAesCounter(counter)) {
    throw new PosError(
      'CODPOS_CRYPTO_KSN_COUNTER',
      counter === 0
        ? 'the AES KSN counter is 0: that names the initial key, not a transaction key'
        : `the AES KSN counter ${counter.toString(16).toUpperCase()} has ${countOneBits(counter)} one-bits; X9.24-3 allows at most ${AES_MAX_COUNTER_ONE_BITS}`,
      { details: { counter } },
    );
  }
  let key = initialKey;
  let built = 0;
  for (let bit = 0x80000000; bit >= 1; bit = Math.floor(bit / 2)) {
    if ((counter & bit) === 0) continue;
    built = (built | bit) >>> 0;
    key = deriveAesIntermediateKey(key, type, ksn, built);
  }
  return key;
}

/**
 * One derivation step (usage 8000): the derivation key for `counter` from the key of
 * `counter` without its lowest one-bit. The device side (dukpt-aes-device.ts) uses it
 * to fill its intermediate derivation key registers.
 */
export function deriveAesIntermediateKey(
  parent: Buffer,
  type: AesDerivationKeyType,
  ksn: AesKsn,
  counter: number,
): Buffer {
  return deriveKey(
    parent,
    aesDerivationData(AES_KEY_USAGE.keyDerivation, type, counterData(ksn, counter)),
    AES_DUKPT_KEY_TYPES[type].bits,
  );
}

/** The key type of an AES DUKPT derivation key, from its length. */
export function aesDerivationKeyType(key: Buffer): AesDerivationKeyType {
  return keyTypeOfLength(key.length);
}

/** A working key of one usage and type from a transaction key (X9.24-3 section 6.3.3). */
export function deriveAesWorkingKey(
  transactionKeyInput: HexOrBuffer,
  ksn: AesKsn,
  usage: AesKeyUsage,
  workingKeyType?: AesDukptKeyType,
): Buffer {
  const { key, type } = checkDerivationKey(transactionKeyInput, 'transaction key');
  const wanted = workingKeyType ?? type;
  if (AES_DUKPT_KEY_TYPES[wanted].bits > AES_DUKPT_KEY_TYPES[type].bits) {
    throw new PosError(
      'CODPOS_CRYPTO_KEY_TYPE',
      `a ${type} derivation key cannot derive a stronger ${wanted} working key (X9.24-3)`,
      { details: { keyType: wanted } },
    );
  }
  const data = aesDerivationData(AES_KEY_USAGE[usage], wanted, counterData(ksn, aesKsnCounter(ksn)));
  return deriveKey(key, data, AES_DUKPT_KEY_TYPES[wanted].bits);
}

export interface AesDukptKeys {
  initialKey: Buffer;
  transactionKey: Buffer;
  /** PIN encryption (usage 1000): the ISO 9564 format 4 key. */
  pinKey: Buffer;
  /** MAC generation (2000): the request MAC. */
  macKey: Buffer;
  /** MAC verification (2001): the response MAC. */
  macVerifyKey: Buffer;
  /** Data encryption, encrypt (3000): request data. */
  dataKey: Buffer;
  /** Data encryption, decrypt (3001): response data. */
  dataDecryptKey: Buffer;
}

/**
 * Host side: every key of one transaction from the BDK (of type `keyType`,
 * inferred from its length when omitted) and the 12-byte KSN. Working keys have
 * the BDK's type unless `workingKeyType` says otherwise.
 */
export function deriveAesKeys(
  bdk: HexOrBuffer,
  ksn: AesKsn,
  keyType?: AesDerivationKeyType,
  workingKeyType?: AesDukptKeyType,
): AesDukptKeys {
  const initialKey = deriveAesInitialKey(bdk, ksn, keyType);
  const transactionKey = deriveAesTransactionKey(initialKey, ksn);
  const working = (usage: AesKeyUsage) => deriveAesWorkingKey(transactionKey, ksn, usage, workingKeyType);
  return {
    initialKey,
    transactionKey,
    pinKey: working('pinEncryption'),
    macKey: working('macGeneration'),
    macVerifyKey: working('macVerification'),
    dataKey: working('dataEncryptionEncrypt'),
    dataDecryptKey: working('dataEncryptionDecrypt'),
  };
}
