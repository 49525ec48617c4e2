/**
 * The card's side of the issuer cryptography, on emv/crypto/cryptogram.ts: the applet
 * derives its ICC master keys from the issuer master keys of its profile (as a
 * personalisation bureau would), computes ARQC/TC/AAC for its CVN, checks the ARPC the
 * issuer sends back and the MAC on issuer script commands.
 */
import {
  cryptogramsEqual,
  cvnIccMasterKey,
  generateCvnAc,
  generateCvnArpc,
  generateCvnScriptMac,
  type CvnProfile,
} from '../crypto/cryptogram.js';
import type { CardApplicationProfile } from './profile.js';

export type AcType = 'AAC' | 'TC' | 'ARQC';

/** CVR "AC type" codes (Visa CVR byte 2 / Mastercard CVR byte 1): 00 AAC, 01 TC, 10 ARQC or "not requested". */
const CVR_AC: Record<AcType, number> = { AAC: 0b00, TC: 0b01, ARQC: 0b10 };

function iccKeys(p: CardApplicationProfile): { ac: Buffer; smi: Buffer } {
  return {
    ac: cvnIccMasterKey(p.cvn, p.issuerMasterKeys.ac, p.pan, p.panSequenceNumber),
    smi: cvnIccMasterKey(p.cvn, p.issuerMasterKeys.smi, p.pan, p.panSequenceNumber),
  };
}

const keyCache = new WeakMap<CardApplicationProfile, { ac: Buffer; smi: Buffer }>();
function keysOf(p: CardApplicationProfile) {
  let keys = keyCache.get(p);
  if (!keys) {
    keys = iccKeys(p);
    keyCache.set(p, keys);
  }
  return keys;
}

function atcBytes(atc: number): Buffer {
  return Buffer.from([atc >> 8, atc & 0xff]);
}

/** Issuer Application Data (9F10) with the CVR telling which AC went out in each GENERATE AC. */
export function issuerApplicationData(cvn: CvnProfile, first: AcType, second: AcType | undefined): Buffer {
  const acBits = ((second === undefined ? 0b10 : CVR_AC[second]) << 6) | (CVR_AC[first] << 4);
  if (cvn === 'visa-cvn10' || cvn === 'visa-cvn18') {
    // length 06, DKI 01, CVN (0A / 12), CVR: length 03, AC types, two bytes of flags.
    return Buffer.from([0x06, 0x01, cvn === 'visa-cvn10' ? 0x0a : 0x12, 0x03, acBits, 0x00, 0x00]);
  }
  // DKI 01, CVN (10 / 11), CVR (6 bytes), DAC/IDN (2), counters (8).
  return Buffer.concat([
    Buffer.from([0x01, cvn === 'mastercard-cvn16' ? 0x10 : 0x11, acBits, 0x00, 0x03, 0x22, 0x00, 0x00]),
    Buffer.alloc(2),
    Buffer.from('00000000000000FF', 'hex'),
  ]);
}

export interface CardAcInput {
  /** The AC the card answers with now. */
  type: AcType;
  /** Set for the second GENERATE AC: what the first one answered. */
  firstAc?: AcType;
  atc: number;
  aip: Buffer;
  /** Terminal data by tag, CDOL1 values overlaid with CDOL2 values for the second GENERATE AC. */
  values: Map<number, Buffer>;
}

export function cardApplicationCryptogram(
  p: CardApplicationProfile,
  input: CardAcInput,
): { cryptogram: Buffer; iad: Buffer } {
  const iad =
    input.firstAc === undefined
      ? issuerApplicationData(p.cvn, input.type, undefined)
      : issuerApplicationData(p.cvn, input.firstAc, input.type);
  const v = (tag: number, length: number) => input.values.get(tag) ?? Buffer.alloc(length);
  const cryptogram = generateCvnAc(p.cvn, keysOf(p).ac, {
    amountAuthorized: v(0x9f02, 6),
    amountOther: v(0x9f03, 6),
    terminalCountryCode: v(0x9f1a, 2),
    tvr: v(0x95, 5),
    transactionCurrencyCode: v(0x5f2a, 2),
    transactionDate: v(0x9a, 3),
    transactionType: v(0x9c, 1),
    unpredictableNumber: v(0x9f37, 4),
    aip: input.aip,
    atc: atcBytes(input.atc),
    iad,
  });
  return { cryptogram, iad };
}

/** Checks tag 91 from the issuer: ARPC (8) || ARC (2) for method 1, ARPC (4) || CSU (4) for method 2. */
export function cardArpcValid(
  p: CardApplicationProfile,
  atc: number,
  arqc: Buffer,
  issuerAuthenticationData: Buffer,
): boolean {
  const key = keysOf(p).ac;
  if (p.cvn === 'visa-cvn18') {
    if (issuerAuthenticationData.length < 8) return false;
    const expected = generateCvnArpc(p.cvn, key, {
      arqc,
      atc: atcBytes(atc),
      csu: issuerAuthenticationData.subarray(4, 8),
      proprietaryData: issuerAuthenticationData.subarray(8),
    });
    return cryptogramsEqual(expected, issuerAuthenticationData.subarray(0, 4));
  }
  if (issuerAuthenticationData.length !== 10) return false;
  const expected = generateCvnArpc(p.cvn, key, {
    arqc,
    atc: atcBytes(atc),
    arc: issuerAuthenticationData.subarray(8, 10),
  });
  return cryptogramsEqual(expected, issuerAuthenticationData.subarray(0, 8));
}

/** Checks the MAC of an issuer script command (header = CLA INS P1 P2 Lc, Lc counting the MAC). */
export function cardScriptMacValid(
  p: CardApplicationProfile,
  atc: number,
  arqc: Buffer,
  header: Buffer,
  commandData: Buffer,
  mac: Buffer,
): boolean {
  const expected = generateCvnScriptMac(p.cvn, keysOf(p).smi, {
    header,
    atc: atcBytes(atc),
    arqc,
    commandData,
  }).subarray(0, mac.length);
  return cryptogramsEqual(expected, mac);
}
