/**
 * The signing side of EMV offline data authentication (EMV Book 2), for virtual cards
 * and tests: a lab CA signs issuer certificates, an issuer signs ICC certificates and
 * static data, a card signs dynamic data. Never for production keys; the terminal
 * only ever verifies (oda.ts).
 */
import { constants, createHash, generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { rsaPublicKey, type RsaPublicKey } from './rsa.js';

export interface RsaKeyPair {
  privateKey: KeyObject;
  publicKey: RsaPublicKey;
}

/** A fresh RSA key pair (EMV lab keys use exponent 3 or 65537). */
export function generateRsaKeyPair(bits: number, exponent: 3 | 65537 = 3): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: exponent });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return { privateKey, publicKey: rsaPublicKey(Buffer.from(jwk.n, 'base64url'), Buffer.from(jwk.e, 'base64url')) };
}

/** The raw private-key operation on data as long as the modulus (the inverse of rsaRecover). */
export function rsaSignRaw(pair: RsaKeyPair, recoverable: Buffer): Buffer {
  if (recoverable.length !== pair.publicKey.modulus.length) {
    throw new PosError(
      'CODPOS_CRYPTO_RSA_INPUT_LENGTH',
      `data to sign must be ${pair.publicKey.modulus.length} bytes (got ${recoverable.length})`,
    );
  }
  return privateDecrypt({ key: pair.privateKey, padding: constants.RSA_NO_PADDING }, recoverable);
}

function sha1(...parts: Buffer[]): Buffer {
  const hash = createHash('sha1');
  for (const p of parts) hash.update(p);
  return hash.digest();
}

/** 6A || body || SHA-1(body || extra) || BC, signed. */
function signFramed(signer: RsaKeyPair, body: Buffer, hashedAfter: Buffer[]): Buffer {
  const framed = Buffer.concat([Buffer.from([0x6a]), body, sha1(body, ...hashedAfter), Buffer.from([0xbc])]);
  return rsaSignRaw(signer, framed);
}

function bcdPaddedF(digits: string, bytes: number): Buffer {
  return Buffer.from(digits.padEnd(bytes * 2, 'F'), 'hex');
}

function mmyy(expiry: string): Buffer {
  if (!/^[0-9]{4}$/.test(expiry))
    throw new PosError('CODPOS_CRYPTO_BAD_INPUT', 'certificate expiry must be MMYY digits');
  return Buffer.from(expiry, 'hex');
}

function splitModulus(modulus: Buffer, room: number): { leftmost: Buffer; remainder: Buffer } {
  if (modulus.length <= room)
    return {
      leftmost: Buffer.concat([modulus, Buffer.alloc(room - modulus.length, 0xbb)]),
      remainder: Buffer.alloc(0),
    };
  return { leftmost: modulus.subarray(0, room), remainder: Buffer.from(modulus.subarray(room)) };
}

export interface SignedCertificate {
  certificate: Buffer;
  /** Tag 92 / 9F48 content; empty when the modulus fits. */
  remainder: Buffer;
  exponent: Buffer;
}

/** Issuer Public Key Certificate (tag 90), format 02, signed by the CA. */
export function buildIssuerCertificate(options: {
  ca: RsaKeyPair;
  issuerKey: RsaPublicKey;
  issuerId: string;
  expiry: string;
  serial: Buffer;
}): SignedCertificate {
  const nca = options.ca.publicKey.modulus.length;
  const { leftmost, remainder } = splitModulus(options.issuerKey.modulus, nca - 36);
  const body = Buffer.concat([
    Buffer.from([0x02]),
    bcdPaddedF(options.issuerId, 4),
    mmyy(options.expiry),
    options.serial,
    Buffer.from([0x01, 0x01, options.issuerKey.modulus.length, options.issuerKey.exponent.length]),
    leftmost,
  ]);
  return {
    certificate: signFramed(options.ca, body, [remainder, options.issuerKey.exponent]),
    remainder,
    exponent: options.issuerKey.exponent,
  };
}

/** ICC Public Key Certificate (tag 9F46), format 04, signed by the issuer over the static data too. */
export function buildIccCertificate(options: {
  issuer: RsaKeyPair;
  iccKey: RsaPublicKey;
  pan: string;
  expiry: string;
  serial: Buffer;
  staticData: Buffer;
}): SignedCertificate {
  const ni = options.issuer.publicKey.modulus.length;
  const { leftmost, remainder } = splitModulus(options.iccKey.modulus, ni - 42);
  const body = Buffer.concat([
    Buffer.from([0x04]),
    bcdPaddedF(options.pan, 10),
    mmyy(options.expiry),
    options.serial,
    Buffer.from([0x01, 0x01, options.iccKey.modulus.length, options.iccKey.exponent.length]),
    leftmost,
  ]);
  return {
    certificate: signFramed(options.issuer, body, [remainder, options.iccKey.exponent, options.staticData]),
    remainder,
    exponent: options.iccKey.exponent,
  };
}

/** Signed Static Application Data (tag 93), format 03, for SDA. */
export function signStaticData(options: { issuer: RsaKeyPair; dac: Buffer; staticData: Buffer }): Buffer {
  const ni = options.issuer.publicKey.modulus.length;
  const body = Buffer.concat([Buffer.from([0x03, 0x01]), options.dac, Buffer.alloc(ni - 26, 0xbb)]);
  return signFramed(options.issuer, body, [options.staticData]);
}

/** Signed Dynamic Application Data (tag 9F4B), format 05: DDA (terminalData = DDOL data) or CDA (terminalData = UN). */
export function signDynamicData(options: { icc: RsaKeyPair; dynamicData: Buffer; terminalData: Buffer }): Buffer {
  const nic = options.icc.publicKey.modulus.length;
  const pad = nic - options.dynamicData.length - 25;
  if (pad < 0)
    throw new PosError(
      'CODPOS_CRYPTO_DATA_LENGTH',
      `ICC dynamic data of ${options.dynamicData.length} bytes does not fit a ${nic}-byte key`,
    );
  const body = Buffer.concat([
    Buffer.from([0x05, 0x01, options.dynamicData.length]),
    options.dynamicData,
    Buffer.alloc(pad, 0xbb),
  ]);
  return signFramed(options.icc, body, [options.terminalData]);
}

/** ICC Dynamic Data for DDA: IDN length || IDN. */
export function ddaDynamicData(idn: Buffer): Buffer {
  return Buffer.concat([Buffer.from([idn.length]), idn]);
}

/** ICC Dynamic Data for CDA: IDN length || IDN || CID || AC || SHA-1(transaction data). */
export function cdaDynamicData(options: {
  idn: Buffer;
  cid: number;
  cryptogram: Buffer;
  transactionData: Buffer;
}): Buffer {
  return Buffer.concat([
    Buffer.from([options.idn.length]),
    options.idn,
    Buffer.from([options.cid]),
    options.cryptogram,
    sha1(options.transactionData),
  ]);
}
