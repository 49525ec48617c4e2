/**
 * The acquirer host simulator: a real TCP server on loopback that speaks the host
 * link's framing and dialect and answers like an acquirer with an issuer behind it,
 * as strictly as one (docs/host-link.md lists every rule and the code it answers).
 *
 * - 0800 sign-on / sign-off / echo: 00.
 * - 0200 void (processing code 02xxxx): takes the original (DE90) off the host's book, 00;
 *   12 when there is nothing booked to void.
 * - 0200 purchase: first what the acquirer requires (sim-checks.ts): chip entry with DE55
 *   (30 without), DE35 that agrees with DE2 and DE14 (30 otherwise). Then the issuer: the card
 *   by PAN (14 unknown; the contact and the contactless virtual cards are on file); the ARQC in DE55 verified with the profile's issuer master keys (05
 *   if it fails); the DE52 PIN block decrypted with DUKPT from the configured BDK (KSN in
 *   DE62: 20 hex digits for TDES DUKPT and an ISO 9564 format 0 block, 24 for AES DUKPT and
 *   format 4) and checked against the profile's online PIN (55 if wrong), and required (55
 *   without) when the card's CVM results or the stripe's service code ask for a PIN. It
 *   answers with the ARPC in tag 91 (its ARC the code answered) and issuer scripts (71/72,
 *   MACed with the card's MK-SMI) when a rule adds them. A stripe-only card (a profile without
 *   a chip application) is known by the PAN on its track 2: no PIN is on file for it.
 * - 0400/0401 reversal, 0220/0221 advice, 0320 batch upload: 00, recorded once per
 *   original (a repeat is not counted twice); an advice naming an authorization (DE90) is its
 *   completion and books nothing; a batch upload books a transaction the host lacks
 *   (`forget` makes it lack one).
 * - 0500 settlement: 00 when the terminal's totals equal the host's (the host's batch for
 *   that terminal then closes too), 95 when not.
 *
 * Rules script misbehaviour for tests and technicians: decline (by MTI and amount), approve
 * in part (10) or with another approval code (08, 11), answer late, drop the connection,
 * never answer; `faults` draws them at random from a seed. `audit()` says what the terminal
 * did wrong (sim-audit.ts). It never logs a PIN or a full PAN: what it logs and keeps
 * (`received`) is the masked form.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { randomInt } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import { maskPan } from '../../config/masking.js';
import {
  DE,
  IsoStreamFramer,
  amountField,
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
import { encodeTlv, type Tlv } from '../../emv/tlv/index.js';
import { listCardProfiles, loadCardProfile, type CardProfile } from '../../emv/card/index.js';
import { listContactlessProfiles, loadContactlessProfile } from '../../emv/card/contactless-profiles.js';
import type { ContactlessCardProfile } from '../../emv/card/contactless-profile.js';
import type { Logger } from '../log.js';
import { KSN_FIELD } from './fields.js';
import { PARTIAL_FAULT_PERCENT, SimFaultDraw, type SimFault, type SimFaultOptions } from './sim-faults.js';
import { SimAuditTrail, type SimAudit, type SimAuditLimits } from './sim-audit.js';
import { SimBook } from './sim-book.js';
import {
  APPROVED_CODES,
  arqcVerifies,
  cryptogramOf,
  issuerAuthenticationData,
  issuerScriptTemplate,
  pinBlockMatches,
  type IssuerAccount,
} from './sim-issuer.js';
import { onlinePinRequirement, readPurchase, type PurchaseReading, type Refusal } from './sim-checks.js';
import { recordArrival, type SimExchange } from './sim-exchange.js';

export { KSN_FIELD };
export type { SimExchange, SimAudit, SimFault, SimFaultOptions };

export type SimAction = 'approve' | 'decline' | 'partial' | 'late' | 'drop' | 'silent';
export const SIM_ACTIONS: readonly SimAction[] = ['approve', 'decline', 'partial', 'late', 'drop', 'silent'];

/** What `approve` may answer instead of 00. */
const APPROVAL_CODES = ['00', '08', '11'];

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
   * drop: close the connection without answering. silent: never answer. For a 0200 the
   * issuer still decides (and books an approval) when drop or silent withholds the answer.
   * approve: answer normally (with `issuerScripts` if given), 00 or `responseCode` 08 or 11.
   * partial: approve part of the amount (10, DE4 the approved amount): `approvedAmount`, or
   * `approvedPercent` of the request (default 50), always at least 1 minor unit below it; a
   * request of 1 minor unit cannot be approved in part and is declined 51.
   */
  action: SimAction;
  responseCode?: string;
  delayMs?: number;
  /** partial: the amount approved, minor units. */
  approvedAmount?: number;
  /** partial: the share of the request approved, 1 to 99. */
  approvedPercent?: number;
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
  /**
   * The issuer's contactless cards (their applications' PANs and keys); default every shipped
   * virtual contactless profile. A contact card's PAN already on file keeps its contact profile.
   */
  contactlessCards?: ContactlessCardProfile[];
  rules?: SimRule[];
  /** Random faults for the purchases and reversals no rule decides. */
  faults?: SimFaultOptions;
  /** How many exchanges `received` keeps, newest last (default 1,000). */
  maxExchanges?: number;
  /**
   * How many transactions the host's book holds over all terminals (default 10,000): past it the
   * oldest is forgotten (counted in the audit's `pruned`), as `forget` would. A terminal that
   * settles empties its part; one that never does must not make the book grow for ever.
   */
  maxBooked?: number;
  auditLimits?: SimAuditLimits;
  log?: Logger;
  /** Called with every exchange once it is decided (no card data in it): for `codpos sim host`. */
  onExchange?: (exchange: SimExchange) => void;
  /** Serve TLS instead of plain TCP (PEM key and certificate chain); `ca` + `requestCert` require a client certificate from it. */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
}

/** One issuer script: its commands get secure messaging (CLA 84, MAC from the card's MK-SMI) when answered. */
export interface IssuerScriptSpec {
  template: 0x71 | 0x72;
  /** Script identifier (9F18), 8 hex digits. */
  id?: string;
  /** e.g. APPLICATION BLOCK { ins: 0x1E, p1: 0, p2: 0 }, PUT DATA { ins: 0xDA, p1: 0x9F, p2: 0x14, data: '05' }. */
  commands: Array<{ ins: number; p1: number; p2: number; data?: string }>;
}

export class AcquirerHostSimulator {
  /** The latest exchanges (at most `maxExchanges`), oldest first. */
  readonly received: SimExchange[] = [];
  readonly rules: SimRule[];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly cardsByPan = new Map<string, IssuerAccount>();
  /** Stripe-only cards: no PIN is on file for them (55 with one). */
  private readonly stripeOnlyPans = new Set<string>();
  /** What the host approved, reversed, voided and settled (sim-book.ts). */
  private readonly book: SimBook;
  private readonly trail: SimAuditTrail;
  private readonly faults: SimFaultDraw | undefined;
  private address: AddressInfo | undefined;

  constructor(private readonly options: AcquirerSimulatorOptions) {
    resolveFraming(options.framing);
    this.rules = [];
    for (const rule of options.rules ?? []) this.rules.push(checkRule(rule));
    this.faults = options.faults === undefined ? undefined : new SimFaultDraw(options.faults);
    this.trail = new SimAuditTrail(options.auditLimits);
    this.book = new SimBook({ maxBooked: options.maxBooked, onForgotten: () => this.trail.forgotten() });
    const cards = options.cards ?? listCardProfiles().map((name) => loadCardProfile(name));
    for (const card of cards) {
      for (const app of card.applications) this.cardsByPan.set(app.pan, app);
      // A card without a chip is known by the PAN on its stripe.
      const stripePan =
        card.applications.length === 0 ? /^;?(\d{12,19})=/.exec(card.tracks.track2 ?? '')?.[1] : undefined;
      if (stripePan !== undefined) this.stripeOnlyPans.add(stripePan);
    }
    const contactless =
      options.contactlessCards ?? listContactlessProfiles().map((name) => loadContactlessProfile(name));
    for (const card of contactless) {
      for (const app of card.applications) {
        const account = issuerAccountOf(app);
        if (account !== undefined && !this.cardsByPan.has(account.pan)) this.cardsByPan.set(account.pan, account);
      }
    }
    const tls = options.tls;
    this.server = tls
      ? createTlsServer(
          {
            key: tls.key,
            cert: tls.cert,
            ...(tls.ca ? { ca: tls.ca } : {}),
            requestCert: tls.requestCert ?? false,
            rejectUnauthorized: tls.requestCert ?? false,
          },
          (socket) => this.serve(socket),
        )
      : createServer((socket) => this.serve(socket));
  }

  /**
   * Forgets a booked transaction, as a host that lost it would: the next settlement from that
   * terminal is out of balance until a batch upload brings it back (tests, the console).
   */
  forget(terminalId: string, stan: string): boolean {
    return this.book.forget(terminalId, stan);
  }

  /** Adds a rule in front of the others (the newest rule wins). */
  behave(rule: SimRule): void {
    this.rules.unshift(checkRule(rule));
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  /**
   * What the terminal did that a certification engineer would flag, for one terminal or all:
   * reused STANs, a financial request sent before the reversal of an unanswered one, unanswered
   * requests never reversed; and the host's book per terminal (what a 0500 is compared with).
   */
  audit(terminalId?: string): SimAudit {
    return this.trail.report(this.book.books(), terminalId);
  }

  async start(): Promise<{ address: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new PosError(
            'CODPOS_HOST_SIM_LISTEN',
            `the acquirer simulator cannot listen on 127.0.0.1:${this.options.port ?? 0}: ${error.message}`,
            { cause: error, details: { port: this.options.port ?? 0 } },
          ),
        ),
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
    const closed = [...this.sockets].map(
      (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
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
    const exchange = recordArrival(request);
    this.received.push(exchange);
    if (this.received.length > (this.options.maxExchanges ?? 1_000)) this.received.shift();
    const tid = exchange.terminalId ?? '';
    const stan = exchange.stan ?? '';
    this.trail.request(tid, request.mti, stan, exchange.amount ?? 0, originalOf(request));

    const rule = this.ruleFor(request) ?? this.faultRule(request, exchange);
    if (rule?.action === 'drop' || rule?.action === 'silent') {
      exchange.answer = rule.action === 'drop' ? 'dropped the connection' : 'no answer';
      if (request.mti === '0200') {
        // The issuer decided; only its answer is lost on the way: an approval stays on the book until reversed.
        exchange.withheldAnswer = String(this.respond(request, rule, exchange).fields[DE.RESPONSE_CODE] ?? '');
        this.trail.unanswered(tid, stan, exchange.answer);
      }
      this.options.onExchange?.(exchange);
      if (rule.action === 'drop') socket.destroy();
      return;
    }
    const response = this.respond(request, rule, exchange);
    exchange.answer = String(response.fields[DE.RESPONSE_CODE] ?? '');
    if (rule?.action === 'late') exchange.delayMs = rule.delayMs ?? 1000;
    this.options.onExchange?.(exchange);
    // The decision as the exchange records it (no card data): how a daemon's in-process simulator is watched.
    this.options.log?.debug({ exchange }, 'acquirer simulator: answered');
    const frame = frameMessage(
      encodeIso8583(response, this.options.dialect),
      this.options.framing,
      tpdu ? { tpdu: replyTpdu(tpdu) } : {},
    );
    const send = () => {
      const delivered = !socket.destroyed;
      if (delivered) socket.write(frame);
      if (request.mti !== '0200') return;
      if (delivered) this.trail.answered(tid, stan);
      else this.trail.unanswered(tid, stan, 'answer not delivered');
    };
    if (rule?.action === 'late') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        send();
      }, rule.delayMs ?? 1000);
      this.timers.add(timer);
    } else send();
  }

  /** The answer to `request`; a request the simulator cannot process is a format error (30), as a host would say. */
  private respond(request: IsoMessage, rule: SimRule | undefined, exchange: SimExchange): IsoMessage {
    try {
      return this.answer(request, rule, exchange);
    } catch (error) {
      this.options.log?.warn(
        { err: error, mti: request.mti },
        'acquirer simulator: request not understood; answering 30',
      );
      exchange.refusal = 'the request could not be processed';
      return buildResponse(request, { [DE.RESPONSE_CODE]: '30' });
    }
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

  /** A random fault for a purchase (not a void) or a reversal that no rule decided; undefined: answered normally. */
  private faultRule(request: IsoMessage, exchange: SimExchange): SimRule | undefined {
    if (this.faults === undefined) return undefined;
    if (request.mti === '0200' && !isVoid(request)) {
      const fault = this.faults.purchase();
      if (fault === undefined) return undefined;
      exchange.fault = fault;
      switch (fault) {
        case 'silent':
        case 'drop':
          return { action: fault };
        case 'late':
          return { action: 'late', delayMs: this.faults.lateMs };
        case 'decline05':
          return { action: 'decline', responseCode: '05' };
        case 'decline91':
          return { action: 'decline', responseCode: '91' };
        case 'partial':
          return { action: 'partial', approvedPercent: PARTIAL_FAULT_PERCENT };
      }
    }
    if (request.mti === '0400' || request.mti === '0401') {
      const fault = this.faults.reversal();
      if (fault === undefined) return undefined;
      exchange.fault = fault;
      return { action: fault };
    }
    return undefined;
  }

  private answer(request: IsoMessage, rule: SimRule | undefined, exchange: SimExchange): IsoMessage {
    const tid = String(request.fields[DE.TERMINAL_ID] ?? '');
    switch (request.mti) {
      case '0800':
        return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
      case '0200': {
        // A void (processing code 02xxxx) takes its original (DE90) off the book; it books nothing itself.
        if (isVoid(request)) {
          if (!this.book.void(tid, originalOf(request)?.stan ?? '', String(request.fields[DE.STAN] ?? ''))) {
            return this.refuse(request, exchange, {
              code: '12',
              reason: 'no approved purchase under the original STAN (DE90) to void',
            });
          }
          return buildResponse(request, { [DE.RESPONSE_CODE]: '00', [DE.AUTH_CODE]: newAuthCode() });
        }
        return this.purchase(request, rule, exchange);
      }
      case '0400':
      case '0401': {
        // Idempotent: a repeat, or a reversal of something the host never booked, is still answered 00.
        this.book.reverse(tid, originalOf(request)?.stan ?? '');
        return buildResponse(request, {
          [DE.RESPONSE_CODE]: rule?.action === 'decline' ? (rule.responseCode ?? '12') : '00',
        });
      }
      case '0220':
      case '0221': {
        const original = originalOf(request);
        if (original?.mti === '0200') {
          // A completion (the card's TC and script results after an online approval): the authorization is the sale.
          exchange.completion = true;
          if (!this.book.has(tid, original.stan))
            this.options.log?.info(
              { terminalId: tid, original: original.stan },
              'acquirer simulator: completion advice for an authorization not on the book; not booked',
            );
          return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
        }
        const stan = String(request.fields[DE.STAN] ?? '');
        if (!this.book.has(tid, stan)) this.book.put(tid, stan, BigInt(String(request.fields[DE.AMOUNT] ?? '0')));
        return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
      }
      case '0320': {
        // A batch upload books the transaction it carries (DE90: original MTI + STAN) if the host lacks it.
        const stan = originalOf(request)?.stan ?? '';
        if (!this.book.has(tid, stan)) this.book.put(tid, stan, BigInt(String(request.fields[DE.AMOUNT] ?? '0')));
        return buildResponse(request, { [DE.RESPONSE_CODE]: '00' });
      }
      case '0500': {
        const theirs = readSettlementTotals(request);
        // Settled in balance: the host closes the terminal's batch too; the next one starts empty.
        const inBalance = this.book.settle(tid, theirs.debitCount, BigInt(theirs.debitAmount));
        return buildResponse(request, { [DE.RESPONSE_CODE]: inBalance ? '00' : '95' });
      }
      default:
        return buildResponse(request, { [DE.RESPONSE_CODE]: '12' }); // invalid transaction
    }
  }

  private purchase(request: IsoMessage, rule: SimRule | undefined, exchange: SimExchange): IsoMessage {
    const reading = readPurchase(request);
    const pan =
      reading.track?.pan ??
      (typeof request.fields[DE.PAN] === 'string' ? (request.fields[DE.PAN] as string) : undefined);
    if (reading.refusal) return this.refuse(request, exchange, reading.refusal, pan);
    if (pan === undefined)
      return this.refuse(request, exchange, { code: '30', reason: 'no PAN (DE2) and no track 2 (DE35)' });
    const app = this.cardsByPan.get(pan);
    if (app === undefined && this.stripeOnlyPans.has(pan))
      return this.stripePurchase(request, rule, reading, exchange, pan);
    if (app === undefined)
      return this.refuse(request, exchange, { code: '14', reason: 'no card with this PAN on file' }, pan);

    let refusal: Refusal | undefined;
    // DE55 is verified whenever it came (a chip read always brings it): the ARPC goes only to a card whose ARQC verified.
    const arqcValid = reading.icc === undefined ? undefined : arqcVerifies(app, reading.icc);
    if (arqcValid !== undefined) exchange.arqc = arqcValid ? 'verified' : 'failed';
    if (arqcValid === false) refusal = { code: '05', reason: 'the ARQC (9F26) does not verify' };
    refusal ??= this.pinRefusal(request, reading, pan, app);

    const fields: IsoFields = {};
    const code = refusal?.code ?? this.issuerDecision(request, rule, fields);
    fields[DE.RESPONSE_CODE] = code;
    if (refusal) this.noteRefusal(request, exchange, refusal, pan);
    this.bookIfApproved(request, code, fields, exchange);
    const cryptogram = reading.icc !== undefined && arqcValid ? cryptogramOf(reading.icc) : undefined;
    if (cryptogram !== undefined) {
      const out: Tlv[] = [{ tag: 0x91, value: issuerAuthenticationData(app, cryptogram, code) }];
      for (const script of rule?.issuerScripts ?? []) {
        const commands = script.commands.map((command) => ({
          ins: command.ins,
          p1: command.p1,
          p2: command.p2,
          data: Buffer.from(command.data ?? '', 'hex'),
        }));
        out.push(issuerScriptTemplate(app, cryptogram, script.template, script.id ?? '00000001', commands));
      }
      fields[DE.ICC_DATA] = encodeTlv(out);
    }
    return buildResponse(request, fields);
  }

  private stripePurchase(
    request: IsoMessage,
    rule: SimRule | undefined,
    reading: PurchaseReading,
    exchange: SimExchange,
    pan: string,
  ): IsoMessage {
    let refusal: Refusal | undefined;
    if (reading.chip) refusal = { code: '05', reason: 'chip entry for a card with no chip application on file' };
    else if (request.fields[DE.PIN_BLOCK] !== undefined)
      refusal = { code: '55', reason: 'a PIN block (DE52) for a card with no PIN on file' };
    else {
      const pinWhy = onlinePinRequirement(reading);
      if (pinWhy !== undefined) refusal = { code: '55', reason: `no PIN block (DE52), but ${pinWhy}` };
    }
    if (refusal) return this.refuse(request, exchange, refusal, pan);
    const fields: IsoFields = {};
    const code = this.issuerDecision(request, rule, fields);
    fields[DE.RESPONSE_CODE] = code;
    this.bookIfApproved(request, code, fields, exchange);
    return buildResponse(request, fields);
  }

  /** 55 when the PIN block is wrong, or absent although the card's CVM or the stripe's service code asks for one. */
  private pinRefusal(
    request: IsoMessage,
    reading: PurchaseReading,
    pan: string,
    app: IssuerAccount,
  ): Refusal | undefined {
    const pinBlock = request.fields[DE.PIN_BLOCK];
    if (Buffer.isBuffer(pinBlock))
      return this.pinMatches(request, pinBlock, pan, app)
        ? undefined
        : { code: '55', reason: 'the PIN (DE52) is wrong or cannot be decrypted' };
    const pinWhy = onlinePinRequirement(reading);
    return pinWhy === undefined ? undefined : { code: '55', reason: `no PIN block (DE52), but ${pinWhy}` };
  }

  /** For a card that passed every check: what the rules make of it (00 by default); sets DE4 for a partial approval. */
  private issuerDecision(request: IsoMessage, rule: SimRule | undefined, fields: IsoFields): string {
    if (rule?.action === 'decline') return rule.responseCode ?? '05';
    if (rule?.action === 'approve') return rule.responseCode ?? '00';
    if (rule?.action === 'partial') {
      const requested = BigInt(String(request.fields[DE.AMOUNT] ?? '0'));
      const approved = partialAmount(requested, rule);
      if (approved === undefined) return '51'; // nothing left to approve in part: insufficient funds
      fields[DE.AMOUNT] = amountField(approved);
      return '10';
    }
    return '00';
  }

  /** An approval gets its auth code and goes on the book at the amount approved (DE4 of the answer). */
  private bookIfApproved(request: IsoMessage, code: string, fields: IsoFields, exchange: SimExchange): void {
    if (!APPROVED_CODES.has(code)) return;
    fields[DE.AUTH_CODE] = newAuthCode();
    const approved = BigInt(String(fields[DE.AMOUNT] ?? request.fields[DE.AMOUNT] ?? '0'));
    if (fields[DE.AMOUNT] !== undefined) exchange.approvedAmount = Number(approved);
    this.book.put(String(request.fields[DE.TERMINAL_ID] ?? ''), String(request.fields[DE.STAN] ?? ''), approved);
  }

  /** Transactions on the host's book, all terminals (settled ones are gone): for tests of its bound. */
  get bookedCount(): number {
    return this.book.size;
  }

  private refuse(request: IsoMessage, exchange: SimExchange, refusal: Refusal, pan?: string): IsoMessage {
    this.noteRefusal(request, exchange, refusal, pan);
    return buildResponse(request, { [DE.RESPONSE_CODE]: refusal.code });
  }

  /** Every refusal is logged at info with its reason (the PAN masked) and kept on the exchange. */
  private noteRefusal(request: IsoMessage, exchange: SimExchange, refusal: Refusal, pan?: string): void {
    exchange.refusal = refusal.reason;
    this.options.log?.info(
      {
        mti: request.mti,
        stan: exchange.stan,
        terminalId: exchange.terminalId,
        code: refusal.code,
        reason: refusal.reason,
        ...(pan !== undefined ? { pan: maskPan(pan) } : {}),
      },
      `acquirer simulator: refused ${refusal.code}: ${refusal.reason}`,
    );
  }

  private pinMatches(request: IsoMessage, block: Buffer, pan: string, app: IssuerAccount): boolean {
    const ksn = request.fields[KSN_FIELD];
    if (this.options.pinBdk === undefined || typeof ksn !== 'string') return false;
    return pinBlockMatches(app, { bdk: this.options.pinBdk, dukpt: this.options.pinDukpt }, block, ksn, pan);
  }
}

/** DE90's original MTI and STAN. */
function originalOf(request: IsoMessage): { mti: string; stan: string } | undefined {
  const original = request.fields[DE.ORIGINAL_DATA];
  if (typeof original !== 'string' || original.length < 10) return undefined;
  return { mti: original.slice(0, 4), stan: original.slice(4, 10) };
}

function isVoid(request: IsoMessage): boolean {
  return request.mti === '0200' && String(request.fields[DE.PROCESSING_CODE] ?? '').startsWith('02');
}

function newAuthCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** A partial approval's amount: at least 1 minor unit below the request; undefined when nothing can be approved. */
export function partialAmount(
  requested: bigint,
  rule: Pick<SimRule, 'approvedAmount' | 'approvedPercent'>,
): bigint | undefined {
  let approved =
    rule.approvedAmount !== undefined
      ? BigInt(rule.approvedAmount)
      : (requested * BigInt(rule.approvedPercent ?? PARTIAL_FAULT_PERCENT)) / 100n;
  if (approved >= requested) approved = requested - 1n;
  return approved >= 1n ? approved : undefined;
}

/** A rule as given, or a usage error naming what is wrong with it. */
function checkRule(rule: SimRule): SimRule {
  const bad = (option: string, message: string) =>
    new PosError('CODPOS_USAGE_BAD_OPTION', `simulator rule: ${message}`, { details: { option } });
  if (!SIM_ACTIONS.includes(rule.action))
    throw bad('action', `action must be ${SIM_ACTIONS.join(', ')}, not ${String(rule.action)}`);
  if (rule.action === 'approve' && rule.responseCode !== undefined && !APPROVAL_CODES.includes(rule.responseCode)) {
    throw bad(
      'responseCode',
      `approve answers ${APPROVAL_CODES.join(', ')}, not ${rule.responseCode} (partial answers 10; decline the rest)`,
    );
  }
  if (rule.approvedAmount !== undefined && !(Number.isSafeInteger(rule.approvedAmount) && rule.approvedAmount >= 1)) {
    throw bad(
      'approvedAmount',
      `approvedAmount ${String(rule.approvedAmount)}: expected a whole number of minor units, at least 1`,
    );
  }
  if (
    rule.approvedPercent !== undefined &&
    !(Number.isInteger(rule.approvedPercent) && rule.approvedPercent >= 1 && rule.approvedPercent <= 99)
  ) {
    throw bad(
      'approvedPercent',
      `approvedPercent ${String(rule.approvedPercent)}: expected a whole number from 1 to 99`,
    );
  }
  if ((rule.approvedAmount !== undefined || rule.approvedPercent !== undefined) && rule.action !== 'partial') {
    throw bad('action', 'approvedAmount and approvedPercent belong to a partial rule');
  }
  if (rule.approvedAmount !== undefined && rule.approvedPercent !== undefined)
    throw bad('approvedPercent', 'give approvedAmount or approvedPercent, not both');
  return rule;
}

/** A contactless application's issuer data (its applet's profile carries it); undefined when it has none. */
function issuerAccountOf(app: ContactlessCardProfile['applications'][number]): IssuerAccount | undefined {
  const account = app as Partial<IssuerAccount>;
  if (typeof account.pan !== 'string' || account.cvn === undefined || account.issuerMasterKeys === undefined)
    return undefined;
  return {
    pan: account.pan,
    panSequenceNumber: account.panSequenceNumber ?? '00',
    cvn: account.cvn,
    issuerMasterKeys: account.issuerMasterKeys,
    ...(account.onlinePin !== undefined ? { onlinePin: account.onlinePin } : {}),
  };
}
