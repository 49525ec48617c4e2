/**
 * A virtual EMV chip card: an applet that answers real command APDUs from a profile,
 * so the kernel (and the card reader simulator) run against the same bytes a real card
 * would send. It keeps the state a card keeps: selected application, ATC, GENERATE AC
 * sequence, issuer authentication result, PIN tries, blocked flags.
 *
 * It speaks T=0 style: answers with data are announced as 61xx once in a while when a
 * profile asks for it, and a case 2 command with a wrong Le gets 6Cxx, so the kernel's
 * GET RESPONSE and Le handling are exercised.
 */
import { randomBytes } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { decodeTlv, encodeTlv, findTag, type Tlv } from '../tlv/index.js';
import { parseDol } from '../kernel/dol.js';
import type { CardApplicationProfile, CardFaults, CardProfile } from './profile.js';
import { cdaDynamicData, ddaDynamicData, signDynamicData } from '../crypto/oda-sign.js';
import { iccKeyPair } from './icc-key.js';
import { cardApplicationCryptogram, cardArpcValid, cardScriptMacValid, type AcType } from './card-crypto.js';

const SW = {
  ok: Buffer.from([0x90, 0x00]),
  fileNotFound: Buffer.from([0x6a, 0x82]),
  recordNotFound: Buffer.from([0x6a, 0x83]),
  functionNotSupported: Buffer.from([0x6a, 0x81]),
  selectedFileInvalidated: Buffer.from([0x62, 0x83]),
  conditionsNotSatisfied: Buffer.from([0x69, 0x85]),
  securityNotSatisfied: Buffer.from([0x69, 0x82]),
  authenticationFailed: Buffer.from([0x63, 0x00]),
  smDataIncorrect: Buffer.from([0x69, 0x88]),
  wrongLength: Buffer.from([0x67, 0x00]),
  insNotSupported: Buffer.from([0x6d, 0x00]),
  claNotSupported: Buffer.from([0x6e, 0x00]),
  referencedDataNotFound: Buffer.from([0x6a, 0x88]),
  pinBlocked: Buffer.from([0x69, 0x83]),
};

interface AppState {
  profile: CardApplicationProfile;
  atc: number;
  lastOnlineAtc: number;
  blocked: boolean;
  pinTries: number;
}

interface TransactionState {
  app: AppState;
  pdolData: Buffer;
  cdol1Data?: Buffer;
  cdol1Values?: Map<number, Buffer>;
  genAcCount: number;
  firstAc?: AcType;
  arqc?: Buffer;
  issuerAuthenticated?: boolean;
  idn: Buffer;
  unpredictableNumber?: Buffer;
  gpoDone: boolean;
}

const AC_BITS: Record<AcType, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };

export class VirtualCard {
  readonly profile: CardProfile;
  readonly tracks: { track1?: string; track2?: string };
  /** Faults to show on demand; tests may flip them between transactions. */
  readonly faults: CardFaults;
  /** Every command APDU header received (INS names), for tests and diagnostics. */
  readonly log: string[] = [];
  private readonly apps: AppState[];
  private powered = false;
  private selectedPse = false;
  private tx: TransactionState | undefined;
  private pendingResponse: Buffer | undefined;

  constructor(profile: CardProfile) {
    this.profile = profile;
    this.tracks = { ...profile.tracks };
    this.faults = { ...(profile.faults ?? {}) };
    this.apps = profile.applications.map((p) => ({
      profile: p,
      atc: p.atc,
      lastOnlineAtc: p.lastOnlineAtc,
      blocked: p.blocked !== undefined,
      pinTries: p.pinTryLimit ?? 3,
    }));
  }

  /** Answer To Reset. A mute chip or a card without chip gives a PosError the reader reports. */
  powerOn(): Buffer {
    if (!this.profile.chip)
      throw new PosError('CODPOS_EMV_NO_CHIP', `card "${this.profile.name}" has no chip: swipe it`, {
        details: { card: this.profile.name },
      });
    if (this.faults.mute)
      throw new PosError('CODPOS_EMV_CHIP_MUTE', `chip of card "${this.profile.name}" does not answer the reset`, {
        details: { card: this.profile.name },
      });
    this.powered = true;
    this.selectedPse = false;
    this.tx = undefined;
    return Buffer.from(this.profile.atr ?? '3B6500002063CB6600', 'hex');
  }

  powerOff(): void {
    this.powered = false;
    this.tx = undefined;
    this.selectedPse = false;
  }

  /** Current ATC of an application (by AID), for tests. */
  atcOf(aid: string): number {
    return this.apps.find((a) => a.profile.aid === aid)?.atc ?? -1;
  }

  isBlocked(aid: string): boolean {
    return this.apps.find((a) => a.profile.aid === aid)?.blocked ?? false;
  }

  transmit(apdu: Buffer): Buffer {
    if (!this.powered)
      throw new PosError('CODPOS_EMV_CARD_NOT_POWERED', 'APDU sent to a card that is not powered', {
        details: { card: this.profile.name },
      });
    if (this.faults.mute)
      throw new PosError('CODPOS_EMV_CHIP_MUTE', `chip of card "${this.profile.name}" stopped answering`, {
        details: { card: this.profile.name },
      });
    if (apdu.length < 4) return SW.wrongLength;
    const [cla, ins, p1, p2] = [apdu[0]!, apdu[1]!, apdu[2]!, apdu[3]!];
    // Lc/data/Le (short APDUs only).
    let data: Buffer = Buffer.alloc(0);
    let le: number | undefined;
    if (apdu.length === 5) le = apdu[4]!;
    else if (apdu.length > 5) {
      const lc = apdu[4]!;
      if (apdu.length < 5 + lc || apdu.length > 6 + lc) return SW.wrongLength;
      data = apdu.subarray(5, 5 + lc);
      if (apdu.length === 6 + lc) le = apdu[5 + lc]!;
    }
    this.log.push(INS_NAMES[ins] ?? ins.toString(16));
    if (ins === 0xc0 && cla === 0x00) return this.getResponse(le ?? 0);
    this.pendingResponse = undefined;
    const answer = this.dispatch(cla, ins, p1, p2, data);
    return this.t0(answer, le, ins);
  }

  /** T=0: case 4 answers with data are fetched with GET RESPONSE; a case 2 with a wrong Le gets 6Cxx. */
  private t0(answer: Buffer, le: number | undefined, ins: number): Buffer {
    const data = answer.subarray(0, answer.length - 2);
    const sw = answer.subarray(answer.length - 2);
    if (data.length === 0) return answer;
    if (le === undefined) {
      this.pendingResponse = answer;
      return Buffer.from([0x61, Math.min(data.length, 255) & 0xff]);
    }
    const wanted = le === 0 ? 256 : le;
    // READ RECORD and GET DATA are case 2 commands: a wrong Le gets 6Cxx with the right one.
    if ((ins === 0xb2 || ins === 0xca) && le !== 0 && wanted !== data.length)
      return Buffer.from([0x6c, data.length & 0xff]);
    return Buffer.concat([data.subarray(0, wanted), sw]);
  }

  private getResponse(le: number): Buffer {
    const pending = this.pendingResponse;
    this.pendingResponse = undefined;
    if (!pending) return SW.conditionsNotSatisfied;
    const data = pending.subarray(0, pending.length - 2);
    const wanted = le === 0 ? 256 : le;
    if (wanted !== data.length) return Buffer.from([0x6c, data.length & 0xff]);
    return pending;
  }

  private dispatch(cla: number, ins: number, p1: number, p2: number, data: Buffer): Buffer {
    switch ((cla << 8) | ins) {
      case 0x00a4:
        return this.select(p1, p2, data);
      case 0x00b2:
        return this.readRecord(p1, p2);
      case 0x80a8:
        return this.getProcessingOptions(data);
      case 0x0088:
        return this.internalAuthenticate(data);
      case 0x80ae:
        return this.generateAc(p1, data);
      case 0x0082:
        return this.externalAuthenticate(data);
      case 0x80ca:
        return this.getData(p1, p2);
      case 0x0020:
        return this.verify(p2, data);
      case 0x841e:
      case 0x8418:
      case 0x8416:
      case 0x8424:
      case 0x04da:
      case 0x84da:
        return this.scriptCommand(cla, ins, p1, p2, data);
      default:
        return cla === 0x00 || cla === 0x80 || cla === 0x84 || cla === 0x04 ? SW.insNotSupported : SW.claNotSupported;
    }
  }

  private select(p1: number, p2: number, name: Buffer): Buffer {
    if (p1 !== 0x04) return SW.functionNotSupported;
    this.tx = undefined;
    const next = (p2 & 0x03) === 0x02;
    if (name.toString('latin1') === '1PAY.SYS.DDF01') {
      if (!this.profile.pse || next) return SW.fileNotFound;
      this.selectedPse = true;
      const fci = encodeTlv([
        {
          tag: 0x6f,
          value: Buffer.alloc(0),
          children: [
            { tag: 0x84, value: name },
            {
              tag: 0xa5,
              value: Buffer.alloc(0),
              children: [{ tag: 0x88, value: Buffer.from([this.profile.pse.sfi]) }],
            },
          ],
        },
      ]);
      return Buffer.concat([fci, SW.ok]);
    }
    this.selectedPse = false;
    const hex = name.toString('hex').toUpperCase();
    // Partial name selection: every application whose AID starts with the name, in order;
    // SELECT next moves past the one selected last.
    const matches = this.apps.filter((a) => a.profile.aid.toUpperCase().startsWith(hex));
    if (matches.length === 0) return SW.fileNotFound;
    let index = 0;
    if (next) {
      const current = this.lastSelectedByName.get(hex);
      index = current === undefined ? 0 : current + 1;
    }
    if (index >= matches.length) return SW.fileNotFound;
    this.lastSelectedByName.set(hex, index);
    const app = matches[index]!;
    if (app.blocked && app.profile.blocked === '6A81') return SW.functionNotSupported;
    const p = app.profile;
    const proprietary: Tlv[] = [{ tag: 0x50, value: Buffer.from(p.label, 'latin1') }];
    if (p.priority) proprietary.push({ tag: 0x87, value: Buffer.from(p.priority, 'hex') });
    if (p.pdol) proprietary.push({ tag: 0x9f38, value: Buffer.from(p.pdol, 'hex') });
    if (p.preferredName) proprietary.push({ tag: 0x9f12, value: Buffer.from(p.preferredName, 'latin1') });
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
    if (app.blocked) return Buffer.concat([fci, SW.selectedFileInvalidated]);
    this.tx = { app, pdolData: Buffer.alloc(0), genAcCount: 0, idn: Buffer.alloc(0), gpoDone: false };
    return Buffer.concat([fci, SW.ok]);
  }

  private readonly lastSelectedByName = new Map<string, number>();

  private readRecord(record: number, p2: number): Buffer {
    if ((p2 & 0x07) !== 0x04) return SW.functionNotSupported;
    const sfi = p2 >> 3;
    if (this.selectedPse && this.profile.pse) {
      if (sfi !== this.profile.pse.sfi) return SW.fileNotFound;
      const rec = this.profile.pse.records[record - 1];
      return rec ? Buffer.concat([Buffer.from(rec, 'hex'), SW.ok]) : SW.recordNotFound;
    }
    const tx = this.tx;
    if (!tx) return SW.conditionsNotSatisfied;
    const rec = tx.app.profile.records[`${sfi}.${record}`];
    return rec ? Buffer.concat([Buffer.from(rec, 'hex'), SW.ok]) : SW.recordNotFound;
  }

  private getProcessingOptions(data: Buffer): Buffer {
    const tx = this.tx;
    if (!tx || tx.gpoDone) return SW.conditionsNotSatisfied;
    const p = tx.app.profile;
    let items: Tlv[];
    try {
      items = decodeTlv(data);
    } catch {
      return SW.wrongLength;
    }
    const commandTemplate = items[0];
    if (!commandTemplate || commandTemplate.tag !== 0x83) return SW.wrongLength;
    const expected = p.pdol ? dolLength(Buffer.from(p.pdol, 'hex')) : 0;
    if (commandTemplate.value.length !== expected) return SW.wrongLength;
    tx.pdolData = Buffer.from(commandTemplate.value);
    tx.gpoDone = true;
    // The ATC counts every GPO (a transaction started), as real cards do.
    tx.app.atc = (tx.app.atc + 1) & 0xffff;
    tx.idn = randomBytes(tx.app.profile.idnLength ?? 8);
    const aip = Buffer.from(p.aip, 'hex');
    const afl = Buffer.from(p.afl, 'hex');
    if (p.gpoFormat === 1) return Buffer.concat([encodeTlv([{ tag: 0x80, value: Buffer.concat([aip, afl]) }]), SW.ok]);
    return Buffer.concat([
      encodeTlv([
        {
          tag: 0x77,
          value: Buffer.alloc(0),
          children: [
            { tag: 0x82, value: aip },
            { tag: 0x94, value: afl },
          ],
        },
      ]),
      SW.ok,
    ]);
  }

  private internalAuthenticate(ddolData: Buffer): Buffer {
    const tx = this.tx;
    const key = tx?.app.profile.iccPrivateKey;
    if (!tx || !tx.gpoDone) return SW.conditionsNotSatisfied;
    if (!key) return SW.insNotSupported;
    let sdad = signDynamicData({ icc: iccKeyPair(key), dynamicData: ddaDynamicData(tx.idn), terminalData: ddolData });
    if (this.faults.wrongOdaSignature) sdad = corrupt(sdad);
    return Buffer.concat([encodeTlv([{ tag: 0x80, value: sdad }]), SW.ok]);
  }

  private generateAc(p1: number, data: Buffer): Buffer {
    const tx = this.tx;
    if (!tx || !tx.gpoDone || tx.genAcCount >= 2) return SW.conditionsNotSatisfied;
    const p = tx.app.profile;
    const cdolTag = tx.genAcCount === 0 ? 0x8c : 0x8d;
    const cdol = this.recordValue(tx.app, cdolTag);
    if (!cdol || data.length !== dolLength(cdol)) return SW.wrongLength;
    const requested: AcType = (p1 & 0xc0) === 0x80 ? 'ARQC' : (p1 & 0xc0) === 0x40 ? 'TC' : 'AAC';
    if ((p1 & 0xc0) === 0xc0) return SW.functionNotSupported;
    const values = dolValues(cdol, data);
    let type: AcType;
    // The second GENERATE AC covers the CDOL1 data overlaid with what CDOL2 sent.
    if (tx.genAcCount === 1) for (const [tag, value] of tx.cdol1Values!) if (!values.has(tag)) values.set(tag, value);
    if (tx.genAcCount === 0) {
      tx.cdol1Values = values;
      tx.cdol1Data = Buffer.from(data);
      tx.unpredictableNumber = values.get(0x9f37);
      // Card risk management: the card never answers above what was asked.
      type = requested === 'TC' && !p.offlineApprovalAllowed ? 'ARQC' : requested;
      tx.firstAc = type;
    } else {
      if (tx.firstAc !== 'ARQC' || requested === 'ARQC') return SW.conditionsNotSatisfied;
      // Issuer authentication inside GENERATE AC 2 when the CDOL2 carries tag 91.
      const iad = values.get(0x91);
      if (iad && iad.some((b) => b !== 0)) tx.issuerAuthenticated = cardArpcValid(p, tx.app.atc, tx.arqc!, iad);
      type = requested;
      // Y3/Z3 in tag 8A: the terminal could not go online, so there is no issuer
      // authentication to insist on; the card applies its own offline rule.
      const arc = values.get(0x8a)?.toString('latin1');
      const unableOnline = arc === 'Y3' || arc === 'Z3';
      if (type === 'TC' && unableOnline && !p.offlineApprovalAllowed) type = 'AAC';
      if (type === 'TC' && !unableOnline && p.issuerAuthenticationRequired && tx.issuerAuthenticated !== true)
        type = 'AAC';
      if (type === 'TC' && !unableOnline) tx.app.lastOnlineAtc = tx.app.atc;
    }
    tx.genAcCount++;
    const aip = Buffer.from(p.aip, 'hex');
    const { cryptogram, iad } = cardApplicationCryptogram(p, {
      type,
      atc: tx.app.atc,
      aip,
      values,
      ...(tx.genAcCount === 2 ? { firstAc: tx.firstAc! } : {}),
    });
    if (type === 'ARQC') tx.arqc = cryptogram;
    const cid = AC_BITS[type];
    const atc = Buffer.from([tx.app.atc >> 8, tx.app.atc & 0xff]);
    const wantsCda = (p1 & 0x10) !== 0 && p.iccPrivateKey !== undefined && type !== 'AAC';
    if (!wantsCda) {
      if (p.gpoFormat === 1) {
        return Buffer.concat([
          encodeTlv([{ tag: 0x80, value: Buffer.concat([Buffer.from([cid]), atc, cryptogram, iad]) }]),
          SW.ok,
        ]);
      }
      return Buffer.concat([
        encodeTlv([
          {
            tag: 0x77,
            value: Buffer.alloc(0),
            children: [
              { tag: 0x9f27, value: Buffer.from([cid]) },
              { tag: 0x9f36, value: atc },
              { tag: 0x9f26, value: cryptogram },
              { tag: 0x9f10, value: iad },
            ],
          },
        ]),
        SW.ok,
      ]);
    }
    // CDA (Book 2 6.6): the AC goes inside the signature; the hash covers PDOL, CDOL1
    // (and CDOL2) data and the response TLVs other than the signature.
    const others: Tlv[] = [
      { tag: 0x9f27, value: Buffer.from([cid]) },
      { tag: 0x9f36, value: atc },
      { tag: 0x9f10, value: iad },
    ];
    const hashed = Buffer.concat([
      tx.pdolData,
      tx.cdol1Data!,
      tx.genAcCount === 2 ? data : Buffer.alloc(0),
      encodeTlv(others),
    ]);
    const dynamicData = cdaDynamicData({ idn: tx.idn, cid, cryptogram, transactionData: hashed });
    let sdad = signDynamicData({
      icc: iccKeyPair(p.iccPrivateKey!),
      dynamicData,
      terminalData: values.get(0x9f37) ?? Buffer.alloc(4),
    });
    if (this.faults.wrongOdaSignature) sdad = corrupt(sdad);
    return Buffer.concat([
      encodeTlv([{ tag: 0x77, value: Buffer.alloc(0), children: [...others, { tag: 0x9f4b, value: sdad }] }]),
      SW.ok,
    ]);
  }

  private externalAuthenticate(issuerAuthenticationData: Buffer): Buffer {
    const tx = this.tx;
    if (!tx || tx.firstAc !== 'ARQC' || tx.genAcCount !== 1 || tx.issuerAuthenticated !== undefined)
      return SW.conditionsNotSatisfied;
    tx.issuerAuthenticated = cardArpcValid(tx.app.profile, tx.app.atc, tx.arqc!, issuerAuthenticationData);
    return tx.issuerAuthenticated ? SW.ok : SW.authenticationFailed;
  }

  private getData(p1: number, p2: number): Buffer {
    const tx = this.tx;
    if (!tx) return SW.conditionsNotSatisfied;
    const tag = (p1 << 8) | p2;
    let value: Buffer | undefined;
    if (tag === 0x9f36) value = Buffer.from([tx.app.atc >> 8, tx.app.atc & 0xff]);
    else if (tag === 0x9f13) value = Buffer.from([tx.app.lastOnlineAtc >> 8, tx.app.lastOnlineAtc & 0xff]);
    else if (tag === 0x9f17) value = Buffer.from([tx.app.pinTries]);
    else {
      const hex = tx.app.profile.getData?.[tag.toString(16).toUpperCase()];
      if (hex !== undefined) value = Buffer.from(hex, 'hex');
    }
    if (!value) return SW.referencedDataNotFound;
    return Buffer.concat([encodeTlv([{ tag, value }]), SW.ok]);
  }

  private verify(p2: number, pinBlock: Buffer): Buffer {
    const tx = this.tx;
    if (!tx) return SW.conditionsNotSatisfied;
    // Plaintext offline PIN (P2 = 80): ISO 9564 format 2 block, 2N PPPP... FF.
    if (p2 !== 0x80) return SW.functionNotSupported;
    const pin = tx.app.profile.offlinePin;
    if (!pin) return SW.referencedDataNotFound;
    if (tx.app.pinTries <= 0) return SW.pinBlocked;
    const hex = pinBlock.toString('hex').toUpperCase();
    const length = parseInt(hex[1] ?? '0', 16);
    const given = hex.slice(2, 2 + length);
    if (hex[0] === '2' && given === pin) {
      tx.app.pinTries = tx.app.profile.pinTryLimit ?? 3;
      return SW.ok;
    }
    tx.app.pinTries--;
    return Buffer.from([0x63, 0xc0 | tx.app.pinTries]);
  }

  /** Issuer script commands (secure messaging: the last 4..8 data bytes are the MAC). */
  private scriptCommand(cla: number, ins: number, p1: number, p2: number, data: Buffer): Buffer {
    const tx = this.tx;
    if (!tx || !tx.arqc) return SW.conditionsNotSatisfied;
    if (data.length < 4) return SW.smDataIncorrect;
    const macLength = data.length >= 8 ? 8 : 4;
    const plain = data.subarray(0, data.length - macLength);
    const mac = data.subarray(data.length - macLength);
    if (
      !cardScriptMacValid(tx.app.profile, tx.app.atc, tx.arqc, Buffer.from([cla, ins, p1, p2, data.length]), plain, mac)
    )
      return SW.smDataIncorrect;
    if (ins === 0x1e) tx.app.blocked = true;
    else if (ins === 0x18) tx.app.blocked = false;
    else if (ins === 0x24) tx.app.pinTries = tx.app.profile.pinTryLimit ?? 3;
    else if (ins === 0xda) {
      const key = ((p1 << 8) | p2).toString(16).toUpperCase();
      tx.app.profile.getData = { ...(tx.app.profile.getData ?? {}), [key]: plain.toString('hex').toUpperCase() };
    } else if (ins === 0x16) for (const a of this.apps) a.blocked = true;
    return SW.ok;
  }

  private recordValue(app: AppState, tag: number): Buffer | undefined {
    for (const hex of Object.values(app.profile.records)) {
      const found = findTag(decodeTlv(Buffer.from(hex, 'hex')), tag);
      if (found) return found.value;
    }
    return undefined;
  }
}

const INS_NAMES: Record<number, string> = {
  0xa4: 'SELECT',
  0xb2: 'READ RECORD',
  0xa8: 'GET PROCESSING OPTIONS',
  0x88: 'INTERNAL AUTHENTICATE',
  0xae: 'GENERATE AC',
  0x82: 'EXTERNAL AUTHENTICATE',
  0xca: 'GET DATA',
  0x20: 'VERIFY',
  0xc0: 'GET RESPONSE',
  0x1e: 'APPLICATION BLOCK',
  0x18: 'APPLICATION UNBLOCK',
  0x16: 'CARD BLOCK',
  0x24: 'PIN CHANGE/UNBLOCK',
  0xda: 'PUT DATA',
};

/** Sum of the lengths a DOL asks for. */
function dolLength(dol: Buffer): number {
  return parseDol(dol).reduce((sum, entry) => sum + entry.length, 0);
}

/** The values a terminal sent for a DOL, by tag. */
function dolValues(dol: Buffer, data: Buffer): Map<number, Buffer> {
  const values = new Map<number, Buffer>();
  let pos = 0;
  for (const { tag, length } of parseDol(dol)) {
    values.set(tag, data.subarray(pos, pos + length));
    pos += length;
  }
  return values;
}

function corrupt(signature: Buffer): Buffer {
  const copy = Buffer.from(signature);
  copy[copy.length - 1]! ^= 0x01;
  return copy;
}
