/**
 * The card side of a Visa-style contactless application (qVSDC, EMV Contactless Book C-3): it
 * answers SELECT with its PDOL, and GET PROCESSING OPTIONS with everything at once (AIP, AFL,
 * track 2 equivalent, the cryptogram and, for an offline approval, the fDDA signature), so the
 * card can leave the field before the records are read. READ RECORD gives the certificates.
 * After an online authorisation the card, presented again, checks the issuer's ARPC (EXTERNAL
 * AUTHENTICATE) and MACed script commands (issuer update processing).
 *
 * The cryptogram is the contact card's (card-crypto.ts, over the EMV minimum data set the PDOL
 * carries), so the acquirer simulator's issuer verifies it unchanged from DE55.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PosError } from '../../config/errors.js';
import { packageRoot } from '../../config/paths.js';
import { encodeTlv, type Tlv } from '../tlv/index.js';
import { parseDol } from '../kernel/dol.js';
import { ddaDynamicData, signDynamicData } from '../crypto/oda-sign.js';
import { cardApplicationCryptogram, cardArpcValid, cardScriptMacValid, type AcType } from './card-crypto.js';
import { iccKeyPair } from './icc-key.js';
import type { CardApplicationProfile } from './profile.js';
import { CTQ, TTQ, hasBit } from '../contactless/c3-qualifiers.js';
import type { ContactlessApplet, ContactlessApplicationBase, ContactlessCardProfile } from './contactless-profile.js';

/** What the qVSDC card does of its own accord, by profile. */
export interface QvsdcBehaviour {
  /** GPO answers this status instead of processing (6984: "use another interface"). */
  gpoStatus?: '6984' | '6985' | '6986';
  /** The card's risk management declines everything (AAC). */
  alwaysDecline?: boolean;
  /** Fault: the fDDA signature (9F4B) is corrupted, so it does not verify. */
  wrongSdad?: boolean;
}

/**
 * A qVSDC application: the contact application's data (keys, PAN, counters, records) plus the
 * contactless answers. It is a CardApplicationProfile so card-crypto and the issuer simulator
 * compute and verify its cryptograms like a contact card's.
 */
export interface QvsdcApplicationProfile extends CardApplicationProfile, ContactlessApplicationBase {
  kernelId: 3;
  pdol: string;
  /** Track 2 equivalent data (57) as hex, returned in the GPO answer. */
  track2Equivalent: string;
  /** Card transaction qualifiers (9F6C) as personalised, 2 bytes hex; CVM bits are added per transaction. */
  ctq: string;
  /** Form factor indicator (9F6E), 4 bytes hex. */
  formFactor: string;
  /** Card's offline limit (minor units): above it the card asks to go online (ARQC). */
  offlineLimit: number;
  /** Card's CVM limit (minor units): at or above it the card asks for a CVM in the CTQ. */
  cvmLimit: number;
  behaviour?: QvsdcBehaviour;
}

export interface QvsdcCardProfile extends ContactlessCardProfile {
  applications: QvsdcApplicationProfile[];
}

const SW = {
  ok: Buffer.from([0x90, 0x00]),
  fileNotFound: Buffer.from([0x6a, 0x82]),
  recordNotFound: Buffer.from([0x6a, 0x83]),
  conditionsNotSatisfied: Buffer.from([0x69, 0x85]),
  authenticationFailed: Buffer.from([0x63, 0x00]),
  smDataIncorrect: Buffer.from([0x69, 0x88]),
  wrongLength: Buffer.from([0x67, 0x00]),
  wrongData: Buffer.from([0x6a, 0x80]),
  insNotSupported: Buffer.from([0x6d, 0x00]),
};

const CID: Record<AcType, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };

/** What the card remembers of its last online transaction, for issuer update processing. */
interface LastOnline {
  atc: number;
  arqc: Buffer;
}

export class QvsdcApplet implements ContactlessApplet {
  readonly aid: string;
  /** Command names received, for tests. */
  readonly log: string[] = [];
  private atc: number;
  private selected = false;
  private lastOnline: LastOnline | undefined;
  /** Script commands the card accepted (their INS), for tests. */
  readonly scriptsApplied: number[] = [];
  issuerAuthenticated: boolean | undefined;

  /** `form` is the card profile's: a phone verifies its owner itself (consumer-device CVM). */
  constructor(
    readonly profile: QvsdcApplicationProfile,
    private readonly form: 'card' | 'phone' = 'card',
  ) {
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
    switch ((cla << 8) | ins) {
      case 0x00a4:
        this.log.push('SELECT');
        return this.select(data);
      case 0x80a8:
        this.log.push('GPO');
        return this.selected ? this.getProcessingOptions(data) : SW.conditionsNotSatisfied;
      case 0x00b2:
        this.log.push('READ RECORD');
        return this.readRecord(p1, p2);
      case 0x0082:
        this.log.push('EXTERNAL AUTHENTICATE');
        return this.externalAuthenticate(data);
      default:
        if (cla === 0x84) {
          this.log.push('SCRIPT');
          return this.scriptCommand(apdu.subarray(0, 5), data);
        }
        return SW.insNotSupported;
    }
  }

  private select(aid: Buffer): Buffer {
    if (aid.toString('hex').toUpperCase() !== this.aid.toUpperCase()) return SW.fileNotFound;
    this.selected = true;
    const p = this.profile;
    const proprietary: Tlv[] = [
      { tag: 0x50, value: Buffer.from(p.label, 'latin1') },
      ...(p.priority ? [{ tag: 0x87, value: Buffer.from(p.priority, 'hex') }] : []),
      { tag: 0x9f38, value: Buffer.from(p.pdol, 'hex') },
    ];
    const fci = encodeTlv([
      {
        tag: 0x6f,
        value: Buffer.alloc(0),
        children: [
          { tag: 0x84, value: Buffer.from(this.aid, 'hex') },
          { tag: 0xa5, value: Buffer.alloc(0), children: proprietary },
        ],
      },
    ]);
    return Buffer.concat([fci, SW.ok]);
  }

  /** The PDOL values by tag from GPO's command data (83 L values). */
  private pdolValues(data: Buffer): Map<number, Buffer> | undefined {
    if (data[0] !== 0x83 || data[1] === undefined || data.length !== 2 + data[1]) return undefined;
    const values = new Map<number, Buffer>();
    let at = 2;
    for (const entry of parseDol(Buffer.from(this.profile.pdol, 'hex'))) {
      values.set(entry.tag, data.subarray(at, at + entry.length));
      at += entry.length;
    }
    return at === data.length ? values : undefined;
  }

  /** Card risk management of qVSDC: which cryptogram, and which CVM the card asks for. */
  private decide(values: Map<number, Buffer>): { ac: AcType; ctq: Buffer } {
    const p = this.profile;
    const ttq = values.get(0x9f66);
    const amount = Number((values.get(0x9f02) ?? Buffer.alloc(6)).toString('hex'));
    const ctq = Buffer.from(p.ctq, 'hex');
    let ac: AcType;
    if (p.behaviour?.alwaysDecline) ac = 'AAC';
    else if (hasBit(ttq, TTQ.onlineCryptogramRequired) || amount > p.offlineLimit) ac = 'ARQC';
    else ac = 'TC';
    if (hasBit(ttq, TTQ.offlineOnlyReader) && ac === 'ARQC') ac = 'AAC';
    const cvmWanted = hasBit(ttq, TTQ.cvmRequired) || amount >= p.cvmLimit;
    if (cvmWanted && ac !== 'AAC') {
      // A phone verifies its owner itself; a card asks for online PIN (online only) or a signature.
      if (this.form === 'phone' && hasBit(ttq, TTQ.consumerDeviceCvmSupported))
        ctq[1]! |= CTQ.consumerDeviceCvmPerformed[1];
      else if (ac === 'ARQC' && hasBit(ttq, TTQ.onlinePinSupported)) ctq[0]! |= CTQ.onlinePinRequired[1];
      else if (hasBit(ttq, TTQ.signatureSupported)) ctq[0]! |= CTQ.signatureRequired[1];
    }
    return { ac, ctq };
  }

  private getProcessingOptions(data: Buffer): Buffer {
    const p = this.profile;
    if (p.behaviour?.gpoStatus) return Buffer.from(p.behaviour.gpoStatus, 'hex');
    const values = this.pdolValues(data);
    if (!values) return SW.wrongData;
    const { ac, ctq } = this.decide(values);
    this.atc = (this.atc + 1) & 0xffff;
    const aip = Buffer.from(p.aip, 'hex');
    const { cryptogram, iad } = cardApplicationCryptogram(p, { type: ac, atc: this.atc, aip, values });
    const atc = Buffer.from([this.atc >> 8, this.atc & 0xff]);
    this.lastOnline = ac === 'ARQC' ? { atc: this.atc, arqc: cryptogram } : undefined;
    this.issuerAuthenticated = undefined;
    const answer: Tlv[] = [
      { tag: 0x82, value: aip },
      { tag: 0x94, value: Buffer.from(p.afl, 'hex') },
      { tag: 0x57, value: Buffer.from(p.track2Equivalent, 'hex') },
      { tag: 0x5f34, value: Buffer.from(p.panSequenceNumber, 'hex') },
      { tag: 0x9f10, value: iad },
      { tag: 0x9f26, value: cryptogram },
      { tag: 0x9f27, value: Buffer.from([CID[ac]]) },
      { tag: 0x9f36, value: atc },
      { tag: 0x9f6c, value: ctq },
      { tag: 0x9f6e, value: Buffer.from(p.formFactor, 'hex') },
    ];
    if (ac === 'TC' && p.iccPrivateKey && (aip[0]! & 0x20) !== 0) {
      // fDDA version 01: the card signs its ATC over 9F37 || 9F02 || 5F2A || 9F69.
      const cardAuthentication = Buffer.concat([Buffer.from([0x01]), this.cardUnpredictableNumber(values), ctq]);
      const terminalData = Buffer.concat([
        values.get(0x9f37) ?? Buffer.alloc(4),
        values.get(0x9f02) ?? Buffer.alloc(6),
        values.get(0x5f2a) ?? Buffer.alloc(2),
        cardAuthentication,
      ]);
      let sdad = signDynamicData({ icc: iccKeyPair(p.iccPrivateKey), dynamicData: ddaDynamicData(atc), terminalData });
      if (p.behaviour?.wrongSdad) {
        sdad = Buffer.from(sdad);
        sdad[sdad.length >> 1]! ^= 0x01;
      }
      answer.push({ tag: 0x9f69, value: cardAuthentication }, { tag: 0x9f4b, value: sdad });
    }
    return Buffer.concat([encodeTlv([{ tag: 0x77, value: Buffer.alloc(0), children: answer }]), SW.ok]);
  }

  /** The card's unpredictable number: reproducible (from the ATC and the reader's UN) so tests replay. */
  private cardUnpredictableNumber(values: Map<number, Buffer>): Buffer {
    return createHash('sha256')
      .update(Buffer.from([this.atc >> 8, this.atc & 0xff]))
      .update(values.get(0x9f37) ?? Buffer.alloc(4))
      .digest()
      .subarray(0, 4);
  }

  private readRecord(record: number, p2: number): Buffer {
    if ((p2 & 0x07) !== 0x04) return SW.wrongData;
    const found = this.profile.records[`${p2 >> 3}.${record}`];
    return found ? Buffer.concat([Buffer.from(found, 'hex'), SW.ok]) : SW.recordNotFound;
  }

  /** Issuer update processing: the ARPC of tag 91 against the last ARQC. */
  private externalAuthenticate(data: Buffer): Buffer {
    if (!this.lastOnline) return SW.conditionsNotSatisfied;
    this.issuerAuthenticated = cardArpcValid(this.profile, this.lastOnline.atc, this.lastOnline.arqc, data);
    return this.issuerAuthenticated ? SW.ok : SW.authenticationFailed;
  }

  /** A script command with secure messaging (CLA 84): applied when its MAC verifies. */
  private scriptCommand(header: Buffer, data: Buffer): Buffer {
    if (!this.lastOnline || data.length < 8) return SW.conditionsNotSatisfied;
    const mac = data.subarray(data.length - 8);
    const ok = cardScriptMacValid(
      this.profile,
      this.lastOnline.atc,
      this.lastOnline.arqc,
      header,
      data.subarray(0, data.length - 8),
      mac,
    );
    if (!ok) return SW.smDataIncorrect;
    this.scriptsApplied.push(header[1]!);
    return SW.ok;
  }
}

// Contactless profiles are data in the source tree (read from dist/ too), apart from the contact cards'.
const contactlessProfilesDir = join(packageRoot, 'emv', 'card', 'contactless-profiles');

function listQvsdcProfiles(): string[] {
  return readdirSync(contactlessProfilesDir)
    .filter((f) => f.startsWith('cl-visa-') && f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** Loads a shipped Visa-style contactless profile by name; a fresh copy every call, so tests may change it. */
export function loadQvsdcCardProfile(name: string): QvsdcCardProfile {
  const shipped = listQvsdcProfiles();
  if (!shipped.includes(name)) {
    throw new PosError(
      'CODPOS_EMV_UNKNOWN_CARD',
      `no Visa-style contactless profile named "${name}"; shipped: ${shipped.join(', ')}`,
      { details: { name } },
    );
  }
  return JSON.parse(readFileSync(join(contactlessProfilesDir, name + '.json'), 'utf8')) as QvsdcCardProfile;
}
