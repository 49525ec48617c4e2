/**
 * EMV offline data authentication, card side of the trust chain (EMV Book 2 sections
 * 5 and 6): CA public key -> issuer public key -> ICC public key -> signed data.
 *
 * Every step is a check with a name. Outcomes are data: a certificate that fails a
 * check returns `{ ok: false, failed: '<check>' }` (the EMV kernel sets the TVR bit
 * from it); only programming errors throw. The raw RSA step is rsa.ts.
 */
import { createHash } from 'node:crypto';
import { isPosError, PosError } from '../../config/errors.js';
import { hexUpper, toBytes, type HexOrBuffer } from './bytes.js';
import { rsaPublicKey, rsaRecover, type RsaPublicKey } from './rsa.js';

/** A certification authority public key as the terminal's CAPK table holds it. */
export interface CaPublicKey {
  rid: HexOrBuffer;
  index: HexOrBuffer | number;
  modulus: HexOrBuffer;
  exponent: HexOrBuffer;
  /** SHA-1 of RID || index || modulus || exponent; checked when present. */
  sha1?: HexOrBuffer;
}

/** Every check, named after what failed. */
export type OdaCheck =
  | 'capk_invalid'
  | 'capk_checksum'
  | `${SignedItem}_length`
  | `${SignedItem}_range`
  | `${SignedItem}_trailer`
  | `${SignedItem}_header`
  | `${SignedItem}_format`
  | `${SignedItem}_hash_algorithm`
  | `${SignedItem}_hash`
  | 'issuer_pk_algorithm'
  | 'issuer_remainder'
  | 'issuer_id_mismatch'
  | 'issuer_cert_expired'
  | 'issuer_cert_revoked'
  | 'issuer_key_invalid'
  | 'icc_pk_algorithm'
  | 'icc_remainder'
  | 'icc_pan_mismatch'
  | 'icc_cert_expired'
  | 'icc_key_invalid'
  | 'sdad_dynamic_data'
  | 'cda_cid_mismatch'
  | 'cda_transaction_data_hash';

type SignedItem = 'issuer_cert' | 'icc_cert' | 'ssad' | 'sdad';

export interface OdaFailure {
  ok: false;
  failed: OdaCheck;
  /** A sentence for logs and the technician; never card data. */
  reason: string;
}

export type OdaResult<T> = ({ ok: true } & T) | OdaFailure;

export interface IssuerPublicKey {
  key: RsaPublicKey;
  /** Issuer identifier digits (leftmost 3-8 PAN digits) from the certificate. */
  issuerId: string;
  /** Certificate expiry as MMYY. */
  expiry: string;
  serial: string;
}

export interface IccPublicKey {
  key: RsaPublicKey;
  /** The PAN the certificate binds to (digits; handle as card data). */
  pan: string;
  expiry: string;
  serial: string;
}

const SHA1_LENGTH = 20;
const HASH_SHA1 = 0x01;
const PK_ALGORITHM_RSA = 0x01;

function fail(failed: OdaCheck, reason: string): OdaFailure {
  return { ok: false, failed, reason };
}

function sha1(...parts: Buffer[]): Buffer {
  const hash = createHash('sha1');
  for (const p of parts) hash.update(p);
  return hash.digest();
}

/** SHA-1 over RID || index || modulus || exponent equals the published checksum. */
export function capkChecksumValid(capk: CaPublicKey): boolean {
  if (capk.sha1 === undefined) return false;
  const index = typeof capk.index === 'number' ? Buffer.from([capk.index]) : toBytes(capk.index, 'CAPK index', [1]);
  const digest = sha1(
    toBytes(capk.rid, 'CAPK RID', [5]),
    index,
    toBytes(capk.modulus, 'CAPK modulus'),
    toBytes(capk.exponent, 'CAPK exponent'),
  );
  return digest.equals(toBytes(capk.sha1, 'CAPK SHA-1', [20]));
}

/**
 * Recovers one signed item and runs the checks every item shares (Book 2 5.3 steps 1-4,
 * 6.4 steps 1-3): length = modulus length, below the modulus, trailer BC, header 6A,
 * the expected format byte, and a hash algorithm we know (SHA-1).
 */
function recoverSigned(
  key: RsaPublicKey,
  signed: Buffer,
  item: SignedItem,
  format: number,
): OdaResult<{ recovered: Buffer }> {
  if (!Buffer.isBuffer(signed)) return fail(`${item}_length`, `${item} is missing`);
  let recovered: Buffer;
  try {
    recovered = rsaRecover(key, signed);
  } catch (error) {
    if (isPosError(error, 'CODPOS_CRYPTO_RSA_INPUT_LENGTH'))
      return fail(`${item}_length`, `${item} is ${signed.length} bytes, the key modulus ${key.modulus.length}`);
    if (isPosError(error, 'CODPOS_CRYPTO_RSA_INPUT_RANGE'))
      return fail(`${item}_range`, `${item} is not below the key modulus`);
    throw error;
  }
  if (recovered[recovered.length - 1] !== 0xbc)
    return fail(`${item}_trailer`, `${item} recovered data does not end with BC`);
  if (recovered[0] !== 0x6a) return fail(`${item}_header`, `${item} recovered data does not start with 6A`);
  if (recovered[1] !== format)
    return fail(
      `${item}_format`,
      `${item} format is ${hexUpper(recovered.subarray(1, 2))}, expected ${format.toString(16).padStart(2, '0')}`,
    );
  const hashAlgorithm = item === 'issuer_cert' ? recovered[11] : item === 'icc_cert' ? recovered[17] : recovered[2];
  if (hashAlgorithm !== HASH_SHA1)
    return fail(`${item}_hash_algorithm`, `${item} names hash algorithm ${hashAlgorithm}, only 01 (SHA-1) is known`);
  return { ok: true, recovered };
}

/** The data a signed item's hash covers: everything between header and hash. */
function signedBody(recovered: Buffer): Buffer {
  return recovered.subarray(1, recovered.length - SHA1_LENGTH - 1);
}

function signedHash(recovered: Buffer): Buffer {
  return recovered.subarray(recovered.length - SHA1_LENGTH - 1, recovered.length - 1);
}

/** A transaction date: a Date, or EMV 9A as 'YYMMDD' hex/BCD. */
export type TransactionDate = Date | string | Buffer;

function yearMonth(date: TransactionDate): number {
  if (date instanceof Date) return date.getUTCFullYear() * 12 + date.getUTCMonth();
  const digits = typeof date === 'string' ? date : date.toString('hex');
  if (!/^[0-9]{6}$/.test(digits))
    throw new PosError('CODPOS_CRYPTO_BAD_INPUT', 'transaction date must be YYMMDD digits (tag 9A)');
  return windowYear(Number(digits.slice(0, 2))) * 12 + Number(digits.slice(2, 4)) - 1;
}

/** EMV's two-digit years: 00-49 are 20xx, 50-99 are 19xx. */
function windowYear(yy: number): number {
  return yy < 50 ? 2000 + yy : 1900 + yy;
}

/** True when an MMYY (BCD) expiry is a real month and not before the transaction month. */
function notExpired(mmyy: Buffer, today: TransactionDate): { valid: boolean; text: string } {
  const text = mmyy.toString('hex');
  if (!/^[0-9]{4}$/.test(text)) return { valid: false, text };
  const month = Number(text.slice(0, 2));
  if (month < 1 || month > 12) return { valid: false, text };
  const expiry = windowYear(Number(text.slice(2, 4))) * 12 + month - 1;
  return { valid: expiry >= yearMonth(today), text };
}

function digitsOf(bcdPaddedWithF: Buffer): string {
  return bcdPaddedWithF.toString('hex').toUpperCase().replace(/F+$/, '');
}

function buildKey(modulus: Buffer, exponent: Buffer, failed: OdaCheck): OdaResult<{ key: RsaPublicKey }> {
  try {
    return { ok: true, key: rsaPublicKey(modulus, exponent) };
  } catch (error) {
    if (error instanceof PosError) return fail(failed, error.message);
    throw error;
  }
}

export interface IssuerKeyInput {
  capk: CaPublicKey;
  /** Tag 90. */
  certificate: Buffer;
  /** Tag 92, when the issuer modulus does not fit in the certificate. */
  remainder?: Buffer;
  /** Tag 9F32. */
  exponent: Buffer;
  /** Application PAN (tag 5A) as digits. */
  pan: string;
  transactionDate: TransactionDate;
  /** CA revocation list lookup (RID, index, serial as hex); false when absent. */
  isRevoked?: (rid: string, index: string, serial: string) => boolean;
}

/** EMV Book 2 section 5.3 / 6.3: the issuer public key from its certificate. */
export function recoverIssuerPublicKey(input: IssuerKeyInput): OdaResult<{ issuer: IssuerPublicKey }> {
  let ca: RsaPublicKey;
  let rid: string;
  let index: string;
  try {
    rid = hexUpper(toBytes(input.capk.rid, 'CAPK RID', [5]));
    index =
      typeof input.capk.index === 'number'
        ? hexUpper(Buffer.from([input.capk.index]))
        : hexUpper(toBytes(input.capk.index, 'CAPK index', [1]));
    if (input.capk.sha1 !== undefined && !capkChecksumValid(input.capk))
      return fail('capk_checksum', 'CA public key does not match its SHA-1 checksum');
    ca = rsaPublicKey(input.capk.modulus, input.capk.exponent);
  } catch (error) {
    if (error instanceof PosError) return fail('capk_invalid', error.message);
    throw error;
  }
  const nca = ca.modulus.length;
  const step = recoverSigned(ca, input.certificate, 'issuer_cert', 0x02);
  if (!step.ok) return step;
  const r = step.recovered;
  const remainder = input.remainder ?? Buffer.alloc(0);
  if (!sha1(signedBody(r), remainder, input.exponent).equals(signedHash(r)))
    return fail('issuer_cert_hash', 'issuer certificate hash does not match');
  const issuerId = digitsOf(r.subarray(2, 6));
  if (issuerId.length < 3 || !/^[0-9]+$/.test(issuerId) || !input.pan.startsWith(issuerId)) {
    return fail('issuer_id_mismatch', 'issuer identifier in the certificate does not match the leftmost PAN digits');
  }
  const expiry = notExpired(r.subarray(6, 8), input.transactionDate);
  if (!expiry.valid)
    return fail('issuer_cert_expired', `issuer certificate expired or has no valid expiry (MMYY ${expiry.text})`);
  const serial = hexUpper(r.subarray(8, 11));
  if (input.isRevoked?.(rid, index, serial))
    return fail('issuer_cert_revoked', `issuer certificate ${serial} under CA ${rid}/${index} is revoked`);
  if (r[12] !== PK_ALGORITHM_RSA)
    return fail('issuer_pk_algorithm', `issuer public key algorithm ${r[12]} is not 01 (RSA)`);
  const ni = r[13]!;
  const leftmost = r.subarray(15, nca - SHA1_LENGTH - 1);
  const expectedRemainder = Math.max(ni - leftmost.length, 0);
  if (remainder.length !== expectedRemainder) {
    return fail(
      'issuer_remainder',
      `issuer public key remainder (tag 92) must be ${expectedRemainder} bytes (got ${remainder.length})`,
    );
  }
  const modulus = ni <= leftmost.length ? leftmost.subarray(0, ni) : Buffer.concat([leftmost, remainder]);
  const built = buildKey(modulus, input.exponent, 'issuer_key_invalid');
  if (!built.ok) return built;
  return { ok: true, issuer: { key: built.key, issuerId, expiry: expiry.text, serial } };
}

export interface IccKeyInput {
  issuer: IssuerPublicKey;
  /** Tag 9F46. */
  certificate: Buffer;
  /** Tag 9F48. */
  remainder?: Buffer;
  /** Tag 9F47. */
  exponent: Buffer;
  /** Static data to authenticate: the records named by the AFL (and the AIP when 9F4A asks). */
  staticData: Buffer;
  pan: string;
  transactionDate: TransactionDate;
}

/** EMV Book 2 section 6.4: the ICC public key from its certificate. */
export function recoverIccPublicKey(input: IccKeyInput): OdaResult<{ icc: IccPublicKey }> {
  const ni = input.issuer.key.modulus.length;
  const step = recoverSigned(input.issuer.key, input.certificate, 'icc_cert', 0x04);
  if (!step.ok) return step;
  const r = step.recovered;
  const remainder = input.remainder ?? Buffer.alloc(0);
  if (!sha1(signedBody(r), remainder, input.exponent, input.staticData).equals(signedHash(r)))
    return fail('icc_cert_hash', 'ICC certificate hash does not match');
  const certPan = digitsOf(r.subarray(2, 12));
  if (certPan !== input.pan.toUpperCase().replace(/F+$/, ''))
    return fail('icc_pan_mismatch', 'PAN in the ICC certificate is not the application PAN');
  const expiry = notExpired(r.subarray(12, 14), input.transactionDate);
  if (!expiry.valid)
    return fail('icc_cert_expired', `ICC certificate expired or has no valid expiry (MMYY ${expiry.text})`);
  if (r[18] !== PK_ALGORITHM_RSA) return fail('icc_pk_algorithm', `ICC public key algorithm ${r[18]} is not 01 (RSA)`);
  const nic = r[19]!;
  const leftmost = r.subarray(21, ni - SHA1_LENGTH - 1);
  const expectedRemainder = Math.max(nic - leftmost.length, 0);
  if (remainder.length !== expectedRemainder)
    return fail(
      'icc_remainder',
      `ICC public key remainder (tag 9F48) must be ${expectedRemainder} bytes (got ${remainder.length})`,
    );
  const modulus = nic <= leftmost.length ? leftmost.subarray(0, nic) : Buffer.concat([leftmost, remainder]);
  const built = buildKey(modulus, input.exponent, 'icc_key_invalid');
  if (!built.ok) return built;
  return { ok: true, icc: { key: built.key, pan: certPan, expiry: expiry.text, serial: hexUpper(r.subarray(14, 17)) } };
}

/** EMV Book 2 section 5.4: verify Signed Static Application Data (tag 93); returns the DAC (9F45). */
export function verifySsad(issuer: IssuerPublicKey, ssad: Buffer, staticData: Buffer): OdaResult<{ dac: Buffer }> {
  const step = recoverSigned(issuer.key, ssad, 'ssad', 0x03);
  if (!step.ok) return step;
  const r = step.recovered;
  if (!sha1(signedBody(r), staticData).equals(signedHash(r)))
    return fail('ssad_hash', 'signed static application data hash does not match');
  return { ok: true, dac: Buffer.from(r.subarray(3, 5)) };
}

/** What SDAD recovery yields for DDA and CDA. */
export interface SignedDynamicData {
  /** ICC Dynamic Data as signed (its first byte is the IDN length). */
  dynamicData: Buffer;
  /** ICC Dynamic Number (tag 9F4C). */
  idn: Buffer;
}

function recoverSdad(icc: IccPublicKey, sdad: Buffer, terminalData: Buffer): OdaResult<SignedDynamicData> {
  const step = recoverSigned(icc.key, sdad, 'sdad', 0x05);
  if (!step.ok) return step;
  const r = step.recovered;
  const ldd = r[3]!;
  if (ldd < 1 || 4 + ldd > r.length - SHA1_LENGTH - 1)
    return fail('sdad_dynamic_data', `ICC dynamic data length ${ldd} does not fit the signature`);
  if (!sha1(signedBody(r), terminalData).equals(signedHash(r)))
    return fail('sdad_hash', 'signed dynamic application data hash does not match');
  const dynamicData = Buffer.from(r.subarray(4, 4 + ldd));
  const idnLength = dynamicData[0]!;
  if (idnLength < 2 || idnLength > 8 || 1 + idnLength > ldd)
    return fail(
      'sdad_dynamic_data',
      `ICC dynamic number length ${idnLength} is not 2 to 8 bytes within the dynamic data`,
    );
  return { ok: true, dynamicData, idn: Buffer.from(dynamicData.subarray(1, 1 + idnLength)) };
}

/** EMV Book 2 section 6.5: verify DDA's Signed Dynamic Application Data (tag 9F4B) over the DDOL data. */
export function verifyDdaSignature(icc: IccPublicKey, sdad: Buffer, ddolData: Buffer): OdaResult<SignedDynamicData> {
  return recoverSdad(icc, sdad, ddolData);
}

export interface CdaInput {
  icc: IccPublicKey;
  /** Tag 9F4B from the GENERATE AC response. */
  sdad: Buffer;
  /** The terminal's Unpredictable Number (tag 9F37) sent in the CDOL data. */
  unpredictableNumber: Buffer;
  /** Cryptogram Information Data (tag 9F27) returned by the card. */
  cid: number;
  /** PDOL data || CDOL1 data [|| CDOL2 data] || GENERATE AC response TLVs except 9F4B, in card order. */
  transactionData: Buffer;
}

/** EMV Book 2 section 6.6: verify a combined DDA/AC signature; returns IDN, CID, AC. */
export function verifyCdaSignature(
  input: CdaInput,
): OdaResult<SignedDynamicData & { cid: number; cryptogram: Buffer; transactionDataHash: Buffer }> {
  const sdad = recoverSdad(input.icc, input.sdad, input.unpredictableNumber);
  if (!sdad.ok) return sdad;
  const d = sdad.dynamicData;
  const idnLength = d[0]!;
  const at = 1 + idnLength;
  if (d.length < at + 1 + 8 + SHA1_LENGTH)
    return fail('sdad_dynamic_data', 'CDA dynamic data is too short for CID, cryptogram and transaction data hash');
  const cid = d[at]!;
  if (cid !== input.cid) return fail('cda_cid_mismatch', 'CID in the signature differs from the CID the card returned');
  const cryptogram = Buffer.from(d.subarray(at + 1, at + 9));
  const transactionDataHash = Buffer.from(d.subarray(at + 9, at + 9 + SHA1_LENGTH));
  if (!sha1(input.transactionData).equals(transactionDataHash))
    return fail('cda_transaction_data_hash', 'transaction data hash does not match the signed one');
  return { ...sdad, cid, cryptogram, transactionDataHash };
}

interface ChainInput {
  capk: CaPublicKey;
  issuerCertificate: Buffer;
  issuerRemainder?: Buffer;
  issuerExponent: Buffer;
  staticData: Buffer;
  pan: string;
  transactionDate: TransactionDate;
  isRevoked?: IssuerKeyInput['isRevoked'];
}

interface IccChainInput extends ChainInput {
  iccCertificate: Buffer;
  iccRemainder?: Buffer;
  iccExponent: Buffer;
}

function issuerOf(input: ChainInput): OdaResult<{ issuer: IssuerPublicKey }> {
  return recoverIssuerPublicKey({
    capk: input.capk,
    certificate: input.issuerCertificate,
    remainder: input.issuerRemainder,
    exponent: input.issuerExponent,
    pan: input.pan,
    transactionDate: input.transactionDate,
    isRevoked: input.isRevoked,
  });
}

function iccOf(input: IccChainInput): OdaResult<{ issuer: IssuerPublicKey; icc: IccPublicKey }> {
  const issuer = issuerOf(input);
  if (!issuer.ok) return issuer;
  const icc = recoverIccPublicKey({
    issuer: issuer.issuer,
    certificate: input.iccCertificate,
    remainder: input.iccRemainder,
    exponent: input.iccExponent,
    staticData: input.staticData,
    pan: input.pan,
    transactionDate: input.transactionDate,
  });
  if (!icc.ok) return icc;
  return { ok: true, issuer: issuer.issuer, icc: icc.icc };
}

/** SDA end to end: CA key -> issuer key -> SSAD; returns the DAC. */
export function authenticateSda(
  input: ChainInput & { ssad: Buffer },
): OdaResult<{ issuer: IssuerPublicKey; dac: Buffer }> {
  const issuer = issuerOf(input);
  if (!issuer.ok) return issuer;
  const ssad = verifySsad(issuer.issuer, input.ssad, input.staticData);
  if (!ssad.ok) return ssad;
  return { ok: true, issuer: issuer.issuer, dac: ssad.dac };
}

/** DDA end to end: CA key -> issuer key -> ICC key -> SDAD over the DDOL data. */
export function authenticateDda(
  input: IccChainInput & { sdad: Buffer; ddolData: Buffer },
): OdaResult<{ issuer: IssuerPublicKey; icc: IccPublicKey } & SignedDynamicData> {
  const chain = iccOf(input);
  if (!chain.ok) return chain;
  const sig = verifyDdaSignature(chain.icc, input.sdad, input.ddolData);
  if (!sig.ok) return sig;
  return { ok: true, issuer: chain.issuer, icc: chain.icc, dynamicData: sig.dynamicData, idn: sig.idn };
}

/** CDA end to end: CA key -> issuer key -> ICC key -> SDAD from GENERATE AC, with the transaction data hash. */
export function authenticateCda(input: IccChainInput & Omit<CdaInput, 'icc'>): OdaResult<
  { issuer: IssuerPublicKey; icc: IccPublicKey } & SignedDynamicData & {
      cid: number;
      cryptogram: Buffer;
      transactionDataHash: Buffer;
    }
> {
  const chain = iccOf(input);
  if (!chain.ok) return chain;
  const sig = verifyCdaSignature({
    icc: chain.icc,
    sdad: input.sdad,
    unpredictableNumber: input.unpredictableNumber,
    cid: input.cid,
    transactionData: input.transactionData,
  });
  if (!sig.ok) return sig;
  const { ok: _ok, ...rest } = sig;
  return { ok: true, issuer: chain.issuer, icc: chain.icc, ...rest };
}
