/**
 * The acquirer host simulator: a real TCP server on loopback that speaks the host
 * link's framing and dialect and answers like an acquirer with an issuer behind it.
 *
 * - 0800 sign-on / sign-off / echo: 00.
 * - 0200 void (processing code 02xxxx): takes the original (DE90) off the host's book, 00;
 *   12 when there is nothing booked to void.
 * - 0200 purchase: finds the virtual card by PAN; decrypts the DE52 PIN block with
 *   DUKPT from the configured BDK (KSN in DE62: 20 hex digits for TDES DUKPT and an
 *   ISO 9564 format 0 block, 24 for AES DUKPT and format 4) and checks it against
 *   the card profile's online PIN (55 if wrong); verifies the ARQC in DE55 with the
 *   profile's issuer master keys (05 without DE55 if it fails) and answers with the
 *   ARPC in tag 91, and issuer scripts (71/72, MACed with the card's MK-SMI) when a
 *   rule adds them. A stripe-only card (a profile without a chip application) is
 *   known by the PAN on its track 2: approved without a PIN, 55 with one.
 * - 0400/0401 reversal, 0220/0221 advice, 0320 batch upload: 00, recorded once per
 *   original (a repeat is not counted twice); a batch upload books a transaction the host
 *   lacks (`forget` makes it lack one).
 * - 0500 settlement: 00 when the terminal's totals equal the host's (the host's batch for
 *   that terminal then closes too), 95 when not.
 *
 * Rules script misbehaviour for tests and technicians: decline (by MTI and amount),
 * answer late, drop the connection, never answer. It never logs a PIN or a full PAN:
 * what it logs and keeps (`received`) is the masked form.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { maskPan } from '../../config/masking.js';
import {
  DE,
  IsoStreamFramer,
  buildResponse,
  decodeIso8583,
  encodeIso8583,
  frameMessage,
  maskedMessageJson,
  readSettlementTotals,
  replyTpdu,
  resolveFraming,
  type Dialect,
  type FramingOptions,
  type IsoFields,
  type IsoMessage,
  type Tpdu,
} from '../../emv/iso8583/index.js';
import { decodeTlv, encodeTlv, findTag, type Tlv } from '../../emv/tlv/index.js';
import { deriveTdesKeys, parseTdesKsn } from '../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, parseAesKsn } from '../../emv/crypto/dukpt-aes.js';
import { decodePinBlock } from '../../emv/crypto/pin-block.js';
import { cvnIccMasterKey, generateCvnArpc, generateCvnScriptMac, verifyCvnAc, type AcTransactionData } from '../../emv/crypto/cryptogram.js';
import { listCardProfiles, loadCardProfile, type CardApplicationProfile, type CardProfile } from '../../emv/card/index.js';
import type { Logger } from '../log.js';
import { KSN_FIELD } from './fields.js';

export { KSN_FIELD };

export type SimAction = 'approve' | 'decline' | 'late' | 'drop' | 'silent';

/** One scripted behaviour; the first rule that matches a request decides. */
export interface SimRule {
  /** Requests of this MTI only (e.g. '0200'); absent: any. */
  mti?: string;
  /** Requests for exactly this amount (minor units, DE4) only. */
  amount?: number;
  /** Requests for at least this amount only. */
  amountAtLeast?: number;
  /**
   * decline: answer with `responseCode` (default 05). late: answer after `delayMs`.
   * drop: close the connection without answering. silent: never answer.
   * approve: answer normally (with `issuerScripts` if given).
   */
  action: SimAction;
  responseCode?: string;
  delayMs?: number;
  /** Issuer scripts (71 before, 72 after the second GENERATE AC) added to DE55 of an answer, MACed for the card. */
  issuerScripts?: IssuerScriptSpec[];
  /** Applies to this many requests, then is removed; absent: for ever. */
  times?: number;
}

export interface AcquirerSimulatorOptions {
  dialect: Dialect;
  framing: FramingOptions;
  /** 0 (default) for any free port. */
  port?: number;
  /** DUKPT base derivation key (hex) the PIN pads' keys come from. */
  pinBdk?: string;
  /** The PIN pads' DUKPT (`devices.pinpad.dukpt`); default tdes. An AES KSN is read as this key type. */
  pinDukpt?: 'tdes' | 'aes128' | 'aes256';
  /** The issuer's cards; default every shipped virtual card profile. */
  cards?: CardProfile[];
  rules?: SimRule[];
  log?: Logger;
  /** Called with every exchange once it is decided (no card data in it): for `codpos sim host`. */
  onExchange?: (exchange: SimExchange) => void;
}

/** One issuer script: its commands get secure messaging (CLA 84, MAC from the card's MK-SMI) when answered. */
export interface IssuerScriptSpec {
  template: 0x71 | 0x72;
  /** Script identifier (9F18), 8 hex digits. */
  id?: string;
  /** e.g. APPLICATION BLOCK { ins: 0x1E, p1: 0, p2: 0 }, PUT DATA { ins: 0xDA, p1: 0x9F, p2: 0x14, data: '05' }. */
  commands: Array<{ ins: number; p1: number; p2: number; data?: string }>;
}

/** What the simulator saw, without card data: for tests and the CLI. */
export interface SimExchange {
  mti: string;
  stan?: string;
  terminalId?: string;
  /** The answer's response code, or what happened instead. */
  answer: string;
  /** DE90's original MTI + STAN for reversals and advices. */
  original?: string;
  /** DE22, the POS entry mode (051 chip, 901 stripe, 801 chip fallback, ...). */
  entryMode?: string;
  /** Set when a rule held the answer back this long. */
  delayMs?: number;
}

interface BookedTransaction {
  amount: bigint;
  reversed: boolean;
}

export class AcquirerHostSimulator {
  readonly received: SimExchange[] = [];
  readonly rules: SimRule[];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly cardsByPan = new Map<string, CardApplicationProfile>();
  /** Stripe-only cards: approved without a PIN (none is on file for them), declined 55 with one. */
  private readonly stripeOnlyPans = new Set<string>();
  /** Host-side batch: approved purchases and advices by terminal id + STAN. */
  private readonly book = new Map<string, BookedTransaction>();
  private address: AddressInfo | undefined;

  constructor(private readonly options: AcquirerSimulatorOptions) {
    resolveFraming(options.framing);
    this.rules = [...(options.rules ?? [])];
    const cards = options.cards ?? listCardProfiles().map((name) => loadCardProfile(name));
    for (const card of cards) {
      for (const app of card.applications) this.cardsByPan.set(app.pan, app);
      // A card without a chip is known by the PAN on its stripe.
      const stripePan = card.applications.length === 0 ? /^;?(\d{12,19})=/.exec(card.tracks.track2 ?? '')?.[1] : undefined;
      if (stripePan !== undefined) this.stripeOnlyPans.add(stripePan);
    }
    this.server = createServer((socket) => this.serve(socket));
  }

  /**
   * Forgets a booked transaction, as a host that lost it would: the next settlement from that
   * terminal is out of balance until a batch upload brings it back (tests, the console).
   */
  forget(terminalId: string, stan: string): boolean {
    return this.book.delete(`${terminalId}|${stan}`);
  }

  /** Adds a rule in front of the others (the newest rule wins). */
  behave(rule: SimRule): void {
    if (!['approve', 'decline', 'late', 'drop', 'silent'].includes(rule.action)) {
      throw new PosError('CODPOS_USAGE_BAD_OPTION', `simulator rule action must be approve, decline, late, drop or silent, not ${String(rule.action)}`, { details: { option: 'action' } });
    }
    this.rules.unshift(rule);
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  async start(): Promise<{ address: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new PosError('CODPOS_HOST_SIM_LISTEN', `the acquirer simulator cannot listen on 127.0.0.1:${this.options.port ?? 0}: ${error.message}`, { cause: error, details: { port: this.options.port ?? 0 } })),
      );
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.address = this.server.address() as AddressInfo;
    this.options.log?.info({ port: this.address.port }, 'acquirer host simulator listening');
    return { address: this.address.address, port: this.address.port };
  }

  get port(): number {
    if (!this.address) throw new PosError('CODPOS_HOST_SIM_LISTEN', 'the acquirer simulator is not started');
    return this.address.port;
  }

  /** Open terminal connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Closes every terminal connection (the link should reconnect). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = [...this.sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    this.dropConnections();
    await Promise.all([...closed, new Promise<void>((resolve) => this.server.close(() => resolve()))]);
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new IsoStreamFramer(this.options.framing);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = framer.push(chunk);
      } catch (error) {
        this.options.log?.warn({ err: error }, 'acquirer simulator: unreadable frame; closing the connection');
        socket.destroy();
        return;
      }
      for (const frame of frames) this.handle(socket, frame.message, frame.tpdu);
    });
  }

  private handle(socket: Socket, bytes: Buffer, tpdu: Tpdu | undefined): void {
    let request: IsoMessage;
    try {
      request = decodeIso8583(bytes, this.options.dialect);
    } catch (error) {
      this.options.log?.warn({ err: error }, 'acquirer simulator: message does not decode; dropped');
      return;
    }
    this.options.log?.debug({ message: maskedMessageJson(request) }, 'acquirer simulator: request');
    const exchange: SimExchange = { mti: request.mti, answer: '' };
    const stan = request.fields[DE.STAN];
    if (typeof stan === 'string') exchange.stan = stan;
    const tid = request.fields[DE.TERMINAL_ID];
    if (typeof tid === 'string') exchange.terminalId = tid;
    const original = request.fields[DE.ORIGINAL_DATA];
    if (typeof original === 'string') exchange.original = original.slice(0, 10);
    const entryMode = request.fields[DE.POS_ENTRY_MODE];
    if (typeof entryMode === 'string') exchange.entryMode = entryMode;
    this.received.push(exchange);

    const rule = this.ruleFor(request);
    if (rule?.action === 'drop') {
      exchange.answer = 'dropped the connection';
      this.options.onExchange?.(exchange);
      socket.destroy();
      return;
    }
    if (rule?.action === 'silent') {
      exchange.answer = 'no answer';
      this.options.onExchange?.(exchange);
      return;
    }
    let response: IsoMessage;
    try {
      response = this.answer(request, rule);
    } catch (error) {
      // A request the simulator cannot read is a format error (30), as a host would say.
      this.options.log?.warn({ err: error, mti: request.mti }, 'acquirer simulator: request not understood; answering 30');
      response = buildResponse(request, { [DE.RESPONSE_CODE]: '30' });
    }
    exchange.answer = String(response.fields[DE.RESPONSE_CODE] ?? '');
    if (rule?.action === 'late') exchange.delayMs = rule.delayMs ?? 1000;
    this.options.onExchange?.(exchange);
    const frame = frameMessage(encodeIso8583(response, this.options.dialect), this.options.framing, tpdu ? { tpdu: replyTpdu(tpdu) } : {});
    const send = () => {
      if (!socket.destroyed) socket.write(frame);
    };
    if (rule?.action === 'late') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        send();
      }, rule.delayMs ?? 1000);
      this.timers.add(timer);
    } else send();
  }

  /** The rule that would decide `request` now, without using it up: lets a test know the host will stay silent. */
  ruleMatching(request: IsoMessage): SimRule | undefined {
    return this.rules[this.indexOfRule(request)];
  }

  private indexOfRule(request: IsoMessage): number {
    const amountText = request.fields[DE.AMOUNT];
    const amount = typeof amountText === 'string' ? Number(amountText) : undefined;
    return this.rules.findIndex(
      (rule) =>
        (rule.mti === undefined || rule.mti === request.mti) &&
        (rule.amount === undefined || rule.amount === amount) &&
        (rule.amountAtLeast === undefined || (amount !== undefined && amount >= rule.amountAtLeast)),
    );
  }

  private ruleFor(request: IsoMessage): SimRule | undefined {
    const index = this.indexOfRule(request);
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    if (rule.times !== undefined) {
      rule.times--;
      if (rule.times <= 0) this.rules.splice(index, 1);
    }
    return rule;
  }

  private answer(request: IsoMessage, rule: SimRule | undefined): IsoMessage {
    const tid = String(request.fields[DE.TERMINAL_ID] ?? '');
    switch (request.mti) {
      case '0800':
        return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
      case '0200': {
        // A void (processing code 02xxxx) takes its original (DE90) off the book; it books nothing itself.
        if (String(request.fields[DE.PROCESSING_CODE] ?? '').startsWith('02')) {
          const booked = this.book.get(`${tid}|${String(request.fields[DE.ORIGINAL_DATA] ?? '').slice(4, 10)}`);
          if (!booked || booked.reversed) return buildResponse(request, { [DE.RESPONSE_CODE]: '12' }); // nothing to void
          booked.reversed = true;
          return buildResponse(request, { [DE.RESPONSE_CODE]: '00', [DE.AUTH_CODE]: String(randomInt(0, 1_000_000)).padStart(6, '0') });
        }
        return this.purchase(request, rule);
      }
      case '0400':
      case '0401': {
        const original = String(request.fields[DE.ORIGINAL_DATA] ?? '');
        const key = `${tid}|${original.slice(4, 10)}`;
        const booked = this.book.get(key);
        if (booked) booked.reversed = true;
        return buildResponse(request, { [DE.RESPONSE_CODE]: rule?.action === 'decline' ? (rule.responseCode ?? '12') : '00' });
      }
      case '0220':
      case '0221': {
        const key = `${tid}|${String(request.fields[DE.STAN] ?? '')}`;
        if (!this.book.has(key)) this.book.set(key, { amount: BigInt(String(request.fields[DE.AMOUNT] ?? '0')), reversed: false });
        return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
      }
      case '0320': {
        // A batch upload books the transaction it carries (DE90: original MTI + STAN) if the host lacks it.
        const key = `${tid}|${String(request.fields[DE.ORIGINAL_DATA] ?? '').slice(4, 10)}`;
        if (!this.book.has(key)) this.book.set(key, { amount: BigInt(String(request.fields[DE.AMOUNT] ?? '0')), reversed: false });
        return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
      }
      case '0500': {
        const theirs = readSettlementTotals(request);
        let count = 0;
        let amount = 0n;
        for (const [key, booked] of this.book) {
          if (!key.startsWith(`${tid}|`) || booked.reversed) continue;
          count++;
          amount += booked.amount;
        }
        const inBalance = theirs.debitCount === count && BigInt(theirs.debitAmount) === amount;
        // Settled in balance: the host closes the terminal's batch too; the next one starts empty.
        if (inBalance) for (const key of [...this.book.keys()]) if (key.startsWith(`${tid}|`)) this.book.delete(key);
        return buildResponse(request, { [DE.RESPONSE_CODE]: inBalance ? '00' : '95' });
      }
      default:
        return buildResponse(request, { [DE.RESPONSE_CODE]: '12' }); // invalid transaction
    }
  }

  private purchase(request: IsoMessage, rule: SimRule | undefined): IsoMessage {
    const pan = panOf(request);
    const app = pan === undefined ? undefined : this.cardsByPan.get(pan);
    if (pan !== undefined && app === undefined && this.stripeOnlyPans.has(pan)) return this.stripePurchase(request, rule);
    if (pan === undefined || app === undefined) {
      this.options.log?.info({ pan: pan === undefined ? undefined : maskPan(pan) }, 'acquirer simulator: unknown card');
      return buildResponse(request, { [DE.RESPONSE_CODE]: '14' });
    }
    const fields: IsoFields = {};
    let code = '00';
    const pinBlock = request.fields[DE.PIN_BLOCK];
    if (Buffer.isBuffer(pinBlock) && !this.pinMatches(request, pinBlock, pan, app)) code = '55';

    const icc = request.fields[DE.ICC_DATA];
    let arqcValid: boolean | undefined;
    let tlvs: Tlv[] | undefined;
    if (Buffer.isBuffer(icc)) {
      tlvs = decodeTlv(icc);
      arqcValid = this.arqcValid(tlvs, app);
      if (!arqcValid) code = '05';
    }
    if (code === '00' && rule?.action === 'decline') code = rule.responseCode ?? '05';
    fields[DE.RESPONSE_CODE] = code;
    if (code === '00') {
      fields[DE.AUTH_CODE] = String(randomInt(0, 1_000_000)).padStart(6, '0');
      this.book.set(`${String(request.fields[DE.TERMINAL_ID] ?? '')}|${String(request.fields[DE.STAN] ?? '')}`, { amount: BigInt(String(request.fields[DE.AMOUNT] ?? '0')), reversed: false });
    }
    // The ARPC proves the answer comes from the issuer; a card whose ARQC failed gets none.
    if (tlvs !== undefined && arqcValid) {
      const out: Tlv[] = [{ tag: 0x91, value: this.issuerAuthentication(tlvs, app, code) }];
      for (const script of rule?.issuerScripts ?? []) out.push(this.issuerScript(script, tlvs, app));
      fields[DE.ICC_DATA] = encodeTlv(out);
    }
    return buildResponse(request, fields);
  }

  private stripePurchase(request: IsoMessage, rule: SimRule | undefined): IsoMessage {
    let code = request.fields[DE.PIN_BLOCK] !== undefined ? '55' : '00';
    if (code === '00' && rule?.action === 'decline') code = rule.responseCode ?? '05';
    const fields: IsoFields = { [DE.RESPONSE_CODE]: code };
    if (code === '00') {
      fields[DE.AUTH_CODE] = String(randomInt(0, 1_000_000)).padStart(6, '0');
      this.book.set(`${String(request.fields[DE.TERMINAL_ID] ?? '')}|${String(request.fields[DE.STAN] ?? '')}`, { amount: BigInt(String(request.fields[DE.AMOUNT] ?? '0')), reversed: false });
    }
    return buildResponse(request, fields);
  }

  private pinMatches(request: IsoMessage, block: Buffer, pan: string, app: CardApplicationProfile): boolean {
    const ksnText = request.fields[KSN_FIELD];
    if (this.options.pinBdk === undefined || typeof ksnText !== 'string' || app.onlinePin === undefined) return false;
    try {
      // The KSN's length tells the scheme: 10 bytes TDES DUKPT (format 0), 12 bytes AES DUKPT (format 4).
      const aesType = this.options.pinDukpt === 'aes128' || this.options.pinDukpt === 'aes256' ? this.options.pinDukpt : undefined;
      const pin =
        ksnText.length === 24
          ? decodePinBlock({ format: 4, block, pan, key: deriveAesKeys(this.options.pinBdk, parseAesKsn(ksnText), aesType).pinKey })
          : decodePinBlock({ format: 0, block, pan, key: deriveTdesKeys(this.options.pinBdk, parseTdesKsn(ksnText)).pinKey });
      return pin === app.onlinePin;
    } catch {
      return false; // a block that does not decode is a wrong PIN, as for a real host
    }
  }

  private arqcValid(tlvs: Tlv[], app: CardApplicationProfile): boolean {
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
      return verifyCvnAc(app.cvn, this.iccMasterKey(app), tx as AcTransactionData, arqc);
    } catch {
      return false; // missing or malformed data: the cryptogram cannot be verified
    }
  }

  /** Tag 91: ARPC || ARC (method 1), or ARPC || CSU (method 2, Visa CVN 18). */
  private issuerAuthentication(tlvs: Tlv[], app: CardApplicationProfile, code: string): Buffer {
    const arqc = findTag(tlvs, 0x9f26)!.value;
    const atc = findTag(tlvs, 0x9f36)!.value;
    const key = this.iccMasterKey(app);
    if (app.cvn === 'visa-cvn18') {
      const csu = Buffer.from(code === '00' ? '00820000' : '00000000', 'hex');
      return Buffer.concat([generateCvnArpc(app.cvn, key, { arqc, atc, csu }), csu]);
    }
    const arc = Buffer.from(code, 'latin1');
    return Buffer.concat([generateCvnArpc(app.cvn, key, { arqc, atc, arc }), arc]);
  }

  /** A 71/72 template whose commands carry the MAC the card checks (over header, ATC, ARQC, data). */
  private issuerScript(spec: IssuerScriptSpec, tlvs: Tlv[], app: CardApplicationProfile): Tlv {
    const arqc = findTag(tlvs, 0x9f26)!.value;
    const atc = findTag(tlvs, 0x9f36)!.value;
    const smi = cvnIccMasterKey(app.cvn, app.issuerMasterKeys.smi, app.pan, app.panSequenceNumber);
    const children: Tlv[] = [{ tag: 0x9f18, value: Buffer.from(spec.id ?? '00000001', 'hex') }];
    for (const command of spec.commands) {
      const data = Buffer.from(command.data ?? '', 'hex');
      const header = Buffer.from([0x84, command.ins, command.p1, command.p2, data.length + 8]);
      const mac = generateCvnScriptMac(app.cvn, smi, { header, atc, arqc, commandData: data });
      children.push({ tag: 0x86, value: Buffer.concat([header, data, mac]) });
    }
    return { tag: spec.template, value: Buffer.alloc(0), children };
  }

  private iccMasterKey(app: CardApplicationProfile): Buffer {
    return cvnIccMasterKey(app.cvn, app.issuerMasterKeys.ac, app.pan, app.panSequenceNumber);
  }
}

/** DE2, or the PAN inside DE35. */
function panOf(request: IsoMessage): string | undefined {
  const pan = request.fields[DE.PAN];
  if (typeof pan === 'string') return pan;
  const track2 = request.fields[DE.TRACK2];
  if (typeof track2 === 'string') return track2.split(/[=D]/)[0];
  return undefined;
}
