/**
 * Block-cipher primitives over Buffers, all on node:crypto.
 *
 * OpenSSL 3 moved single DES (`des-ecb`) to the legacy provider, which codpos never
 * loads; single DES is therefore TDES with K|K|K, which is mathematically the same
 * cipher (E_K D_K E_K = E_K). Padding is always explicit: every cipher object gets
 * `setAutoPadding(false)`, and callers pad with iso9797Pad1/iso9797Pad2.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { toBytes, xor, type HexOrBuffer } from './bytes.js';

const ZERO_IV_8 = Buffer.alloc(8);
const ZERO_IV_16 = Buffer.alloc(16);

function run(cipherName: string, key: Buffer, iv: Buffer | null, data: Buffer, encrypt: boolean): Buffer {
  if (iv !== null) {
    const wanted = cipherName.startsWith('aes') ? 16 : 8;
    if (iv.length !== wanted)
      throw new PosError('CODPOS_CRYPTO_IV_LENGTH', `the CBC IV must be ${wanted} bytes (got ${iv.length})`);
  }
  const cipher = encrypt ? createCipheriv(cipherName, key, iv) : createDecipheriv(cipherName, key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

function requireBlocks(data: Buffer, blockSize: number, what: string): void {
  if (data.length % blockSize !== 0) {
    throw new PosError(
      'CODPOS_CRYPTO_DATA_LENGTH',
      `${what} must be a multiple of ${blockSize} bytes (got ${data.length}); pad it first (ISO 9797-1 method 1 or 2)`,
      {
        details: { length: data.length, blockSize },
      },
    );
  }
}

function desKey(key: Buffer): Buffer {
  if (key.length !== 8)
    throw new PosError('CODPOS_CRYPTO_KEY_LENGTH', `a single-DES key must be 8 bytes (got ${key.length})`);
  return Buffer.concat([key, key, key]);
}

/** 16-byte keys are K1|K2 (two-key TDES, used as K1|K2|K1); 24-byte keys are K1|K2|K3. */
function tdesKey(key: Buffer): Buffer {
  if (key.length === 16) return Buffer.concat([key, key.subarray(0, 8)]);
  if (key.length === 24) return key;
  throw new PosError('CODPOS_CRYPTO_KEY_LENGTH', `a TDES key must be 16 or 24 bytes (got ${key.length})`);
}

function aesCipherName(key: Buffer, mode: 'ecb' | 'cbc'): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new PosError('CODPOS_CRYPTO_KEY_LENGTH', `an AES key must be 16, 24 or 32 bytes (got ${key.length})`);
  }
  return `aes-${key.length * 8}-${mode}`;
}

export function desEcbEncrypt(key: Buffer, data: Buffer): Buffer {
  requireBlocks(data, 8, 'DES data');
  return run('des-ede3', desKey(key), null, data, true);
}

export function desEcbDecrypt(key: Buffer, data: Buffer): Buffer {
  requireBlocks(data, 8, 'DES data');
  return run('des-ede3', desKey(key), null, data, false);
}

export function tdesEcbEncrypt(key: Buffer, data: Buffer): Buffer {
  requireBlocks(data, 8, 'TDES data');
  return run('des-ede3', tdesKey(key), null, data, true);
}

export function tdesEcbDecrypt(key: Buffer, data: Buffer): Buffer {
  requireBlocks(data, 8, 'TDES data');
  return run('des-ede3', tdesKey(key), null, data, false);
}

export function tdesCbcEncrypt(key: Buffer, data: Buffer, iv: Buffer = ZERO_IV_8): Buffer {
  requireBlocks(data, 8, 'TDES data');
  return run('des-ede3-cbc', tdesKey(key), iv, data, true);
}

export function tdesCbcDecrypt(key: Buffer, data: Buffer, iv: Buffer = ZERO_IV_8): Buffer {
  requireBlocks(data, 8, 'TDES data');
  return run('des-ede3-cbc', tdesKey(key), iv, data, false);
}

export function aesEcbEncrypt(key: Buffer, data: Buffer): Buffer {
  requireBlocks(data, 16, 'AES data');
  return run(aesCipherName(key, 'ecb'), key, null, data, true);
}

export function aesEcbDecrypt(key: Buffer, data: Buffer): Buffer {
  requireBlocks(data, 16, 'AES data');
  return run(aesCipherName(key, 'ecb'), key, null, data, false);
}

export function aesCbcEncrypt(key: Buffer, data: Buffer, iv: Buffer = ZERO_IV_16): Buffer {
  requireBlocks(data, 16, 'AES data');
  return run(aesCipherName(key, 'cbc'), key, iv, data, true);
}

export function aesCbcDecrypt(key: Buffer, data: Buffer, iv: Buffer = ZERO_IV_16): Buffer {
  requireBlocks(data, 16, 'AES data');
  return run(aesCipherName(key, 'cbc'), key, iv, data, false);
}

/**
 * ISO 9797-1 padding method 1: zeros up to a whole block. Data already a whole
 * number of blocks gets nothing; empty data becomes one zero block.
 */
export function iso9797Pad1(data: Buffer, blockSize = 8): Buffer {
  const rem = data.length % blockSize;
  if (data.length > 0 && rem === 0) return Buffer.from(data);
  return Buffer.concat([data, Buffer.alloc(blockSize - rem)]);
}

/** ISO 9797-1 padding method 2: one 0x80 byte, then zeros up to a whole block (always adds). */
export function iso9797Pad2(data: Buffer, blockSize = 8): Buffer {
  const padded = Buffer.alloc((Math.floor(data.length / blockSize) + 1) * blockSize);
  data.copy(padded);
  padded[data.length] = 0x80;
  return padded;
}

/** Removes ISO 9797-1 method 2 padding; a block without it is a PosError. */
export function iso9797Unpad2(data: Buffer): Buffer {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0) i--;
  if (i < 0 || data[i] !== 0x80)
    throw new PosError('CODPOS_CRYPTO_PADDING', 'data does not end with ISO 9797-1 method 2 padding (80 00..)');
  return data.subarray(0, i);
}

export type MacPadding = 'iso9797-1' | 'iso9797-2' | 'none';

function pad(data: Buffer, padding: MacPadding, blockSize: number): Buffer {
  if (padding === 'iso9797-1') return iso9797Pad1(data, blockSize);
  if (padding === 'iso9797-2') return iso9797Pad2(data, blockSize);
  requireBlocks(data, blockSize, 'unpadded MAC data');
  return data;
}

/**
 * ISO 9797-1 MAC algorithm 3 ("retail MAC", ANSI X9.19) with DES and a 16-byte key
 * K1|K2: single-DES CBC-MAC under K1, then the last block decrypted under K2 and
 * encrypted under K1. Returns the full 8 bytes; callers truncate (ARPC method 2: 4).
 */
export function retailMac(key: Buffer, data: Buffer, padding: MacPadding = 'iso9797-1'): Buffer {
  if (key.length !== 16)
    throw new PosError('CODPOS_CRYPTO_KEY_LENGTH', `a retail MAC key must be 16 bytes (got ${key.length})`);
  const k1 = key.subarray(0, 8);
  const k2 = key.subarray(8, 16);
  const padded = pad(data, padding, 8);
  const chain = run('des-ede3-cbc', desKey(k1), ZERO_IV_8, padded, true);
  const last = chain.subarray(chain.length - 8);
  return desEcbEncrypt(k1, desEcbDecrypt(k2, last));
}

/** Doubling in GF(2^128) as RFC 4493 defines it for subkey generation. */
function doubleBlock(block: Buffer): Buffer {
  const out = Buffer.alloc(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const b = block[i]!;
    out[i] = ((b << 1) | carry) & 0xff;
    carry = b >> 7;
  }
  if (carry) out[15] = out[15]! ^ 0x87;
  return out;
}

/** AES-CMAC (RFC 4493; NIST SP 800-38B) for AES-128/192/256 keys; returns 16 bytes. */
export function aesCmac(key: Buffer, message: Buffer): Buffer {
  const l = aesEcbEncrypt(key, ZERO_IV_16);
  const k1 = doubleBlock(l);
  const complete = message.length > 0 && message.length % 16 === 0;
  let last: Buffer;
  let body: Buffer;
  if (complete) {
    body = message.subarray(0, message.length - 16);
    last = xor(message.subarray(message.length - 16), k1);
  } else {
    const k2 = doubleBlock(k1);
    const fullBlocks = Math.floor(message.length / 16) * 16;
    body = message.subarray(0, fullBlocks);
    last = xor(iso9797Pad2(message.subarray(fullBlocks), 16), k2);
  }
  const chained = run(aesCipherName(key, 'cbc'), key, ZERO_IV_16, Buffer.concat([body, last]), true);
  return chained.subarray(chained.length - 16);
}

export type KcvAlgorithm = 'tdes' | 'aes';

export interface KcvOptions {
  algorithm?: KcvAlgorithm;
  /**
   * AES only: 'cmac' (ANSI X9.24-1:2017 Annex A: CMAC over a zero block, the default)
   * or 'encrypt-zeros' (legacy: the first bytes of E_K(0^16)).
   */
  aesMethod?: 'cmac' | 'encrypt-zeros';
  /** Bytes of check value; 3 by default (6 hex digits). */
  length?: number;
}

/** Key check value: TDES keys (8, 16 or 24 bytes) encrypt a zero block; AES keys see KcvOptions. */
export function kcv(keyInput: HexOrBuffer, options: KcvOptions = {}): Buffer {
  const algorithm = options.algorithm ?? 'tdes';
  const length = options.length ?? 3;
  if (algorithm === 'tdes') {
    const key = toBytes(keyInput, 'key', [8, 16, 24], 'CODPOS_CRYPTO_KEY_LENGTH');
    const block = key.length === 8 ? desEcbEncrypt(key, ZERO_IV_8) : tdesEcbEncrypt(key, ZERO_IV_8);
    return block.subarray(0, Math.min(length, 8));
  }
  const key = toBytes(keyInput, 'key', [16, 24, 32], 'CODPOS_CRYPTO_KEY_LENGTH');
  const block = options.aesMethod === 'encrypt-zeros' ? aesEcbEncrypt(key, ZERO_IV_16) : aesCmac(key, ZERO_IV_16);
  return block.subarray(0, Math.min(length, 16));
}

/** Sets each byte's low bit so the byte has odd parity (DES key convention). */
export function adjustOddParity(key: Buffer): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i++) {
    const b = out[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v; v >>= 1) ones += v & 1;
    out[i] = ones % 2 === 0 ? b | 1 : b;
  }
  return out;
}
