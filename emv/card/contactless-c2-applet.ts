/**
 * A virtual Mastercard-style (M/Chip, EMV Contactless Book C-2) contactless application: the
 * card side the C-2 kernel (emv/contactless/kernel-c2.ts) runs against. It answers SELECT of its
 * AID, GET PROCESSING OPTIONS, EXCHANGE RELAY RESISTANCE DATA, READ RECORD and GENERATE AC with
 * CDA, from a profile made by make-contactless-c2.ts.
 *
 * Contactless cards speak ISO 14443-4 (no T=0 GET RESPONSE dance): every answer is data + SW
 * at once. The AC is card-crypto's cardApplicationCryptogram over the CDOL1 values, so the
 * acquirer simulator's issuer verifies it from DE55 as it does the contact card's.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PosError } from '../../config/errors.js';
import { packageRoot } from '../../config/paths.js';
import { decodeTlv, encodeTlv, type Tlv } from '../tlv/index.js';
import { parseDol } from '../kernel/dol.js';
import { cdaDynamicData, signDynamicData } from '../crypto/oda-sign.js';
import { iccKeyPair } from './icc-key.js';
import { cardApplicationCryptogram, type AcType } from './card-crypto.js';
import type { CardApplicationProfile } from './profile.js';
import type { ContactlessApplet, ContactlessApplicationBase, ContactlessCardProfile } from './contactless-profile.js';

/** What the card answers to EXCHANGE RELAY RESISTANCE DATA, in 100 microsecond units (Book C-2 relay resistance). */
export interface C2RelayResistanceTimes {
  minTimeForProcessing: number;
  maxTimeForProcessing: number;
  estimatedTransmissionTime: number;
}

/** One M/Chip contactless application: the contact profile's keys and records plus the C-2 parts. */
export interface C2ApplicationProfile extends ContactlessApplicationBase, CardApplicationProfile {
  kernelId: 2;
  /** Present when the card supports the relay resistance protocol (AIP byte 2 bit 1). */
  relayResistance?: C2RelayResistanceTimes;
  /**
   * POS Cardholder Interaction Information (DF4B) as hex, returned in GENERATE AC by a phone:
   * byte 2 bit 5 = the consumer device verified the cardholder (OD-CVM).
   */
  posCardholderInteraction?: string;
  faults?: {
    /** The CDA signature (9F4B) is corrupted: the kernel's CDA check fails. */
    wrongCdaSignature?: boolean;
  };
}

export interface C2CardProfile extends ContactlessCardProfile {
  applications: C2ApplicationProfile[];
}

const contactlessProfilesDir = join(packageRoot, 'emv', 'card', 'contactless-profiles');

/** The C-2 profiles shipped (cl-mc-*.json). */
export function listC2Profiles(): string[] {
  return readdirSync(contactlessProfilesDir)
    .filter((file) => /^cl-mc-[a-z0-9-]+\.json$/.test(file))
    .map((file) => basename(file, '.json'))
    .sort();
}

/** Loads a shipped C-2 profile by name; a fresh copy every call, so tests may change it. */
export function loadC2Profile(name: string): C2CardProfile {
  if (!listC2Profiles().includes(name))
    throw new PosError(
      'CODPOS_EMV_UNKNOWN_CARD',
      `no Mastercard-style contactless profile named "${name}"; shipped: ${listC2Profiles().join(', ')}`,
      { details: { name } },
    );
  return JSON.parse(readFileSync(join(contactlessProfilesDir, name + '.json'), 'utf8')) as C2CardProfile;
}

const SW = {
  ok: Buffer.from([0x90, 0x00]),
  fileNotFound: Buffer.from([0x6a, 0x82]),
  recordNotFound: Buffer.from([0x6a, 0x83]),
  functionNotSupported: Buffer.from([0x6a, 0x81]),
  conditionsNotSatisfied: Buffer.from([0x69, 0x85]),
  wrongLength: Buffer.from([0x67, 0x00]),
  insNotSupported: Buffer.from([0x6d, 0x00]),
  referencedDataNotFound: Buffer.from([0x6a, 0x88]),
  claNotSupported: Buffer.from([0x6e, 0x00]),
};

const AC_BITS: Record<AcType, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };

interface C2Transaction {
  pdolData: Buffer;
  idn: Buffer;
  gpoDone: boolean;
  generateAcDone: boolean;
  /** Terminal entropy || device entropy || min || max || estimated time, once exchanged. */
  relayResistanceData?: Buffer;
}

export class C2Applet implements ContactlessApplet {
  readonly aid: string;
  /** INS names of every command received, for tests and diagnostics. */
  readonly log: string[] = [];
  private atc: number;
  private tx: C2Transaction | undefined;
  /** The last GENERATE AC answer and its DRDOL data: RECOVER AC gives it again after a torn transaction. */
  private lastGenerateAc: { drdolData: Buffer; response: Buffer } | undefined;

  constructor(readonly profile: C2ApplicationProfile) {
    this.aid = profile.aid;
    this.atc = profile.atc;
  }

  get currentAtc(): number {
    return this.atc;
  }

  handle(apdu: Buffer): Buffer {
    if (apdu.length < 4) return SW.wrongLength;
    const [cla, ins, p1, p2] = [apdu[0]!, apdu[1]!, apdu[2]!, apdu[3]!];
    let data: Buffer = Buffer.alloc(0);
    if (apdu.length > 5) {
      const lc = apdu[4]!;
      if (apdu.length < 5 + lc || apdu.length > 6 + lc) return SW.wrongLength;
      data = apdu.subarray(5, 5 + lc);
    }
    this.log.push(INS_NAMES[ins] ?? ins.toString(16));
    switch ((cla << 8) | ins) {
      case 0x00a4:
        return this.select(p1, data);
      case 0x80a8:
        return this.getProcessingOptions(data);
      case 0x80ea:
        return this.exchangeRelayResistanceData(data);
      case 0x00b2:
        return this.readRecord(p1, p2);
      case 0x80ae:
        return this.generateAc(p1, data);
      case 0x80d0:
        return this.recoverAc(data);
      default:
        return cla === 0x00 || cla === 0x80 ? SW.insNotSupported : SW.claNotSupported;
    }
  }

  private select(p1: number, name: Buffer): Buffer {
    this.tx = undefined;
    if (p1 !== 0x04) return SW.functionNotSupported;
    const p = this.profile;
    if (name.toString('hex').toUpperCase() !== p.aid.toUpperCase()) return SW.fileNotFound;
    const proprietary: Tlv[] = [{ tag: 0x50, value: Buffer.from(p.label, 'latin1') }];
    if (p.priority) proprietary.push({ tag: 0x87, value: Buffer.from(p.priority, 'hex') });
    if (p.pdol) proprietary.push({ tag: 0x9f38, value: Buffer.from(p.pdol, 'hex') });
    const fci = encodeTlv([
      {
        tag: 0x6f,
        value: Buffer.alloc(0),
        children: [
          { tag: 0x84, value: Buffer.from(p.aid, 'hex') },
          { tag: 0xa5, value: Buffer.alloc(0), children: proprietary },
        ],
      },
    ]);
    this.tx = { pdolData: Buffer.alloc(0), idn: Buffer.alloc(0), gpoDone: false, generateAcDone: false };
    return Buffer.concat([fci, SW.ok]);
  }

  private getProcessingOptions(data: Buffer): Buffer {
    const tx = this.tx;
    if (!tx || tx.gpoDone) return SW.conditionsNotSatisfied;
    const p = this.profile;
    let template: Tlv | undefined;
    try {
      template = decodeTlv(data)[0];
    } catch {
      return SW.wrongLength;
    }
    const expected = p.pdol ? dolLength(Buffer.from(p.pdol, 'hex')) : 0;
    if (!template || template.tag !== 0x83 || template.value.length !== expected) return SW.wrongLength;
    tx.pdolData = Buffer.from(template.value);
    tx.gpoDone = true;
    this.atc = (this.atc + 1) & 0xffff;
    tx.idn = randomBytes(p.idnLength ?? 8);
    return Buffer.concat([
      encodeTlv([
        {
          tag: 0x77,
          value: Buffer.alloc(0),
          children: [
            { tag: 0x82, value: Buffer.from(p.aip, 'hex') },
            { tag: 0x94, value: Buffer.from(p.afl, 'hex') },
          ],
        },
      ]),
      SW.ok,
    ]);
  }

  /** EXCHANGE RELAY RESISTANCE DATA: the terminal's entropy in, the device's entropy and timings out (template 80). */
  private exchangeRelayResistanceData(terminalEntropy: Buffer): Buffer {
    const tx = this.tx;
    const times = this.profile.relayResistance;
    if (!times) return SW.insNotSupported;
    if (!tx || !tx.gpoDone || tx.generateAcDone) return SW.conditionsNotSatisfied;
    if (terminalEntropy.length !== 4) return SW.wrongLength;
    const answer = Buffer.concat([
      randomBytes(4),
      u16(times.minTimeForProcessing),
      u16(times.maxTimeForProcessing),
      u16(times.estimatedTransmissionTime),
    ]);
    tx.relayResistanceData = Buffer.concat([terminalEntropy, answer]);
    return Buffer.concat([encodeTlv([{ tag: 0x80, value: answer }]), SW.ok]);
  }

  private readRecord(record: number, p2: number): Buffer {
    if ((p2 & 0x07) !== 0x04) return SW.functionNotSupported;
    if (!this.tx || !this.tx.gpoDone) return SW.conditionsNotSatisfied;
    const rec = this.profile.records[`${p2 >> 3}.${record}`];
    return rec ? Buffer.concat([Buffer.from(rec, 'hex'), SW.ok]) : SW.recordNotFound;
  }

  private generateAc(p1: number, data: Buffer): Buffer {
    const response = this.computeGenerateAc(p1, data);
    const drdol = this.recordValue(0x9f51);
    const cdol1 = this.recordValue(0x8c);
    if (drdol && cdol1 && response.readUInt16BE(response.length - 2) === 0x9000) {
      const values = dolValues(cdol1, data);
      const drdolData = Buffer.concat(
        parseDol(drdol).map(({ tag, length }) => values.get(tag) ?? Buffer.alloc(length)),
      );
      this.lastGenerateAc = { drdolData, response };
    }
    return response;
  }

  /** RECOVER AC (Book C-2 torn transactions): the last AC again, when the DRDOL data match the torn GENERATE AC's. */
  private recoverAc(drdolData: Buffer): Buffer {
    const last = this.lastGenerateAc;
    if (!this.tx || !this.tx.gpoDone || this.tx.generateAcDone) return SW.conditionsNotSatisfied;
    if (!last || !last.drdolData.equals(drdolData)) return SW.referencedDataNotFound;
    this.lastGenerateAc = undefined;
    this.tx.generateAcDone = true;
    return last.response;
  }

  private computeGenerateAc(p1: number, data: Buffer): Buffer {
    const tx = this.tx;
    if (!tx || !tx.gpoDone || tx.generateAcDone) return SW.conditionsNotSatisfied;
    if ((p1 & 0xc0) === 0xc0) return SW.functionNotSupported;
    const p = this.profile;
    const cdol1 = this.recordValue(0x8c);
    if (!cdol1 || data.length !== dolLength(cdol1)) return SW.wrongLength;
    tx.generateAcDone = true;
    const requested: AcType = (p1 & 0xc0) === 0x80 ? 'ARQC' : (p1 & 0xc0) === 0x40 ? 'TC' : 'AAC';
    // Card risk management: never above what was asked; no offline approval unless allowed.
    const type: AcType = requested === 'TC' && !p.offlineApprovalAllowed ? 'ARQC' : requested;
    const values = dolValues(cdol1, data);
    const aip = Buffer.from(p.aip, 'hex');
    const { cryptogram, iad } = cardApplicationCryptogram(p, { type, atc: this.atc, aip, values });
    const cid = AC_BITS[type];
    const others: Tlv[] = [
      { tag: 0x9f27, value: Buffer.from([cid]) },
      { tag: 0x9f36, value: u16(this.atc) },
      { tag: 0x9f10, value: iad },
    ];
    if (p.posCardholderInteraction) others.push({ tag: 0xdf4b, value: Buffer.from(p.posCardholderInteraction, 'hex') });
    const wantsCda = (p1 & 0x10) !== 0 && p.iccPrivateKey !== undefined && type !== 'AAC';
    if (!wantsCda) {
      return Buffer.concat([
        encodeTlv([{ tag: 0x77, value: Buffer.alloc(0), children: [...others, { tag: 0x9f26, value: cryptogram }] }]),
        SW.ok,
      ]);
    }
    // CDA: the AC rides inside the signature; the hash covers PDOL data, CDOL1 data and the
    // answer's other TLVs; with relay resistance the exchanged entropies and timings are
    // signed too, so a relay cannot swap them.
    const transactionData = Buffer.concat([tx.pdolData, data, encodeTlv(others)]);
    const dynamicData = Buffer.concat([
      cdaDynamicData({ idn: tx.idn, cid, cryptogram, transactionData }),
      tx.relayResistanceData ?? Buffer.alloc(0),
    ]);
    let sdad = signDynamicData({
      icc: iccKeyPair(p.iccPrivateKey!),
      dynamicData,
      terminalData: values.get(0x9f37) ?? Buffer.alloc(4),
    });
    if (p.faults?.wrongCdaSignature) {
      sdad = Buffer.from(sdad);
      sdad[sdad.length - 1]! ^= 0x01;
    }
    return Buffer.concat([
      encodeTlv([{ tag: 0x77, value: Buffer.alloc(0), children: [...others, { tag: 0x9f4b, value: sdad }] }]),
      SW.ok,
    ]);
  }

  private recordValue(tag: number): Buffer | undefined {
    for (const hex of Object.values(this.profile.records)) {
      const template = decodeTlv(Buffer.from(hex, 'hex'))[0];
      const found = template?.children?.find((c) => c.tag === tag);
      if (found) return found.value;
    }
    return undefined;
  }
}

const INS_NAMES: Record<number, string> = {
  0xa4: 'SELECT',
  0xa8: 'GET PROCESSING OPTIONS',
  0xea: 'EXCHANGE RELAY RESISTANCE DATA',
  0xb2: 'READ RECORD',
  0xae: 'GENERATE AC',
  0xd0: 'RECOVER AC',
};

function u16(value: number): Buffer {
  return Buffer.from([(value >> 8) & 0xff, value & 0xff]);
}

function dolLength(dol: Buffer): number {
  return parseDol(dol).reduce((sum, entry) => sum + entry.length, 0);
}

function dolValues(dol: Buffer, data: Buffer): Map<number, Buffer> {
  const values = new Map<number, Buffer>();
  let pos = 0;
  for (const { tag, length } of parseDol(dol)) {
    values.set(tag, data.subarray(pos, pos + length));
    pos += length;
  }
  return values;
}
