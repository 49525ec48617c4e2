/**
 * Card payments in the daemon: one at a time, from "present the card" to the receipt.
 * `pay({ amount, waybill })` waits (up to `emv.cardWaitMs`) for the card: inserted, it is
 * paid by chip (payByChip); swiped, by stripe under the chip-first rules (payBySwipe). A
 * chip that fails or does not answer turns the next swipe of the card into a fallback; a
 * chip card swiped is asked to be inserted, within the same wait. The outcome is on the
 * journal before `pay` resolves; then the receipt is printed (the customer's copy, and the
 * merchant's with a signature line when the CVM wants a signature). A printer fault never
 * changes the payment: it is reported as `receiptPrinted: false`.
 *
 * Events (no card data; the last four digits at most): payment.started, payment.waiting-card,
 * pin.requested, payment.chip-failed, payment.use-chip, payment.<outcome>, receipt.failed.
 */
import { once } from 'node:events';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import type { BuiltDevices } from '../../drivers/factory.js';
import type { CardReaderDriver } from '../../drivers/card-reader/driver.js';
import type { TerminalConfig } from '../../emv/kernel/index.js';
import type { BatchTransaction } from '../../emv/iso8583/index.js';
import { STREAMS, type Spool } from '../../spool/index.js';
import type { HostClient } from '../host/client.js';
import type { EventBus } from '../api/events.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import { payByChip, type CardPaymentRequest, type CardPaymentResult } from './card-payment.js';
import { payBySwipe, type Swipe } from './swipe-payment.js';
import { buildPaymentReceipt } from './receipt.js';
import { kernelTerminal } from './terminal.js';

export interface PaymentServiceDeps {
  devices: () => BuiltDevices;
  host: () => HostClient;
  spool: () => Spool;
  events: EventBus;
  /** Called when a record for the back-end was queued (the uplink sends it now rather than at its next turn). */
  recordQueued?: () => void;
}

export interface PaymentOutcome extends CardPaymentResult {
  receiptPrinted: boolean;
}

export interface SettlementOutcome {
  batch: number;
  inBalance: boolean;
  /** What the terminal sent: purchases as debits, refunds as credits (minor units). */
  totals: { debitCount: number; debitAmount: number; creditCount: number; creditAmount: number };
  /** In balance: how many payments became settled, and the batch now open. */
  settled?: number;
  nextBatch?: number;
  /** Out of balance at first: how many payments were uploaded (0320) before settling again. */
  uploaded?: number;
  /** Out of balance: the acquirer's answer and its totals. */
  responseCode?: string;
  hostTotals?: unknown;
  reason?: string;
}

type Presented = { kind: 'chip' } | { kind: 'swipe'; swipe: Swipe } | { kind: 'mute' } | { kind: 'none' };

export class PaymentService implements Service {
  readonly name = 'payments';
  private terminal: TerminalConfig | undefined;
  private busy = false;
  /** Aborts the wait for a card (the daemon is stopping). */
  private waiting: AbortController | undefined;
  private state: Health = { state: 'stopped' };

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly deps: PaymentServiceDeps,
  ) {}

  async start(): Promise<void> {
    this.terminal = kernelTerminal(this.config);
    this.state = { state: 'up' };
  }

  async stop(): Promise<void> {
    this.cancelWaiting();
    this.state = { state: 'stopped' };
  }

  /**
   * A payment still waiting for its card ends as cancelled ("the terminal is stopping"), so
   * the daemon can stop within its budget. A payment whose card is already in goes on.
   */
  cancelWaiting(): void {
    this.waiting?.abort();
  }

  health(): Health {
    if (this.state.state !== 'up') return this.state;
    const devices = this.deps.devices();
    const missing = [!devices.cardReader && 'card reader', !devices.pinpad && 'PIN pad'].filter(Boolean);
    return missing.length > 0 ? { state: 'degraded', reason: `no ${missing.join(' and no ')}: card payments cannot be taken` } : this.state;
  }

  /** One card payment; a decline is a result. CODPOS_USAGE_BUSY while another is in progress. */
  async pay(request: CardPaymentRequest): Promise<PaymentOutcome> {
    if (!Number.isSafeInteger(request.amount) || request.amount <= 0) {
      throw new PosError('CODPOS_USAGE_AMOUNT', `amount must be a positive whole number of minor units, not ${String(request.amount)}`);
    }
    const { cardReader, pinpad } = this.deps.devices();
    if (!this.terminal || !cardReader || !pinpad) throw new PosError('CODPOS_DEVICE_PAYMENT_UNAVAILABLE', `card payments cannot be taken: ${this.health().reason ?? 'the payment service is not started'}`);
    const events = this.deps.events;
    return this.exclusive('a card payment is already in progress', async () => {
      events.publish('payment.started', { amount: request.amount, ...(request.waybill !== undefined ? { waybill: request.waybill } : {}) });
      const result = await this.collect(request, cardReader.driver, {
        requestPin: (options) => {
          events.publish('pin.requested');
          return pinpad.driver.requestPin(options);
        },
        cancel: () => pinpad.driver.cancel(),
      });
      events.publish(`payment.${result.outcome}`, {
        reason: result.reason,
        approvedOffline: result.approvedOffline,
        signatureRequired: result.signatureRequired,
        ...(result.journalId !== undefined ? { journalId: result.journalId } : {}),
        ...(result.responseCode !== undefined ? { responseCode: result.responseCode } : {}),
        ...(result.authCode !== undefined ? { authCode: result.authCode } : {}),
        ...(result.receipt ? { panLast4: result.receipt.panLast4 } : {}),
      });
      await this.queueForBackend(request, result);
      return { ...result, receiptPrinted: await this.printReceipts(request, result) };
    });
  }

  /** Runs `work` as the one card operation in progress (payment, void or settlement); CODPOS_USAGE_BUSY while another runs. */
  private async exclusive<T>(busyMessage: string, work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new PosError('CODPOS_USAGE_BUSY', busyMessage);
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  /**
   * End of day: the open batch's totals go to the acquirer in a 0500 (after every pending
   * reversal and advice). In balance: the batch's approved and advised payments become
   * settled and the next batch opens, in one commit. Out of balance (95): every payment of
   * the batch is uploaded (one 0320 each, from its clearing data), and the batch settled
   * again (960000); still out of balance, it stays open for the acquirer's helpdesk.
   */
  async settle(): Promise<SettlementOutcome> {
    return this.exclusive('a card payment is in progress: settle after it', async () => {
      const journal = this.deps.spool().journal;
      const batch = journal.counters.openBatch();
      const sums = journal.totals(batch);
      const totals = { debitCount: sums.purchase.count, debitAmount: sums.purchase.amount, creditCount: sums.refund.count, creditAmount: sums.refund.amount };
      const host = this.deps.host();
      let answer = await host.settle({ batchNumber: batch, totals });
      let uploaded: number | undefined;
      if (!answer.inBalance) {
        // Out of balance: upload every payment of the batch (0320), then settle again (960000).
        this.deps.events.publish('settlement.out-of-balance', { batch, responseCode: answer.responseCode, ...totals });
        const upload = this.batchForUpload(batch);
        if (upload.missing.length > 0) {
          const reason = `the acquirer's totals differ (${answer.responseCode}) and ${upload.missing.length} payment(s) of batch ${batch} have no clearing data to upload: the batch stays open`;
          return { batch, inBalance: false, totals, hostTotals: answer.totals, responseCode: answer.responseCode, reason };
        }
        uploaded = await host.uploadBatch(upload.transactions);
        answer = await host.settle({ batchNumber: batch, totals, afterUpload: true });
        if (!answer.inBalance) {
          const reason = `still out of balance (${answer.responseCode}) after uploading ${uploaded} payment(s): batch ${batch} stays open for the acquirer's helpdesk`;
          return { batch, inBalance: false, totals, hostTotals: answer.totals, responseCode: answer.responseCode, uploaded, reason };
        }
      }
      const closed = journal.closeBatch();
      this.deps.events.publish('settlement.closed', { batch, settled: closed.settled, nextBatch: closed.next, ...totals, ...(uploaded !== undefined ? { uploaded } : {}) });
      return { batch, inBalance: true, totals, settled: closed.settled, nextBatch: closed.next, ...(uploaded !== undefined ? { uploaded } : {}) };
    });
  }

  /** The batch's standing payments as 0320 batch uploads, from their clearing data and sealed PANs. */
  private batchForUpload(batch: number): { transactions: BatchTransaction[]; missing: string[] } {
    const journal = this.deps.spool().journal;
    const transactions: BatchTransaction[] = [];
    const missing: string[] = [];
    for (const txn of journal.list({ batch, limit: 100_000 })) {
      if (!['approved', 'advised', 'offline_approved'].includes(txn.state) || txn.kind !== 'purchase') continue;
      const clearing = journal.clearingOf(txn.id);
      const pan = journal.openPan(txn.id);
      const c = clearing?.clear;
      if (!c || !pan || !c.stan || !c.transmission || !c.localTime || !c.localDate || !c.posEntryMode || !c.processingCode) {
        missing.push(txn.id);
        continue;
      }
      transactions.push({
        mti: c.mti ?? '0200',
        processingCode: c.processingCode,
        amount: txn.amount,
        pan,
        ...(clearing.sealed.expiry ? { expiry: clearing.sealed.expiry } : {}),
        ...(c.panSequenceNumber ? { panSequenceNumber: c.panSequenceNumber } : {}),
        stan: c.stan,
        transmission: c.transmission,
        localTime: c.localTime,
        localDate: c.localDate,
        posEntryMode: c.posEntryMode,
        ...(c.posConditionCode ? { posConditionCode: c.posConditionCode } : {}),
        rrn: c.rrn ?? txn.rrn,
        authCode: c.authCode ?? txn.authCode ?? '',
        responseCode: c.responseCode ?? txn.responseCode ?? '00',
        ...(clearing.sealed.iccData ? { iccData: Buffer.from(clearing.sealed.iccData, 'hex') } : {}),
      });
    }
    return { transactions, missing };
  }

  /** Voids an approved payment of the open batch (the card not present): host-link client.ts voidPayment. */
  async voidPayment(journalId: unknown): Promise<{ journalId: string; originalId: string; outcome: 'approved' | 'declined'; responseCode: string }> {
    if (typeof journalId !== 'string' || journalId === '') throw new PosError('CODPOS_USAGE_VOID', 'journalId: expected the journal id of the payment to void');
    return this.exclusive('a card payment is in progress: void after it', async () => {
      const { journalId: voidId, result } = await this.deps.host().voidPayment(journalId);
      const outcome = result.outcome === 'approved' ? 'approved' : 'declined';
      this.deps.events.publish(outcome === 'approved' ? 'payment.voided' : 'payment.void-declined', { journalId: voidId, originalId: journalId, responseCode: result.responseCode });
      if (outcome === 'approved') await this.queueVoidForBackend(voidId, journalId);
      return { journalId: voidId, originalId: journalId, outcome, responseCode: result.responseCode };
    });
  }

  /** The void for the back-end's reconciliation: the original payment's record is superseded. */
  private async queueVoidForBackend(voidId: string, originalId: string): Promise<void> {
    const txn = this.deps.spool().journal.get(originalId);
    try {
      await this.deps.spool().outbox.enqueue(STREAMS.transaction, { journalId: voidId, voids: originalId, waybill: txn?.waybill ?? null, amount: txn?.amount ?? null, outcome: 'voided', terminalId: this.config.terminal.id, at: new Date().toISOString() }, { id: voidId });
      this.deps.recordQueued?.();
    } catch (error) {
      this.log.error({ err: error, journalId: voidId }, 'the void record for the back-end could not be queued');
    }
  }

  /** Waits for the card and pays by chip or stripe, following the chip-first rules. */
  private async collect(request: CardPaymentRequest, reader: CardReaderDriver, pinpad: { requestPin: CardReaderPin; cancel(): Promise<void> }): Promise<CardPaymentResult> {
    const deadline = Date.now() + this.config.emv.cardWaitMs;
    let chipFailure: CardPaymentResult['chipFailure'];
    // A card already in the slot is paid at once.
    const slot = await reader.status().catch(() => undefined);
    let presented: Presented = slot !== undefined && slot.slot !== 'empty' ? (slot.chip ? { kind: 'chip' } : { kind: 'mute' }) : { kind: 'none' };
    for (;;) {
      if (presented.kind === 'none') {
        this.deps.events.publish('payment.waiting-card', { chipFailed: chipFailure !== undefined });
        this.waiting = new AbortController();
        presented = await waitForCard(reader, deadline - Date.now(), this.waiting.signal);
        const stopping = this.waiting.signal.aborted;
        this.waiting = undefined;
        if (presented.kind === 'none') {
          const reason = stopping ? 'the terminal is stopping' : `no card was presented within ${Math.round(this.config.emv.cardWaitMs / 1000)} s`;
          return { outcome: 'cancelled', reason, approvedOffline: false, signatureRequired: false };
        }
      }
      const base = { client: this.deps.host(), journal: this.deps.spool().journal, currency: this.config.terminal.currency, pinpad, log: this.log };
      if (presented.kind === 'chip') {
        const result = await payByChip({ ...base, card: reader, terminal: this.terminal! }, request);
        // Only the chip's own failure (mute, no answer to reset, no common application) lets the
        // stripe of the same card be used (fallback); any other failure ends the payment.
        if (result.chipFailure === undefined) return result;
        chipFailure = result.chipFailure;
        presented = { kind: 'mute' };
      }
      if (presented.kind === 'mute') {
        chipFailure ??= { reason: 'the chip does not answer' };
        this.deps.events.publish('payment.chip-failed');
        presented = { kind: 'none' };
        continue;
      }
      if (presented.kind === 'swipe') {
        const result = await payBySwipe(base, request, presented.swipe, chipFailure ? { chipFailure } : {});
        if (result.outcome !== 'use-chip') return result;
        this.deps.events.publish('payment.use-chip');
        presented = { kind: 'none' };
      }
    }
  }

  /**
   * The payment for the back-end's COD reconciliation (stream `transaction`, id = the journal
   * row's, which the back-end dedupes on): what was paid for which waybill, how, and the
   * outcome; the card as its last four digits. A spool that refuses it leaves the payment as
   * it is (logged: the journal still has it for a later export).
   */
  private async queueForBackend(request: CardPaymentRequest, result: CardPaymentResult): Promise<void> {
    if (result.journalId === undefined) return;
    const spool = this.deps.spool();
    const txn = spool.journal.get(result.journalId);
    try {
      await spool.outbox.enqueue(
        STREAMS.transaction,
        {
          journalId: result.journalId,
          waybill: request.waybill ?? null,
          amount: request.amount,
          currency: this.config.terminal.currency,
          outcome: result.outcome,
          state: txn?.state ?? null,
          approvedOffline: result.approvedOffline,
          entry: result.entry ?? null,
          responseCode: result.responseCode ?? null,
          authCode: result.authCode ?? null,
          stan: txn?.stan ?? null,
          rrn: txn?.rrn ?? null,
          invoice: txn?.invoice ?? null,
          batch: txn?.batch ?? null,
          panLast4: result.receipt?.panLast4 ?? null,
          terminalId: this.config.terminal.id,
          at: new Date().toISOString(),
        },
        { id: result.journalId },
      );
      this.deps.recordQueued?.();
    } catch (error) {
      this.log.error({ err: error, journalId: result.journalId }, 'the payment record for the back-end could not be queued');
    }
  }

  private async printReceipts(request: CardPaymentRequest, result: CardPaymentResult): Promise<boolean> {
    const printer = this.deps.devices().printer;
    if (result.journalId === undefined || !printer) return false;
    const transaction = this.deps.spool().journal.get(result.journalId);
    const copies: Array<'customer' | 'merchant'> = result.outcome === 'approved' && result.signatureRequired ? ['merchant', 'customer'] : ['customer'];
    try {
      for (const copy of copies) {
        await printer.driver.print(
          buildPaymentReceipt({
            profile: printer.driver.profile,
            merchant: { name: this.config.terminal.merchantName, terminalId: this.config.terminal.id, merchantId: this.config.terminal.merchantId },
            at: new Date(),
            amount: request.amount,
            currency: this.config.terminal.currency,
            ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
            payment: result,
            ...(transaction ? { transaction } : {}),
            copy,
          }),
        );
      }
      return true;
    } catch (error) {
      this.log.warn({ err: error, journalId: result.journalId }, 'receipt not printed');
      this.deps.events.publish('receipt.failed', { journalId: result.journalId, reason: (error as Error).message });
      return false;
    }
  }
}

type CardReaderPin = (options: { pan: string }) => ReturnType<NonNullable<BuiltDevices['pinpad']>['driver']['requestPin']>;

/** The next card event of the reader, or `none` after `ms` or when `cancel` aborts. */
async function waitForCard(reader: CardReaderDriver, ms: number, cancel: AbortSignal): Promise<Presented> {
  if (ms <= 0 || cancel.aborted) return { kind: 'none' };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  cancel.addEventListener('abort', () => controller.abort(), { once: true });
  try {
    const event = await Promise.race([
      once(reader, 'card-inserted', { signal: controller.signal }).then(([info]) => ((info as { chip: boolean }).chip ? ({ kind: 'chip' } as const) : ({ kind: 'mute' } as const))),
      once(reader, 'swipe', { signal: controller.signal }).then(([swipe]) => ({ kind: 'swipe', swipe: swipe as Swipe }) as const),
      once(reader, 'chip-mute', { signal: controller.signal }).then(() => ({ kind: 'mute' }) as const),
    ]);
    return event;
  } catch (error) {
    if ((error as Error).name === 'AbortError') return { kind: 'none' };
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
