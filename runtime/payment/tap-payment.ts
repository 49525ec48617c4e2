/**
 * One cash-on-delivery payment by a tap (a contactless card or a phone), end to end: the
 * reader's field is polled for a card, Entry Point (emv/contactless/) runs it through its
 * kernel, and the outcome it gives (EMV Contactless Book A 6.2) becomes a payment result the
 * way a chip payment's does (card-payment.ts), with the same money rules:
 *
 *   - approved (the card's offline approval, TC): a row begun `offline: true`, refused by the
 *     spool past the offline caps (take cash), else `offline_approved` with its 0220 advice
 *     queued in the same commit;
 *   - online request: online PIN first when the outcome's CVM says so; the row is begun in
 *     the commit that holds the request's reversal, before it leaves, as a 0200 with DE22 07x
 *     and the kernel's data in DE55; the issuer's answer decides. No answer: the host client
 *     has reversed it (row `reversal_pending`). When the kernel wants the issuer's answer
 *     back (issuer update), the card is asked for again and a decline by it reverses the
 *     approval; a card not presented again leaves the issuer's approval standing;
 *   - declined: nothing journaled or sent;
 *   - try again, a card removed too early (the reader's error in the middle of the run), an
 *     end of application that restarts: the card is asked for again, at most `maxTryAgain`
 *     times;
 *   - try another interface: `use-chip`, so the payment service asks for the card's chip;
 *   - two cards in the field: "present one card", and the field is polled again.
 *
 * The field, Entry Point and the PIN pad are small structural interfaces declared here, so the
 * reader driver and Entry Point plug in as they are and tests can give their own.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { isPosError } from '../../config/errors.js';
import { encodeTlv, findTag, type Tlv } from '../../emv/tlv/index.js';
import type { CardIdentity, HostAnswer, OnlineRequest, TransactionInput } from '../../emv/kernel/index.js';
import type {
  ContactlessCallbacks,
  ContactlessOutcome,
  ContactlessTarget,
  UiRequest,
} from '../../emv/contactless/types.js';
import type { PinEntryResult } from '../../drivers/pinpad/driver.js';
import type { Journal } from '../../spool/index.js';
import type { HostClient, PurchaseResult } from '../host/client.js';
import { checkAmount, type CardPaymentRequest, type CardPaymentResult } from './card-payment.js';
import { kernelGoOnline } from './kernel-online.js';
import type { Logger } from '../log.js';

/** The reader's contactless side, as the flow uses it (the card reader driver's contactless interface). */
export interface ContactlessField {
  fieldOn(): Promise<void>;
  /** A card in the field, two or more (`collision`), or none before `timeoutMs`. */
  poll(timeoutMs: number): Promise<ContactlessTarget | 'collision' | 'timeout'>;
  fieldOff(): Promise<void>;
  /** The reader's lights (Book A UI request status) and sound; a reader may ignore it. */
  indicate(status: UiRequest['status'], beep?: 'none' | 'success' | 'alert'): Promise<void>;
}

/** Entry Point (EMV Contactless Book B), as the flow uses it. */
export interface TapEntryPoint {
  run(
    target: ContactlessTarget,
    transaction: TransactionInput,
    callbacks: ContactlessCallbacks,
  ): Promise<ContactlessOutcome>;
  /** Restart at B after a try-again outcome, with the card found again (absent: the flow runs the transaction anew). */
  retry?(target: ContactlessTarget): Promise<ContactlessOutcome>;
  /** Restart after an online request whose answer the kernel must see with the card (Book B 3.5, start B). */
  resume?(onlineResponse: HostAnswer, target: ContactlessTarget): Promise<ContactlessOutcome>;
}

export interface TapPaymentDeps {
  field: ContactlessField;
  entryPoint: TapEntryPoint;
  pinpad: { requestPin(options: { pan: string }): Promise<PinEntryResult>; cancel?(): Promise<void> };
  client: HostClient;
  journal: Journal;
  /** ISO 4217 numeric, 3 digits (`terminal.currency`). */
  currency: string;
  /** How long the payment waits for a card in the field (`emv.cardWaitMs`). */
  waitMs: number;
  /** One poll's wait (`emv.contactless.pollTimeoutMs`). */
  pollTimeoutMs: number;
  /** How many times the card is asked for again (`emv.contactless.maxTryAgain`). */
  maxTryAgain: number;
  /** The terminal clock: the transaction's date, and the end of the wait. */
  clock?: () => Date;
  /** Tag 9F37 (default: 4 random bytes). */
  unpredictableNumber?: () => Buffer;
  /** Waits while the field is off at an outcome's field-off request (default: a timer). */
  pause?: (ms: number) => Promise<void>;
  log?: Logger;
}

/** DE22 07x: contactless chip; 1: the terminal can take a PIN (it has a PIN pad). */
export const CONTACTLESS_POS_ENTRY_MODE = '071';

/**
 * Card data the kernel's data record may hold that DE55 must not carry: the PAN (DE2), the
 * track equivalents (DE35, never stored), the cardholder name.
 */
const NOT_IN_DE55 = new Set([0x5a, 0x57, 0x56, 0x9f6b, 0x5f20, 0x5f24, 0x5f34]);

/** Messages the reader sounds its alert for: the customer must do something again. */
const ALERTS = new Set<UiRequest['message']>(['declined', 'error', 'present-one-card', 'try-again']);

const PRESENT_ONE_CARD: UiRequest = { message: 'present-one-card', status: 'ready-to-read' };
const PRESENT_CARD: UiRequest = { message: 'present-card', status: 'ready-to-read' };

type Tap = { target: ContactlessTarget } | { ended: CardPaymentResult };

/** Runs one tap payment; resolves with its outcome (a decline is a result, not an error). */
export async function payByTap(deps: TapPaymentDeps, request: CardPaymentRequest): Promise<CardPaymentResult> {
  checkAmount(request.amount, 'payByTap');
  const result = await new TapPayment(deps, request).run();
  return { ...result, entry: 'contactless' };
}

const none = { approvedOffline: false, signatureRequired: false } as const;

class TapPayment {
  private readonly clock: () => Date;
  private readonly deadline: number;
  private pin: { block: string; ksn: string } | undefined;
  private card: CardIdentity | undefined;

  constructor(
    private readonly deps: TapPaymentDeps,
    private readonly request: CardPaymentRequest,
  ) {
    this.clock = deps.clock ?? (() => new Date());
    this.deadline = this.clock().getTime() + deps.waitMs;
  }

  async run(): Promise<CardPaymentResult> {
    if (this.request.signal?.aborted) return this.cancelled('the payment was cancelled before a card was presented');
    await this.deps.field.fieldOn();
    try {
      return await this.attempts();
    } finally {
      await this.deps.field.fieldOff().catch(() => undefined);
    }
  }

  private async attempts(): Promise<CardPaymentResult> {
    const transaction = this.transaction();
    let lastReason = '';
    let restartAtB = false;
    for (let attempt = 0; attempt <= this.deps.maxTryAgain; attempt++) {
      if (attempt > 0) await this.indicate(PRESENT_CARD);
      const tap = await this.nextCard();
      if ('ended' in tap) return tap.ended;
      let outcome: ContactlessOutcome;
      try {
        const retry = restartAtB ? this.deps.entryPoint.retry?.bind(this.deps.entryPoint) : undefined;
        restartAtB = false;
        outcome = retry
          ? await retry(tap.target)
          : await this.deps.entryPoint.run(tap.target, transaction, this.callbacks());
      } catch (error) {
        if (error instanceof PinNotEntered) return this.pinNotEntered(error);
        // The reader lost the card mid-way (removed too early, a transmission error, a card gone mute): present it again.
        if (isPosError(error) && (error.area === 'DEVICE' || error.code === 'CODPOS_EMV_CHIP_MUTE')) {
          lastReason = `the card was lost mid-way (${error.message})`;
          this.deps.log?.info({ err: error, attempt }, 'tap payment: card lost mid-way, presented again');
          continue;
        }
        this.deps.log?.warn({ err: error }, 'tap payment failed');
        return { ...none, outcome: 'failed', reason: `the payment failed: ${(error as Error).message}` };
      }
      if (outcome.uiRequestOnOutcome) await this.indicate(outcome.uiRequestOnOutcome);
      if (outcome.status === 'try-again' || (outcome.status === 'end-application' && outcome.start !== 'n/a')) {
        lastReason = outcome.reason;
        restartAtB = outcome.status === 'try-again';
        if (outcome.fieldOffRequestMs !== undefined) {
          // Book A: the field stays off this long before the card is polled again (a card that needs a reset gets one).
          await this.deps.field.fieldOff();
          await (this.deps.pause ?? delay)(outcome.fieldOffRequestMs);
          await this.deps.field.fieldOn();
        }
        continue;
      }
      return this.settle(outcome);
    }
    return {
      ...none,
      outcome: 'failed',
      reason: `the card could not be read after ${this.deps.maxTryAgain + 1} taps (${lastReason}): insert it or take cash`,
    };
  }

  /** What the outcome means for the money. */
  private async settle(outcome: ContactlessOutcome): Promise<CardPaymentResult> {
    const base = this.resultBase(outcome);
    switch (outcome.status) {
      case 'approved':
        return this.offlineApproval(outcome, base);
      case 'online-request':
        return this.online(outcome, base);
      case 'declined':
        return { ...base, ...none, outcome: 'declined', reason: outcome.reason };
      case 'try-another-interface':
        return {
          ...none,
          outcome: 'use-chip',
          reason: `${outcome.reason}: insert the card${outcome.alternateInterface === 'magstripe' ? ' or swipe it' : ''}`,
        };
      default:
        this.deps.log?.warn({ status: outcome.status, reason: outcome.reason }, 'tap payment ended');
        return { ...none, outcome: 'failed', reason: `the tap ended (${outcome.status}): ${outcome.reason}` };
    }
  }

  private async offlineApproval(
    outcome: ContactlessOutcome,
    base: Partial<CardPaymentResult>,
  ): Promise<CardPaymentResult> {
    const card = this.card ?? cardOfDataRecord(outcome.dataRecord);
    if (card === undefined)
      return { ...base, ...none, outcome: 'failed', reason: 'the card approved offline without giving its PAN' };
    let row;
    try {
      row = this.deps.journal.begin({
        amount: this.request.amount,
        currency: this.deps.currency,
        pan: card.pan,
        offline: true,
        ...(this.request.waybill !== undefined ? { waybill: this.request.waybill } : {}),
      });
    } catch (error) {
      if (isPosError(error) && error.area === 'SPOOL') {
        // Past the offline caps: the card's approval is never advised, so no money moves.
        return {
          ...base,
          ...none,
          outcome: 'declined',
          reason: `approved offline by the card, refused by the terminal: ${error.message}; take cash`,
        };
      }
      throw error;
    }
    const code = 'Y1';
    await this.deps.client.recordOfflineApproval(row.id, {
      amount: this.request.amount,
      card: {
        pan: card.pan,
        ...(card.expiry ? { expiry: card.expiry.slice(0, 4) } : {}),
        ...(card.panSequenceNumber ? { panSequenceNumber: card.panSequenceNumber.padStart(3, '0') } : {}),
      },
      posEntryMode: CONTACTLESS_POS_ENTRY_MODE,
      approvedAt: this.clock(),
      authCode: code,
      iccData: iccDataOf(outcome.dataRecord),
    });
    return {
      ...base,
      ...none,
      signatureRequired: outcome.cvm === 'signature',
      outcome: 'approved',
      reason: outcome.reason,
      journalId: row.id,
      approvedOffline: true,
      responseCode: code,
      authCode: code,
    };
  }

  private async online(outcome: ContactlessOutcome, base: Partial<CardPaymentResult>): Promise<CardPaymentResult> {
    const online = outcome.online;
    if (online === undefined)
      return { ...base, ...none, outcome: 'failed', reason: 'the kernel asked to go online without the request data' };
    if (outcome.cvm === 'online-pin' && this.pin === undefined) {
      try {
        await this.takePin(online.pan);
      } catch (error) {
        if (error instanceof PinNotEntered) return this.pinNotEntered(error);
        throw error;
      }
    }
    if (this.request.signal?.aborted) return this.cancelled('the payment was cancelled before the request left');
    const needsCard = outcome.onlineResponseData !== 'none' && this.deps.entryPoint.resume !== undefined;
    let row: { id: string; stan: number } | undefined;
    let approval: PurchaseResult | undefined;
    let answer: HostAnswer;
    try {
      const request: OnlineRequest = {
        ...online,
        de55: online.de55.length > 0 ? online.de55 : iccTlvsOf(outcome.dataRecord),
        ...(this.pin ? { pinBlock: Buffer.from(this.pin.block, 'hex') } : {}),
      };
      answer = await kernelGoOnline(this.deps.client, {
        amount: this.request.amount,
        posEntryMode: CONTACTLESS_POS_ENTRY_MODE,
        ksn: () => this.pin?.ksn,
        begin: {
          amount: this.request.amount,
          currency: this.deps.currency,
          pan: online.pan,
          ...(this.request.waybill !== undefined ? { waybill: this.request.waybill } : {}),
        },
        onJournaled: (journaled) => (row = journaled),
        beginRow: (entry) => this.deps.journal.begin(entry),
        // The kernel sees the answer with the card again: the approval waits for it, as a chip's does.
        awaitCompletion: needsCard,
        onResult: (result) => (approval = result),
      })(request);
    } catch (error) {
      if (!(isPosError(error) && error.area === 'HOST')) throw error;
      const sent = error.details?.reversalId !== undefined;
      this.deps.log?.warn(
        { err: error, journalId: row?.id },
        sent ? 'tap payment: no answer' : 'tap payment: not sent',
      );
      const reason = sent
        ? `no answer from the acquirer (${error.message}); the authorization is being reversed: take cash or try again`
        : `not sent (${error.message}): take cash or try again`;
      return { ...base, ...none, outcome: 'failed', reason, ...(row ? { journalId: row.id } : {}) };
    }
    const journal = row ? { journalId: row.id } : {};
    const issuer = {
      ...(approval?.responseCode !== undefined ? { responseCode: approval.responseCode } : {}),
      ...(approval?.authCode !== undefined ? { authCode: approval.authCode } : {}),
    };
    if (answer.result !== 'approved' || approval === undefined) {
      if (needsCard) await this.showIssuerAnswer(answer);
      return {
        ...base,
        ...none,
        ...issuer,
        ...journal,
        outcome: 'declined',
        reason: `declined by the issuer (${answer.responseCode ?? '-'})`,
      };
    }
    if (needsCard) {
      const final = await this.showIssuerAnswer(answer);
      if (final?.status === 'declined') {
        // The issuer said yes, the card said no to its answer: undo the approval.
        await this.deps.client.reverse(approval, {
          journal: { id: approval.journalId! },
          reason: `card declined after the issuer approved (${final.reason})`,
          why: 'card-declined',
        });
        return {
          ...base,
          ...none,
          ...issuer,
          ...journal,
          outcome: 'declined',
          reason: `${final.reason}: the issuer's approval is reversed`,
        };
      }
      this.deps.client.complete(approval, final ? { finalIccData: iccDataOf(final.dataRecord) } : {});
    }
    const approvedAmount = approval.approvedAmount ?? this.request.amount;
    return {
      ...base,
      ...none,
      ...issuer,
      ...journal,
      signatureRequired: outcome.cvm === 'signature',
      outcome: 'approved',
      reason:
        approvedAmount < this.request.amount
          ? `approved online: partially approved, ${approvedAmount} of ${this.request.amount}`
          : 'approved online',
      approvedAmount,
      ...(approval.responseCode === '08' ? { identificationRequired: true } : {}),
    };
  }

  /**
   * The issuer's answer given back to the kernel with the card presented again (issuer update).
   * Undefined when the card is not presented again before the wait ends: the issuer's answer stands.
   */
  private async showIssuerAnswer(answer: HostAnswer): Promise<ContactlessOutcome | undefined> {
    await this.indicate(PRESENT_CARD);
    const tap = await this.nextCard();
    if ('ended' in tap) {
      this.deps.log?.info('tap payment: the card was not presented again for the issuer update; the answer stands');
      return undefined;
    }
    try {
      return await this.deps.entryPoint.resume!(answer, tap.target);
    } catch (error) {
      this.deps.log?.warn({ err: error }, 'tap payment: the issuer update failed; the answer stands');
      return undefined;
    }
  }

  /** Polls the field until one card is in it, the wait ends or the payment is cancelled. */
  private async nextCard(): Promise<Tap> {
    for (;;) {
      if (this.request.signal?.aborted) return { ended: this.cancelled('the payment was cancelled') };
      const left = this.deadline - this.clock().getTime();
      if (left <= 0)
        return {
          ended: this.cancelled(`no card was presented within ${Math.round(this.deps.waitMs / 1000)} s`),
        };
      const polled = await this.deps.field.poll(Math.min(this.deps.pollTimeoutMs, left));
      if (polled === 'timeout') continue;
      if (polled === 'collision') {
        await this.indicate(PRESENT_ONE_CARD);
        continue;
      }
      return { target: polled };
    }
  }

  private callbacks(): ContactlessCallbacks {
    return {
      cardRead: (identity) => (this.card = identity),
      requestOnlinePin: async (pan) => {
        await this.takePin(pan);
        return Buffer.from(this.pin!.block, 'hex');
      },
    };
  }

  /** Asks the PIN pad for the online PIN; PinNotEntered when the customer gave none or the PIN pad failed. */
  private async takePin(pan: string): Promise<void> {
    let entry: PinEntryResult;
    try {
      entry = await this.deps.pinpad.requestPin({ pan });
    } catch (error) {
      // A PIN pad that does not work cannot give the PIN the tap needs (and is not the card leaving the field).
      if (isPosError(error) && error.area === 'DEVICE') {
        this.deps.log?.warn({ err: error }, 'tap payment: PIN pad not working');
        throw new PinNotEntered(`the PIN pad is not working (${error.message}): insert the card or take cash`, true);
      }
      throw error;
    }
    if (entry.outcome !== 'pin') throw new PinNotEntered(`PIN entry ${entry.outcome}: ${entry.reason}`, false);
    this.pin = { block: entry.pinBlock, ksn: entry.ksn };
  }

  /** No PIN: the customer's choice is a cancellation, a PIN pad that failed a failure; nothing was sent either way. */
  private pinNotEntered(error: PinNotEntered): CardPaymentResult {
    return error.pinPadFailed ? { ...none, outcome: 'failed', reason: error.message } : this.cancelled(error.message);
  }

  private transaction(): TransactionInput {
    return {
      amount: this.request.amount,
      currencyCode: this.deps.currency.padStart(4, '0'),
      transactionType: '00',
      date: this.clock(),
      sequenceCounter: this.deps.journal.counters.next('sequence'),
      unpredictableNumber: (this.deps.unpredictableNumber ?? (() => randomBytes(4)))(),
    };
  }

  private resultBase(outcome: ContactlessOutcome): Partial<CardPaymentResult> {
    const card = this.card ?? outcome.online ?? cardOfDataRecord(outcome.dataRecord);
    const aid = findTag(outcome.dataRecord, 0x4f)?.value ?? findTag(outcome.dataRecord, 0x84)?.value;
    const label = findTag(outcome.dataRecord, 0x50)?.value.toString('latin1');
    const tvr = outcome.tvr ?? findTag(outcome.dataRecord, 0x95)?.value;
    return {
      // fDDA is the contactless form of DDA (Book C-3): the receipt and log name it DDA.
      odaMethod: outcome.oda === 'CDA' ? 'CDA' : outcome.oda === 'fDDA' ? 'DDA' : 'none',
      ...(outcome.cvmResults ? { cvmResult: hex(outcome.cvmResults) } : {}),
      ...(outcome.cvm === 'confirmation-code-verified' ? { verifiedOnDevice: true } : {}),
      ...(card
        ? {
            receipt: {
              panLast4: card.pan.slice(-4),
              ...(aid ? { aid: hex(aid) } : {}),
              ...(label ? { label } : {}),
              ...(tvr ? { tvr: hex(tvr) } : {}),
            },
          }
        : {}),
    };
  }

  private async indicate(request: UiRequest): Promise<void> {
    const beep = request.message === 'approved' ? 'success' : ALERTS.has(request.message) ? 'alert' : 'none';
    // The reader's lights and sound are a courtesy: one that fails does not stop the payment.
    await this.deps.field.indicate(request.status, beep).catch((error: unknown) => {
      this.deps.log?.debug({ err: error }, 'tap payment: the reader did not take an indication');
    });
  }

  private cancelled(reason: string): CardPaymentResult {
    return { ...none, outcome: 'cancelled', reason };
  }
}

/** No online PIN: the customer did not enter one, or the PIN pad failed (it also ends Entry Point's run from the PIN callback). */
class PinNotEntered extends Error {
  constructor(
    message: string,
    readonly pinPadFailed: boolean,
  ) {
    super(message);
  }
}

/** The kernel's data record without the card data DE55 must not carry. */
function iccTlvsOf(dataRecord: Tlv[]): Tlv[] {
  return dataRecord.filter((tlv) => !NOT_IN_DE55.has(tlv.tag));
}

function iccDataOf(dataRecord: Tlv[]): Buffer {
  return encodeTlv(iccTlvsOf(dataRecord));
}

/** PAN (5A), expiry (5F24, YYMM) and sequence number (5F34) from the data record, when the kernel gives no identity. */
function cardOfDataRecord(dataRecord: Tlv[]): CardIdentity | undefined {
  const pan = findTag(dataRecord, 0x5a)?.value.toString('hex').toUpperCase().replace(/F+$/, '');
  if (pan === undefined || !/^\d{12,19}$/.test(pan)) return undefined;
  const expiry = findTag(dataRecord, 0x5f24)?.value.toString('hex').slice(0, 4);
  const sequence = findTag(dataRecord, 0x5f34)?.value.toString('hex');
  return { pan, ...(expiry ? { expiry } : {}), ...(sequence ? { panSequenceNumber: sequence } : {}) };
}

function hex(value: Buffer): string {
  return value.toString('hex').toUpperCase();
}
