/**
 * The simulated issuer's cryptography over a virtual card's profile, as a real issuer host
 * does it: the ARQC verified with the issuer master key for the card's CVN, the ARPC of tag
 * 91 (method 1: ARPC || ARC; Visa CVN 18, method 2: ARPC || CSU), issuer script commands
 * with secure messaging (CLA 84, a MAC from the card's MK-SMI), and the DUKPT PIN block
 * checked against the profile's online PIN.
 *
 * One copy for the acquirer simulator and the EMV kernel's test fixtures: a test that a
 * card accepts the issuer's answer then proves the simulator's answer too.
 */
import { deriveTdesKeys, parseTdesKsn } from '../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, parseAesKsn } from '../../emv/crypto/dukpt-aes.js';
import { decodePinBlock } from '../../emv/crypto/pin-block.js';
import {
  cvnIccMasterKey,
  generateCvnArpc,
  generateCvnScriptMac,
  verifyCvnAc,
  type AcTransactionData,
} from '../../emv/crypto/cryptogram.js';
import { findTag, type Tlv } from '../../emv/tlv/index.js';
import type { CardApplicationProfile } from '../../emv/card/index.js';

/**
 * What the issuer holds of a card application: its PAN, the keys its cryptograms come from, and
 * the PIN on file. A contact application profile is one; so is a contactless one (whose applet
 * profile carries the same fields), which is how a tapped card's ARQC is verified.
 */
export type IssuerAccount = Pick<
  CardApplicationProfile,
  'pan' | 'panSequenceNumber' | 'cvn' | 'issuerMasterKeys' | 'onlinePin'
>;

/** Response codes that approve (ISO 8583:1987): 00, 08 honour with identification, 10 partial, 11 VIP. */
export const APPROVED_CODES: ReadonlySet<string> = new Set(['00', '08', '10', '11']);

/** The card's cryptogram and counter an answer is bound to (9F26, 9F36 of the request). */
export interface CardCryptogram {
  arqc: Buffer;
  atc: Buffer;
}

/** One script command, in clear: the issuer adds CLA 84 and the MAC. */
export interface ScriptCommand {
  ins: number;
  p1: number;
  p2: number;
  data?: Buffer;
}

/** The ARQC and ATC of a request's chip data; undefined when either is missing. */
export function cryptogramOf(tlvs: Tlv[]): CardCryptogram | undefined {
  const arqc = findTag(tlvs, 0x9f26)?.value;
  const atc = findTag(tlvs, 0x9f36)?.value;
  return arqc && atc ? { arqc, atc } : undefined;
}

/** Whether the ARQC (9F26) of the request's chip data is the card's over the data it names. */
export function arqcVerifies(app: IssuerAccount, tlvs: Tlv[]): boolean {
  const value = (tag: number) => findTag(tlvs, tag)?.value;
  const arqc = value(0x9f26);
  if (!arqc) return false;
  const tx: Partial<AcTransactionData> = {
    amountAuthorized: value(0x9f02),
    amountOther: value(0x9f03) ?? Buffer.alloc(6),
    terminalCountryCode: value(0x9f1a),
    tvr: value(0x95),
    transactionCurrencyCode: value(0x5f2a),
    transactionDate: value(0x9a),
    transactionType: value(0x9c),
    unpredictableNumber: value(0x9f37),
    aip: value(0x82),
    atc: value(0x9f36),
    iad: value(0x9f10),
  };
  try {
    return verifyCvnAc(app.cvn, acMasterKey(app), tx as AcTransactionData, arqc);
  } catch {
    return false; // missing or malformed data: the cryptogram cannot be verified
  }
}

/** Tag 91 for the code answered: ARPC || ARC (method 1), or ARPC || CSU (method 2, Visa CVN 18; CSU "approved" for an approving code). */
export function issuerAuthenticationData(app: IssuerAccount, cryptogram: CardCryptogram, responseCode: string): Buffer {
  const key = acMasterKey(app);
  if (app.cvn === 'visa-cvn18') {
    const csu = Buffer.from(APPROVED_CODES.has(responseCode) ? '00820000' : '00000000', 'hex');
    return Buffer.concat([generateCvnArpc(app.cvn, key, { ...cryptogram, csu }), csu]);
  }
  const arc = Buffer.from(responseCode, 'latin1');
  return Buffer.concat([generateCvnArpc(app.cvn, key, { ...cryptogram, arc }), arc]);
}

/** One script command with secure messaging: CLA 84 header, the data, the MAC over header, ATC, ARQC and data. */
export function securedScriptCommand(app: IssuerAccount, cryptogram: CardCryptogram, command: ScriptCommand): Buffer {
  const data = command.data ?? Buffer.alloc(0);
  const header = Buffer.from([0x84, command.ins, command.p1, command.p2, data.length + 8]);
  const smi = cvnIccMasterKey(app.cvn, app.issuerMasterKeys.smi, app.pan, app.panSequenceNumber);
  const mac = generateCvnScriptMac(app.cvn, smi, {
    header,
    atc: cryptogram.atc,
    arqc: cryptogram.arqc,
    commandData: data,
  });
  return Buffer.concat([header, data, mac]);
}

/** An issuer script template (71 before, 72 after the second GENERATE AC): its id (9F18) and secured commands (86). */
export function issuerScriptTemplate(
  app: IssuerAccount,
  cryptogram: CardCryptogram,
  template: 0x71 | 0x72,
  id: string,
  commands: ScriptCommand[],
): Tlv {
  const children: Tlv[] = [{ tag: 0x9f18, value: Buffer.from(id, 'hex') }];
  for (const command of commands) children.push({ tag: 0x86, value: securedScriptCommand(app, cryptogram, command) });
  return { tag: template, value: Buffer.alloc(0), children };
}

/** How the PIN pads' keys are derived (`devices.pinpad.sim.bdk`, `devices.pinpad.dukpt`). */
export interface PinKeys {
  bdk: string;
  dukpt?: 'tdes' | 'aes128' | 'aes256' | undefined;
}

/**
 * Whether a DE52 PIN block carries the card's online PIN. The KSN's length tells the scheme:
 * 20 hex digits TDES DUKPT (ISO 9564 format 0), 24 AES DUKPT (format 4). A block that does
 * not decode is a wrong PIN, as for a real host; a card with no PIN on file matches none.
 */
export function pinBlockMatches(app: IssuerAccount, keys: PinKeys, block: Buffer, ksn: string, pan: string): boolean {
  if (app.onlinePin === undefined) return false;
  try {
    const aesType = keys.dukpt === 'aes128' || keys.dukpt === 'aes256' ? keys.dukpt : undefined;
    const pin =
      ksn.length === 24
        ? decodePinBlock({ format: 4, block, pan, key: deriveAesKeys(keys.bdk, parseAesKsn(ksn), aesType).pinKey })
        : decodePinBlock({ format: 0, block, pan, key: deriveTdesKeys(keys.bdk, parseTdesKsn(ksn)).pinKey });
    return pin === app.onlinePin;
  } catch {
    return false;
  }
}

function acMasterKey(app: IssuerAccount): Buffer {
  return cvnIccMasterKey(app.cvn, app.issuerMasterKeys.ac, app.pan, app.panSequenceNumber);
}
