/**
 * EMV issuer-side cryptography (EMV Book 2 Annex A1.4, A1.3, 8.1-8.2) for the acquirer
 * host simulator and the virtual cards: ICC master key derivation (options A and B),
 * session keys, application cryptograms (ARQC/TC/AAC), ARPC methods 1 and 2, and the
 * issuer script (secure messaging) MAC, plus the scheme profiles Visa CVN 10/18 and
 * Mastercard CVN 16/17 that fix which of those a card uses.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { toBytes, xor, type HexOrBuffer } from './bytes.js';
import { adjustOddParity, retailMac, tdesEcbEncrypt } from './primitives.js';

const FF8 = Buffer.alloc(8, 0xff);

function masterKey(input: HexOrBuffer, field: string): Buffer {
  return toBytes(input, field, [16], 'CODPOS_CRYPTO_KEY_LENGTH');
}

function checkPanPsn(pan: string, psn: string): void {
  if (!/^[0-9]{1,19}$/.test(pan)) throw new PosError('CODPOS_CRYPTO_PAN', 'PAN must be 1 to 19 decimal digits');
  if (!/^[0-9]{2}$/.test(psn))
    throw new PosError(
      'CODPOS_CRYPTO_BAD_INPUT',
      'PAN sequence number (5F34) must be 2 digits; use 00 when the card has none',
    );
}

/** ICC MK = TDES(IMK, Y) || TDES(IMK, Y xor FF..), odd parity (Book 2 A1.4.1). */
function masterKeyFromY(imk: Buffer, y: Buffer): Buffer {
  return adjustOddParity(Buffer.concat([tdesEcbEncrypt(imk, y), tdesEcbEncrypt(imk, xor(y, FF8))]));
}

/** Option A: Y is the rightmost 16 digits of PAN || PSN (zero-padded on the left when shorter). */
export function deriveIccMasterKeyA(issuerMasterKey: HexOrBuffer, pan: string, psn = '00'): Buffer {
  checkPanPsn(pan, psn);
  const y = (pan + psn).slice(-16).padStart(16, '0');
  return masterKeyFromY(masterKey(issuerMasterKey, 'issuer master key'), Buffer.from(y, 'hex'));
}

/**
 * Option B (Book 2 A1.4.2), for PANs longer than 16 digits (shorter ones use option A):
 * Y is the SHA-1 of PAN || PSN, decimalised — its decimal digits in order, then its hex
 * letters A-F as 0-5 — and cut to 16 digits.
 */
export function deriveIccMasterKeyB(issuerMasterKey: HexOrBuffer, pan: string, psn = '00'): Buffer {
  checkPanPsn(pan, psn);
  if (pan.length <= 16) return deriveIccMasterKeyA(issuerMasterKey, pan, psn);
  const x = pan.length % 2 === 0 ? pan + psn : '0' + pan + psn;
  const digest = createHash('sha1').update(Buffer.from(x, 'hex')).digest('hex').toUpperCase();
  const decimals = digest.replace(/[A-F]/g, '');
  const letters = digest.replace(/[0-9]/g, '').replace(/[A-F]/g, (c) => String(c.charCodeAt(0) - 65));
  const y = (decimals + letters).slice(0, 16);
  return masterKeyFromY(masterKey(issuerMasterKey, 'issuer master key'), Buffer.from(y, 'hex'));
}

export type IccMasterKeyOption = 'A' | 'B';

export function deriveIccMasterKey(
  issuerMasterKey: HexOrBuffer,
  pan: string,
  psn: string,
  option: IccMasterKeyOption,
): Buffer {
  return option === 'A'
    ? deriveIccMasterKeyA(issuerMasterKey, pan, psn)
    : deriveIccMasterKeyB(issuerMasterKey, pan, psn);
}

/**
 * EMV Common Session Key Derivation (Book 2 A1.3): SK = TDES(MK, R with byte 2 = F0)
 * || TDES(MK, R with byte 2 = 0F), odd parity. R is 8 bytes (e.g. ATC || 00*6 for
 * Visa CVN 18, ATC || 0000 || UN for Mastercard, the ARQC for Mastercard scripts).
 */
export function deriveCommonSessionKey(iccMasterKey: HexOrBuffer, r: HexOrBuffer): Buffer {
  const mk = masterKey(iccMasterKey, 'ICC master key');
  const diversifier = toBytes(r, 'session key diversifier R', [8]);
  const f1 = Buffer.from(diversifier);
  f1[2] = 0xf0;
  const f2 = Buffer.from(diversifier);
  f2[2] = 0x0f;
  return adjustOddParity(Buffer.concat([tdesEcbEncrypt(mk, f1), tdesEcbEncrypt(mk, f2)]));
}

/** Visa secure messaging session key (VIS): MK xor (00*6 || ATC) | (00*6 || ATC xor FFFF). */
export function deriveVisaSmSessionKey(iccMasterKey: HexOrBuffer, atc: HexOrBuffer): Buffer {
  const mk = masterKey(iccMasterKey, 'ICC master key');
  const counter = toBytes(atc, 'ATC (9F36)', [2]);
  const mask = Buffer.concat([Buffer.alloc(6), counter, Buffer.alloc(6), xor(counter, Buffer.from([0xff, 0xff]))]);
  return xor(mk, mask);
}

/** How AC data is padded: 'emv' = ISO 9797-1 method 2 (80 00..), 'visa' = method 1 (zeros, none when aligned). */
export type AcPadding = 'emv' | 'visa';

/** Application cryptogram (ARQC, TC or AAC: same computation): ISO 9797-1 MAC algorithm 3, 8 bytes. */
export function generateAc(sessionKey: HexOrBuffer, data: Buffer, padding: AcPadding = 'emv'): Buffer {
  return retailMac(masterKey(sessionKey, 'AC session key'), data, padding === 'emv' ? 'iso9797-2' : 'iso9797-1');
}

/** Constant-time comparison of a cryptogram the card sent with the one the issuer computes. */
export function cryptogramsEqual(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

export function verifyAc(sessionKey: HexOrBuffer, data: Buffer, ac: Buffer, padding: AcPadding = 'emv'): boolean {
  return cryptogramsEqual(generateAc(sessionKey, data, padding), ac);
}

/** ARPC method 1 (Book 2 8.2.1): TDES(key, ARQC xor (ARC || 00*6)); 8 bytes. */
export function generateArpcMethod1(key: HexOrBuffer, arqc: Buffer, arc: HexOrBuffer): Buffer {
  const code = toBytes(arc, 'authorisation response code', [2]);
  return tdesEcbEncrypt(
    masterKey(key, 'ARPC key'),
    xor(toBytes(arqc, 'ARQC', [8]), Buffer.concat([code, Buffer.alloc(6)])),
  );
}

/** ARPC method 2 (Book 2 8.2.2): MAC alg 3 over ARQC || CSU || proprietary data (0-8 bytes), 80-padded; 4 bytes. */
export function generateArpcMethod2(
  key: HexOrBuffer,
  arqc: Buffer,
  csu: HexOrBuffer,
  proprietaryData: HexOrBuffer = Buffer.alloc(0),
): Buffer {
  const data = Buffer.concat([
    toBytes(arqc, 'ARQC', [8]),
    toBytes(csu, 'card status update', [4]),
    toBytes(proprietaryData, 'proprietary authentication data', [0, 1, 2, 3, 4, 5, 6, 7, 8]),
  ]);
  return retailMac(masterKey(key, 'ARPC key'), data, 'iso9797-2').subarray(0, 4);
}

/** Issuer script command MAC (secure messaging integrity, Book 2 9.2): MAC alg 3, 80-padded, 8 bytes (or fewer). */
export function generateScriptMac(sessionKey: HexOrBuffer, data: Buffer, length = 8): Buffer {
  if (!Number.isInteger(length) || length < 4 || length > 8)
    throw new PosError('CODPOS_CRYPTO_BAD_INPUT', `script MAC length must be 4 to 8 bytes (got ${length})`);
  return retailMac(masterKey(sessionKey, 'script MAC session key'), data, 'iso9797-2').subarray(0, length);
}

// ---------------------------------------------------------------------------------
// Scheme profiles

export type CvnProfile = 'visa-cvn10' | 'visa-cvn18' | 'mastercard-cvn16' | 'mastercard-cvn17';
export const CVN_PROFILES: readonly CvnProfile[] = ['visa-cvn10', 'visa-cvn18', 'mastercard-cvn16', 'mastercard-cvn17'];

/** What a profile fixes, as data (shown by docs and the host simulator). */
export const CVN_PROFILE_RULES: Record<
  CvnProfile,
  {
    masterKey: IccMasterKeyOption;
    sessionKey: string;
    acData: string;
    padding: AcPadding;
    arpc: string;
    scriptKey: string;
  }
> = {
  'visa-cvn10': {
    masterKey: 'A',
    sessionKey: 'none (ICC MK)',
    acData: 'terminal data || CVR (4 bytes)',
    padding: 'visa',
    arpc: 'method 1 with ICC MK',
    scriptKey: 'Visa SM key (ATC)',
  },
  'visa-cvn18': {
    masterKey: 'B',
    sessionKey: 'common, R = ATC || 00*6',
    acData: 'terminal data || IAD (9F10)',
    padding: 'emv',
    arpc: 'method 2 with session key',
    scriptKey: 'Visa SM key (ATC)',
  },
  'mastercard-cvn16': {
    masterKey: 'A',
    sessionKey: 'common, R = ATC || 0000 || UN',
    acData: 'terminal data || CVR (6 bytes)',
    padding: 'emv',
    arpc: 'method 1 with ICC MK',
    scriptKey: 'common, R = ARQC',
  },
  'mastercard-cvn17': {
    masterKey: 'A',
    sessionKey: 'common, R = ATC || 0000 || UN',
    acData: 'terminal data || CVR (6 bytes) || counters (8 bytes)',
    padding: 'emv',
    arpc: 'method 1 with ICC MK',
    scriptKey: 'common, R = ARQC',
  },
};

/** The transaction data a cryptogram covers, as the raw tag values. */
export interface AcTransactionData {
  amountAuthorized: Buffer; // 9F02, 6
  amountOther: Buffer; // 9F03, 6
  terminalCountryCode: Buffer; // 9F1A, 2
  tvr: Buffer; // 95, 5
  transactionCurrencyCode: Buffer; // 5F2A, 2
  transactionDate: Buffer; // 9A, 3
  transactionType: Buffer; // 9C, 1
  unpredictableNumber: Buffer; // 9F37, 4
  aip: Buffer; // 82, 2
  atc: Buffer; // 9F36, 2
  /** Issuer Application Data (9F10): CVN 18 hashes it whole; CVN 10/16/17 take the CVR (and counters) from it when not given. */
  iad?: Buffer;
  /** Card Verification Results: 4 bytes (Visa) or 6 bytes (Mastercard). */
  cvr?: Buffer;
  /** Mastercard CVN 17 application counters (8 bytes). */
  counters?: Buffer;
}

const TERMINAL_FIELDS: Array<[keyof AcTransactionData, string, number]> = [
  ['amountAuthorized', '9F02', 6],
  ['amountOther', '9F03', 6],
  ['terminalCountryCode', '9F1A', 2],
  ['tvr', '95', 5],
  ['transactionCurrencyCode', '5F2A', 2],
  ['transactionDate', '9A', 3],
  ['transactionType', '9C', 1],
  ['unpredictableNumber', '9F37', 4],
  ['aip', '82', 2],
  ['atc', '9F36', 2],
];

function field(tx: AcTransactionData, name: keyof AcTransactionData, tag: string, length: number): Buffer {
  const value = tx[name];
  if (!Buffer.isBuffer(value) || value.length !== length) {
    throw new PosError(
      'CODPOS_CRYPTO_AC_DATA',
      `${name} (${tag}) must be ${length} bytes${Buffer.isBuffer(value) ? ` (got ${value.length})` : ' (missing)'}`,
      { details: { field: name, tag } },
    );
  }
  return value;
}

function cvrOf(profile: CvnProfile, tx: AcTransactionData): Buffer {
  const length = profile === 'visa-cvn10' ? 4 : 6;
  if (tx.cvr !== undefined) return field(tx, 'cvr', 'CVR', length);
  // Visa IAD: length, DKI, CVN, CVR(4); Mastercard IAD: DKI, CVN, CVR(6), DAC/IDN(2), counters(8)
  const at = profile === 'visa-cvn10' ? 3 : 2;
  if (!tx.iad || tx.iad.length < at + length)
    throw new PosError('CODPOS_CRYPTO_AC_DATA', `${profile} needs the CVR, given as cvr or inside the IAD (9F10)`, {
      details: { field: 'cvr' },
    });
  return tx.iad.subarray(at, at + length);
}

function countersOf(tx: AcTransactionData): Buffer {
  if (tx.counters !== undefined) return field(tx, 'counters', 'counters', 8);
  if (!tx.iad || tx.iad.length < 18)
    throw new PosError(
      'CODPOS_CRYPTO_AC_DATA',
      'mastercard-cvn17 needs the counters, given as counters or inside the IAD (9F10)',
      { details: { field: 'counters' } },
    );
  return tx.iad.subarray(10, 18);
}

function checkProfile(profile: unknown): CvnProfile {
  if (CVN_PROFILES.includes(profile as CvnProfile)) return profile as CvnProfile;
  throw new PosError(
    'CODPOS_CRYPTO_CVN',
    `unknown cryptogram version profile ${String(profile)}; known: ${CVN_PROFILES.join(', ')}`,
  );
}

/** The bytes a profile's cryptogram is computed over (before padding). */
export function cvnAcData(profile: CvnProfile, tx: AcTransactionData): Buffer {
  checkProfile(profile);
  const terminal = TERMINAL_FIELDS.map(([name, tag, length]) => field(tx, name, tag, length));
  if (profile === 'visa-cvn18') {
    if (!tx.iad || tx.iad.length === 0)
      throw new PosError('CODPOS_CRYPTO_AC_DATA', 'visa-cvn18 needs the IAD (9F10)', { details: { field: 'iad' } });
    return Buffer.concat([...terminal, tx.iad]);
  }
  if (profile === 'mastercard-cvn17') return Buffer.concat([...terminal, cvrOf(profile, tx), countersOf(tx)]);
  return Buffer.concat([...terminal, cvrOf(profile, tx)]);
}

/** The ICC master key of a card under a profile (its derivation option). */
export function cvnIccMasterKey(profile: CvnProfile, issuerMasterKey: HexOrBuffer, pan: string, psn = '00'): Buffer {
  return deriveIccMasterKey(issuerMasterKey, pan, psn, CVN_PROFILE_RULES[checkProfile(profile)].masterKey);
}

/** The AC session key of a profile from the ICC master key (CVN 10 uses the master key itself). */
export function cvnSessionKey(
  profile: CvnProfile,
  iccMasterKey: HexOrBuffer,
  atc: Buffer,
  unpredictableNumber?: Buffer,
): Buffer {
  switch (checkProfile(profile)) {
    case 'visa-cvn10':
      return masterKey(iccMasterKey, 'ICC master key');
    case 'visa-cvn18':
      return deriveCommonSessionKey(iccMasterKey, Buffer.concat([toBytes(atc, 'ATC (9F36)', [2]), Buffer.alloc(6)]));
    default:
      if (!unpredictableNumber)
        throw new PosError('CODPOS_CRYPTO_AC_DATA', `${profile} session keys need the unpredictable number (9F37)`, {
          details: { field: 'unpredictableNumber' },
        });
      return deriveCommonSessionKey(
        iccMasterKey,
        Buffer.concat([
          toBytes(atc, 'ATC (9F36)', [2]),
          Buffer.alloc(2),
          toBytes(unpredictableNumber, 'unpredictable number (9F37)', [4]),
        ]),
      );
  }
}

/** Generates the ARQC/TC/AAC a card of this profile would send. */
export function generateCvnAc(profile: CvnProfile, iccMasterKey: HexOrBuffer, tx: AcTransactionData): Buffer {
  const key = cvnSessionKey(profile, iccMasterKey, tx.atc, tx.unpredictableNumber);
  return generateAc(key, cvnAcData(profile, tx), CVN_PROFILE_RULES[profile].padding);
}

/** Host side: does the card's cryptogram match? */
export function verifyCvnAc(
  profile: CvnProfile,
  iccMasterKey: HexOrBuffer,
  tx: AcTransactionData,
  ac: Buffer,
): boolean {
  return cryptogramsEqual(generateCvnAc(profile, iccMasterKey, tx), ac);
}

export interface ArpcInput {
  arqc: Buffer;
  atc: Buffer;
  unpredictableNumber?: Buffer;
  /** Method 1: the 2-byte authorisation response code. */
  arc?: HexOrBuffer;
  /** Method 2: the 4-byte card status update. */
  csu?: HexOrBuffer;
  proprietaryData?: HexOrBuffer;
}

/** The ARPC an issuer of this profile returns (method 1: 8 bytes; method 2: 4 bytes). */
export function generateCvnArpc(profile: CvnProfile, iccMasterKey: HexOrBuffer, input: ArpcInput): Buffer {
  if (checkProfile(profile) === 'visa-cvn18') {
    if (input.csu === undefined)
      throw new PosError('CODPOS_CRYPTO_AC_DATA', 'visa-cvn18 (ARPC method 2) needs the card status update', {
        details: { field: 'csu' },
      });
    return generateArpcMethod2(
      cvnSessionKey(profile, iccMasterKey, input.atc),
      input.arqc,
      input.csu,
      input.proprietaryData,
    );
  }
  if (input.arc === undefined)
    throw new PosError('CODPOS_CRYPTO_AC_DATA', `${profile} (ARPC method 1) needs the authorisation response code`, {
      details: { field: 'arc' },
    });
  return generateArpcMethod1(iccMasterKey, input.arqc, input.arc);
}

/** The secure messaging (issuer script) integrity session key of a profile, from the ICC MK-SMI. */
export function cvnScriptSessionKey(
  profile: CvnProfile,
  iccMasterKeySmi: HexOrBuffer,
  atc: Buffer,
  arqc: Buffer,
): Buffer {
  return checkProfile(profile).startsWith('visa')
    ? deriveVisaSmSessionKey(iccMasterKeySmi, atc)
    : deriveCommonSessionKey(iccMasterKeySmi, arqc);
}

/** Issuer script command MAC: over command header || ATC || ARQC || command data (all four profiles). */
export function generateCvnScriptMac(
  profile: CvnProfile,
  iccMasterKeySmi: HexOrBuffer,
  input: { header: Buffer; atc: Buffer; arqc: Buffer; commandData?: Buffer },
): Buffer {
  const key = cvnScriptSessionKey(profile, iccMasterKeySmi, input.atc, input.arqc);
  return generateScriptMac(
    key,
    Buffer.concat([input.header, input.atc, input.arqc, input.commandData ?? Buffer.alloc(0)]),
  );
}
