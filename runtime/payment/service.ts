/**
 * Card payments in the daemon: one at a time, from "present the card" to the receipt.
 * `pay({ amount, waybill })` checks the request first (an amount DE4 cannot carry or above
 * `payments.maxAmount`, a waybill that does not check, a task due in another currency: a USAGE
 * error, before the card is asked for), then waits (up to `emv.cardWaitMs`) for the card:
 * inserted, it is paid by chip (payByChip); swiped, by stripe under the chip-first rules
 * (payBySwipe); tapped (the reader's field is polled meanwhile when `emv.contactless.enabled`
 * and the reader has a field), by Entry Point and its kernels (payByTap). A chip that fails or
 * does not answer turns the next swipe of the card into a fallback; a chip card swiped, or a
 * tapped card that asks for its chip (`use-chip`), is asked to be inserted, within the same wait.
 * The field is off before the chip is powered: the reader runs one side at a time.
 *
 * A payment can be cancelled (`cancel()`, the caller's signal: its client went away, or the
 * daemon stopping) until the card has answered GENERATE AC or its journal row is begun: it then
 * ends `cancelled` with nothing charged. After that it runs to its end (an approval is voided,
 * not abandoned).
 *
 * The outcome is on the journal, logged as one line and published before `pay` resolves; the
 * receipt is kept in the spool (held) and printed after the one-payment guard is released, so a
 * printer that cannot print never holds the next payment: the answer says `receiptPrinted`, and a
 * held receipt is printed again with `reprint()` (receipt-queue.ts). With an idempotency key, the
 * same key again answers with the first payment's answer (payment-requests.ts).
 *
 * Events (no card data; the last four digits at most): payment.started, payment.waiting-card,
 * payment.tap-detected, pin.requested, payment.chip-failed, payment.use-chip, payment.<outcome>, payment.check-id,
 * receipt.printed, receipt.held.
 */
import { once } from 'node:events';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import type { BuiltDevices } from '../../drivers/factory.js';
import type { CardChannel, CardReaderDriver } from '../../drivers/card-reader/driver.js';
import type { PinpadDriver } from '../../drivers/pinpad/driver.js';
import type { TerminalConfig } from '../../emv/kernel/index.js';
import type { BatchTransaction } from '../../emv/iso8583/index.js';
import { STREAMS, type Journal, type Spool, type TxnState } from '../../spool/index.js';
import { toSpoolError } from '../../spool/database.js';
import type { HostClient } from '../host/client.js';
import type { EventBus } from '../api/events.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import { checkWaybill } from '../workflow/waybill.js';
import { checkTaskCurrency } from '../workflow/service.js';
import { payByChip, type CardPaymentDeps, type CardPaymentRequest, type CardPaymentResult } from './card-payment.js';
import { payBySwipe, type Swipe } from './swipe-payment.js';
import { payByTap, type ContactlessField, type TapEntryPoint } from './tap-payment.js';
import { contactlessEntryPoint, contactlessKernels } from './contactless-reader.js';
import type { ContactlessCombination, ContactlessTarget } from '../../emv/contactless/types.js';
import { buildPaymentReceipt } from './receipt.js';
import { ReceiptQueue, type ReprintOutcome, type StoredReceipt } from './receipt-queue.js';
import { PaymentRequests, checkIdempotencyKey, type StoredPaymentRequest } from './payment-requests.js';
import { outcomeOfState, paymentView, type PaymentView } from './payment-view.js';
import { checkPaymentQuery, type CheckedPaymentQuery, type PaymentQuery } from './payment-query.js';
import { kernelTerminal } from './terminal.js';
import { readClearing } from '../host/clearing.js';

export interface PaymentServiceDeps {
  devices: () => BuiltDevices;
  host: () => HostClient;
  spool: () => Spool;
  events: EventBus;
  /** Called when a record for the back-end was queued (the uplink sends it now rather than at its next turn). */
  recordQueued?: () => void;
  /** The chip and stripe payments; tests put a scripted one in to give an outcome the simulators cannot. */
  payByChip?: typeof payByChip;
  payBySwipe?: typeof payBySwipe;
  /** Entry Point for taps (default: both kernels over `emv.contactless`, built at start; none when it is disabled). */
  entryPoint?: TapEntryPoint;
  /**
   * The running parameters (runtime/params/service.ts): the terminal and contactless
   * combinations each payment reads at its start, the receipt header, and the hook that holds a
   * package back while a payment runs. Absent: the configured parameters, fixed at start.
   */
  params?: () => PaymentParams;
}

/** What a payment reads of the running parameter package. */
export interface PaymentParams {
  terminal(): TerminalConfig;
  contactless(): readonly ContactlessCombination[];
  receiptHeader(): string[] | undefined;
  /** Called as a payment starts; the function it returns, as it ends (a package waiting is applied then). */
  paymentStarted(): () => void;
}

/** What a card payment is asked for. */
export interface PaymentRequest {
  /** Minor units of the terminal currency. */
  amount: number;
  /** The waybill whose COD amount this pays. */
  waybill?: string;
}

export interface PaymentOptions {
  /** The client's Idempotency-Key: the same key again answers with this payment's answer, no second payment. */
  idempotencyKey?: string;
  /** Aborted when the one who asked went away (the API client's connection closed): the payment is cancelled if it still can be. */
  signal?: AbortSignal;
}

export interface PaymentAnswer extends CardPaymentResult {
  /** Approved: what is still due of the amount (cash or another card); 0 unless the issuer approved part of it. */
  remainingDue?: number;
}

export interface PaymentOutcome extends PaymentAnswer {
  receiptPrinted: boolean;
  /** The answer of an earlier request with the same Idempotency-Key: no second payment was made. */
  replayed?: boolean;
  /** The payment was running when the daemon stopped: its journal row's state now. */
  journalState?: TxnState;
}

/** GET /v1/payments' answer: what the query selected (payment-query.ts) and the payments, oldest first. */
export type PaymentList = CheckedPaymentQuery['echo'] & { payments: PaymentView[] };

export interface CancelOutcome {
  cancelled: true;
  reason: string;
}

/** DE4 is 12 digits. */
export const MAX_DE4_AMOUNT = 999_999_999_999;

/** Why a payment was cancelled, as its answer and event say. */
export const CANCEL_REASONS = {
  request: 'the payment was cancelled on request (POST /v1/payments/cancel)',
  clientGone: 'the client that asked for the payment went away (its connection closed) before the card answered',
  stopping: 'the terminal is stopping',
} as const;

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

type Presented =
  | { kind: 'chip' }
  | { kind: 'swipe'; swipe: Swipe }
  | { kind: 'tap'; target: ContactlessTarget }
  | { kind: 'mute' }
  | { kind: 'none' };

/**
 * One poll of the field while the payment waits for a card: short, since an insert or a swipe
 * that comes meanwhile waits for the poll to end (the reader answers one request at a time)
 * before the field goes off and the chip is powered.
 */
const WAITING_POLL_MS = 250;

/** The payment in progress. */
interface PaymentInProgress {
  controller: AbortController;
  key: string | undefined;
  journalId: string | undefined;
  /** The card answered GENERATE AC, or the payment's journal row was begun: it runs to its end. */
  committed: boolean;
  /** Resolves when the payment has its outcome, or `error` when it ended in one. */
  ended: Promise<CardPaymentResult | 'error'>;
  /** The kernel's terminal and Entry Point this payment runs under, read at its start. */
  terminal: TerminalConfig;
  entryPoint: TapEntryPoint | undefined;
}

export class PaymentService implements Service {
  readonly name = 'payments';
  private terminal: TerminalConfig | undefined;
  /** One per process (its Mastercard-style kernel keeps the torn transaction log); none when taps are disabled. */
  private entryPoint: TapEntryPoint | undefined;
  /** The kernels behind entryPoint, kept when it is rebuilt for new parameters. */
  private readonly kernels = contactlessKernels();
  /** What entryPoint was built with: a package that changes either rebuilds it. */
  private entryPointBuiltFor: { terminal: TerminalConfig; combinations: readonly ContactlessCombination[] } | undefined;
  private operatorWaybillPattern: RegExp | undefined;
  private busy = false;
  private current: PaymentInProgress | undefined;
  private requestStore: PaymentRequests | undefined;
  private receiptQueue: ReceiptQueue | undefined;
  private state: Health = { state: 'stopped' };

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly deps: PaymentServiceDeps,
  ) {}

  async start(): Promise<void> {
    this.terminal = kernelTerminal(this.config);
    this.entryPoint ??=
      this.deps.entryPoint ?? contactlessEntryPoint(this.config, this.terminal, {}, { kernels: this.kernels });
    const pattern = this.config.workflow.waybillPattern;
    this.operatorWaybillPattern = pattern === '' ? undefined : new RegExp(`^(?:${pattern})$`);
    const spool = this.deps.spool();
    this.requestStore = new PaymentRequests(spool.db);
    this.receiptQueue = new ReceiptQueue({
      db: spool.db,
      printer: () => this.deps.devices().printer?.driver,
      render: (receipt, journalId, copy, options) => this.renderReceipt(receipt, journalId, copy, options),
      events: this.deps.events,
      log: this.log,
    });
    this.receiptQueue.prunePrinted(Date.now() - spool.retentionMs);
    const held = this.receiptQueue.held().length;
    if (held > 0) this.log.info({ held }, 'receipts held for a reprint (codpos reprint)');
    this.state = { state: 'up' };
  }

  async stop(): Promise<void> {
    this.cancelWaiting();
    this.receiptQueue?.stop();
    this.state = { state: 'stopped' };
  }

  /**
   * The daemon is stopping: a payment that can still be cancelled ends as cancelled ("the
   * terminal is stopping") and is answered, so the daemon stops within its budget. A payment
   * whose card has answered goes on.
   */
  cancelWaiting(): void {
    this.current?.controller.abort(CANCEL_REASONS.stopping);
  }

  health(): Health {
    if (this.state.state !== 'up') return this.state;
    const devices = this.deps.devices();
    const missing = [!devices.cardReader && 'card reader', !devices.pinpad && 'PIN pad'].filter(Boolean);
    return missing.length > 0
      ? { state: 'degraded', reason: `no ${missing.join(' and no ')}: card payments cannot be taken` }
      : this.state;
  }

  /**
   * One card payment; a decline is a result. CODPOS_USAGE_BUSY while another is in progress;
   * a USAGE error for a request that cannot be paid (before the card is asked for).
   */
  async pay(request: PaymentRequest, options: PaymentOptions = {}): Promise<PaymentOutcome> {
    const checked = this.checkRequest(request);
    const key = options.idempotencyKey === undefined ? undefined : checkIdempotencyKey(options.idempotencyKey);
    if (key !== undefined) {
      const prior = this.requests().find(key);
      if (prior) return this.replay(prior, checked);
    }
    const { cardReader, pinpad } = this.deps.devices();
    if (!this.terminal || !cardReader || !pinpad)
      throw new PosError(
        'CODPOS_DEVICE_PAYMENT_UNAVAILABLE',
        `card payments cannot be taken: ${this.health().reason ?? 'the payment service is not started'}`,
      );
    const { answer, receiptKept } = await this.exclusive('a card payment is already in progress', () =>
      this.run(checked, key, options.signal, cardReader.driver, pinpad.driver),
    );
    // Outside the guard: the next payment may start while this receipt prints.
    const printed =
      receiptKept && answer.journalId !== undefined
        ? (await this.receipts().print(answer.journalId, this.config.payments.receiptWaitMs)).printed
        : false;
    return { ...answer, receiptPrinted: printed };
  }

  /**
   * Cancels the payment in progress: answered once it has ended cancelled. CODPOS_USAGE_NO_PAYMENT
   * when none is in progress; CODPOS_USAGE_NOT_CANCELLABLE once the card has answered (it runs to
   * its end; an approval is voided, not cancelled).
   */
  async cancel(reason: string = CANCEL_REASONS.request): Promise<CancelOutcome> {
    const current = this.current;
    if (!current)
      throw new PosError('CODPOS_USAGE_NO_PAYMENT', 'no card payment is in progress: there is nothing to cancel');
    if (current.committed) throw notCancellable(current.journalId, undefined);
    current.controller.abort(reason);
    const result = await current.ended;
    if (result !== 'error' && result.outcome === 'cancelled') return { cancelled: true, reason: result.reason };
    throw notCancellable(current.journalId ?? (result === 'error' ? undefined : result.journalId), result);
  }

  /** A journaled payment as the journal has it (CODPOS_USAGE_NO_SUCH_PAYMENT when it is not there). */
  payment(journalId: unknown): PaymentView {
    if (typeof journalId !== 'string' || journalId === '')
      throw new PosError('CODPOS_USAGE_NO_SUCH_PAYMENT', 'expected the journal id of a payment');
    const txn = this.deps.spool().journal.get(journalId);
    if (!txn)
      throw new PosError('CODPOS_USAGE_NO_SUCH_PAYMENT', `no payment ${journalId} in the journal`, {
        details: { journalId },
      });
    return paymentView(txn, this.receipts().kept(txn.id));
  }

  /**
   * The journal's card transactions a query selects (payment-query.ts: one local day, default
   * today, or a range of days; a state; a waybill), oldest first. A bare date string is `{ date }`.
   */
  payments(query: PaymentQuery | string = {}): PaymentList {
    const checked = checkPaymentQuery(
      typeof query === 'string' ? { date: query } : query,
      this.operatorWaybillPattern ? { operatorPattern: this.operatorWaybillPattern } : {},
    );
    const rows = this.deps.spool().journal.list({ ...checked.filter, limit: 100_000 });
    return { ...checked.echo, payments: rows.map((txn) => paymentView(txn, this.receipts().kept(txn.id))) };
  }

  /** Prints a payment's receipt again, or (no journal id) every held receipt. */
  async reprint(journalId: unknown): Promise<ReprintOutcome> {
    if (journalId !== undefined && (typeof journalId !== 'string' || journalId === ''))
      throw new PosError(
        'CODPOS_USAGE_REPRINT',
        'journalId: expected the journal id of a payment, or nothing to print every held receipt',
      );
    if (journalId !== undefined && !this.receipts().kept(journalId))
      throw new PosError('CODPOS_USAGE_NO_RECEIPT', `no receipt is kept for payment ${journalId}`, {
        details: { journalId },
      });
    return this.receipts().reprint(journalId, this.config.payments.receiptWaitMs);
  }

  /** The payment itself, inside the guard: from the card to the journaled, logged and published outcome. */
  private async run(
    request: PaymentRequest,
    key: string | undefined,
    callerSignal: AbortSignal | undefined,
    reader: CardReaderDriver,
    pinpad: PinpadDriver,
  ): Promise<{ answer: PaymentAnswer; receiptKept: boolean }> {
    let markEnded: (result: CardPaymentResult | 'error') => void = () => undefined;
    // Before the parameters are read: a package offered from here on waits for this payment's end.
    const paymentEnded = this.deps.params?.().paymentStarted();
    const terminal = this.deps.params?.().terminal() ?? this.terminal!;
    const current: PaymentInProgress = {
      controller: new AbortController(),
      key,
      journalId: undefined,
      committed: false,
      ended: new Promise((resolve) => (markEnded = resolve)),
      terminal,
      entryPoint: this.entryPointFor(terminal),
    };
    const callerGone = () => current.controller.abort(CANCEL_REASONS.clientGone);
    if (callerSignal?.aborted) callerGone();
    callerSignal?.addEventListener('abort', callerGone, { once: true });
    this.current = current;
    let result: CardPaymentResult | undefined;
    try {
      if (key !== undefined) this.requests().start(key, request);
      this.deps.events.publish('payment.started', {
        amount: request.amount,
        ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
      });
      result = await this.collect(request, current, reader, pinpad);
      const answer = answerOf(request, result);
      this.logOutcome(request, answer);
      this.publishOutcome(answer);
      await this.queueForBackend(request, answer);
      const receiptKept = this.keepReceipt(request, answer);
      if (key !== undefined) this.recordAnswer(key, answer);
      return { answer, receiptKept };
    } catch (error) {
      this.log.error(
        { err: error, journalId: current.journalId ?? null, amount: request.amount },
        'card payment ended in an error',
      );
      // Nothing journaled: the key may be used again. Journaled: asking again answers from the journal.
      if (key !== undefined && current.journalId === undefined) this.forgetKey(key);
      throw error;
    } finally {
      callerSignal?.removeEventListener('abort', callerGone);
      this.current = undefined;
      markEnded(result ?? 'error');
      paymentEnded?.();
    }
  }

  /**
   * The Entry Point for a payment under `terminal`: the one built at start, or rebuilt (same
   * kernels) when a parameter package changed the terminal or the contactless combinations.
   */
  private entryPointFor(terminal: TerminalConfig): TapEntryPoint | undefined {
    const params = this.deps.params?.();
    if (!params || this.deps.entryPoint || !this.config.emv.contactless.enabled) return this.entryPoint;
    const combinations = params.contactless();
    const built = this.entryPointBuiltFor;
    if (built?.terminal !== terminal || built.combinations !== combinations) {
      this.entryPoint = contactlessEntryPoint(this.config, terminal, {}, { combinations, kernels: this.kernels });
      this.entryPointBuiltFor = { terminal, combinations };
    }
    return this.entryPoint;
  }

  /** A request that cannot be paid stops here, before the card is asked for. */
  private checkRequest(request: PaymentRequest): PaymentRequest {
    const { amount } = request;
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw new PosError(
        'CODPOS_USAGE_AMOUNT',
        `amount must be a positive whole number of minor units, not ${String(amount)}`,
      );
    }
    if (amount > MAX_DE4_AMOUNT)
      throw new PosError(
        'CODPOS_USAGE_AMOUNT',
        `amount ${amount} has more than the 12 digits an ISO 8583 amount (DE4) carries`,
        { details: { amount } },
      );
    const max = this.config.payments.maxAmount;
    if (amount > max)
      throw new PosError(
        'CODPOS_USAGE_AMOUNT',
        `amount ${amount} is above the largest card payment this terminal takes (payments.maxAmount ${max})`,
        { details: { amount, maxAmount: max } },
      );
    if (request.waybill === undefined) return { amount };
    const check = checkWaybill(
      request.waybill,
      this.operatorWaybillPattern ? { operatorPattern: this.operatorWaybillPattern } : {},
    );
    if (!check.valid)
      throw new PosError('CODPOS_USAGE_WAYBILL', `waybill ${check.waybill}: ${check.reason}`, {
        details: { waybill: check.waybill },
      });
    const task = this.deps
      .spool()
      .tasks.tasksFor(check.waybill)
      .find((t) => t.kind === 'delivery');
    if (task) checkTaskCurrency(task, this.config.terminal.currency);
    return { amount, waybill: check.waybill };
  }

  /** A key seen before: its payment's answer, or (still running) a 409 naming its journal row. */
  private replay(prior: StoredPaymentRequest, request: PaymentRequest): PaymentOutcome {
    if (prior.amount !== request.amount || (prior.waybill ?? undefined) !== request.waybill) {
      throw new PosError(
        'CODPOS_USAGE_IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${prior.key} was used for a payment of ${prior.amount}${prior.waybill !== null ? ` (waybill ${prior.waybill})` : ''}, not this one: a new payment needs a new key`,
        prior.journalId !== null ? { details: { journalId: prior.journalId } } : {},
      );
    }
    if (prior.state === 'answered') {
      const answer = prior.answer as PaymentAnswer;
      return {
        ...answer,
        receiptPrinted: answer.journalId !== undefined && this.receipts().kept(answer.journalId)?.state === 'printed',
        replayed: true,
      };
    }
    if (this.current?.key === prior.key) {
      const journalId = this.current.journalId;
      throw new PosError(
        'CODPOS_USAGE_PAYMENT_RUNNING',
        `the payment with Idempotency-Key ${prior.key} is still running${journalId !== undefined ? ` (journal ${journalId})` : ' (no card has answered yet)'}: ask again with the same key once it has ended`,
        journalId !== undefined ? { details: { journalId } } : {},
      );
    }
    return this.interruptedAnswer(prior);
  }

  /** A key whose payment was running when the daemon stopped: what the journal says of it now. */
  private interruptedAnswer(prior: StoredPaymentRequest): PaymentOutcome {
    const none = { approvedOffline: false, signatureRequired: false, receiptPrinted: false, replayed: true } as const;
    const txn = prior.journalId === null ? undefined : this.deps.spool().journal.get(prior.journalId);
    // The key and the journal row are begun in one commit: no row, nothing was sent or charged.
    if (!txn)
      return {
        ...none,
        outcome: 'cancelled',
        reason: 'the terminal stopped before this payment journaled anything: nothing was charged',
      };
    const view = paymentView(txn, this.receipts().kept(txn.id));
    const outcome = outcomeOfState(txn.state);
    return {
      ...none,
      outcome: outcome === 'pending' ? 'failed' : outcome,
      reason: `the terminal stopped while this payment ran; its journal row is ${txn.state}`,
      journalId: txn.id,
      journalState: txn.state,
      approvedOffline: view.approvedOffline,
      receiptPrinted: view.receipt === 'printed',
      ...(view.approvedAmount !== undefined
        ? { approvedAmount: view.approvedAmount, remainingDue: view.remainingDue ?? 0 }
        : {}),
      ...(txn.responseCode !== null ? { responseCode: txn.responseCode } : {}),
      ...(txn.authCode !== null ? { authCode: txn.authCode } : {}),
      ...(view.entry ? { entry: view.entry } : {}),
      ...(txn.panMasked !== null ? { receipt: { panLast4: txn.panMasked.slice(-4) } } : {}),
    };
  }

  /** One line per payment for the log: what a helpdesk asks about it, the card masked. */
  private logOutcome(request: PaymentRequest, answer: PaymentAnswer): void {
    const txn = answer.journalId !== undefined ? this.deps.spool().journal.get(answer.journalId) : undefined;
    this.log.info(
      {
        journalId: answer.journalId ?? null,
        amount: request.amount,
        approvedAmount: answer.approvedAmount ?? null,
        entry: answer.entry ?? null,
        outcome: answer.outcome,
        responseCode: answer.responseCode ?? null,
        tvr: answer.receipt?.tvr ?? null,
        tsi: answer.receipt?.tsi ?? null,
        cvmResult: answer.cvmResult ?? null,
        odaMethod: answer.odaMethod ?? null,
        panMasked: txn?.panMasked ?? (answer.receipt ? `****${answer.receipt.panLast4}` : null),
        approvedOffline: answer.approvedOffline,
        waybill: request.waybill ?? null,
        reason: answer.reason,
      },
      'card payment',
    );
  }

  private publishOutcome(answer: PaymentAnswer): void {
    const journal = answer.journalId !== undefined ? { journalId: answer.journalId } : {};
    this.deps.events.publish(`payment.${answer.outcome}`, {
      reason: answer.reason,
      approvedOffline: answer.approvedOffline,
      signatureRequired: answer.signatureRequired,
      ...journal,
      ...(answer.entry !== undefined ? { entry: answer.entry } : {}),
      ...(answer.responseCode !== undefined ? { responseCode: answer.responseCode } : {}),
      ...(answer.authCode !== undefined ? { authCode: answer.authCode } : {}),
      ...(answer.approvedAmount !== undefined
        ? { approvedAmount: answer.approvedAmount, remainingDue: answer.remainingDue ?? 0 }
        : {}),
      ...(answer.identificationRequired ? { identificationRequired: true } : {}),
      ...(answer.receipt ? { panLast4: answer.receipt.panLast4 } : {}),
    });
    // Response 08: the screen app asks the courier to check the consignee's ID against the card.
    if (answer.outcome === 'approved' && answer.identificationRequired)
      this.deps.events.publish('payment.check-id', {
        ...journal,
        reason: "the issuer approved with identification (08): check the cardholder's ID",
      });
  }

  /** Keeps the receipt (held until printed); a spool that refuses it costs the receipt, never the payment's answer. */
  private keepReceipt(request: PaymentRequest, answer: PaymentAnswer): boolean {
    if (answer.journalId === undefined) return false;
    const receipt: StoredReceipt = {
      at: new Date().toISOString(),
      amount: request.amount,
      currency: this.config.terminal.currency,
      ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
      payment: answer,
      copies: answer.outcome === 'approved' && answer.signatureRequired ? ['merchant', 'customer'] : ['customer'],
    };
    try {
      this.receipts().hold(answer.journalId, receipt);
      return true;
    } catch (error) {
      this.log.error({ err: error, journalId: answer.journalId }, 'the receipt could not be kept: it is not printed');
      return false;
    }
  }

  private renderReceipt(
    receipt: StoredReceipt,
    journalId: string,
    copy: 'merchant' | 'customer',
    options: { profile: Parameters<typeof buildPaymentReceipt>[0]['profile']; reprint: boolean },
  ): Buffer {
    const transaction = this.deps.spool().journal.get(journalId);
    return buildPaymentReceipt({
      profile: options.profile,
      merchant: {
        name: this.config.terminal.merchantName,
        terminalId: this.config.terminal.id,
        merchantId: this.config.terminal.merchantId,
        ...headerOf(this.deps.params?.().receiptHeader()),
      },
      at: new Date(receipt.at),
      amount: receipt.amount,
      currency: receipt.currency,
      ...(receipt.waybill !== undefined ? { waybill: receipt.waybill } : {}),
      payment: receipt.payment,
      ...(transaction ? { transaction } : {}),
      copy,
      reprint: options.reprint,
    });
  }

  private recordAnswer(key: string, answer: PaymentAnswer): void {
    try {
      this.requests().answer(key, answer);
    } catch (error) {
      // The journal has the payment: a repeat of the key answers from it.
      this.log.error(
        { err: error, journalId: answer.journalId ?? null },
        'the answer for the idempotency key could not be kept',
      );
    }
  }

  private forgetKey(key: string): void {
    try {
      this.requests().forget(key);
    } catch (error) {
      this.log.error({ err: error }, 'an idempotency key could not be dropped');
    }
  }

  private requests(): PaymentRequests {
    if (!this.requestStore)
      throw new PosError(
        'CODPOS_DEVICE_PAYMENT_UNAVAILABLE',
        'card payments cannot be taken: the payment service is not started',
      );
    return this.requestStore;
  }

  private receipts(): ReceiptQueue {
    if (!this.receiptQueue)
      throw new PosError(
        'CODPOS_DEVICE_PAYMENT_UNAVAILABLE',
        'receipts are not available: the payment service is not started',
      );
    return this.receiptQueue;
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
      const totals = {
        debitCount: sums.purchase.count,
        debitAmount: sums.purchase.amount,
        creditCount: sums.refund.count,
        creditAmount: sums.refund.amount,
      };
      const host = this.deps.host();
      let answer = await host.settle({ batchNumber: batch, totals });
      let uploaded: number | undefined;
      if (!answer.inBalance) {
        // Out of balance: upload every payment of the batch (0320), then settle again (960000).
        this.deps.events.publish('settlement.out-of-balance', { batch, responseCode: answer.responseCode, ...totals });
        const upload = this.batchForUpload(batch);
        if (upload.missing.length > 0) {
          const reason = `the acquirer's totals differ (${answer.responseCode}) and ${upload.missing.length} payment(s) of batch ${batch} have no clearing data to upload: the batch stays open`;
          return {
            batch,
            inBalance: false,
            totals,
            hostTotals: answer.totals,
            responseCode: answer.responseCode,
            reason,
          };
        }
        uploaded = await host.uploadBatch(upload.transactions);
        answer = await host.settle({ batchNumber: batch, totals, afterUpload: true });
        if (!answer.inBalance) {
          const reason = `still out of balance (${answer.responseCode}) after uploading ${uploaded} payment(s): batch ${batch} stays open for the acquirer's helpdesk`;
          return {
            batch,
            inBalance: false,
            totals,
            hostTotals: answer.totals,
            responseCode: answer.responseCode,
            uploaded,
            reason,
          };
        }
      }
      const closed = journal.closeBatch();
      this.deps.events.publish('settlement.closed', {
        batch,
        settled: closed.settled,
        nextBatch: closed.next,
        ...totals,
        ...(uploaded !== undefined ? { uploaded } : {}),
      });
      return {
        batch,
        inBalance: true,
        totals,
        settled: closed.settled,
        nextBatch: closed.next,
        ...(uploaded !== undefined ? { uploaded } : {}),
      };
    });
  }

  /** The batch's standing payments as 0320 batch uploads, from their clearing data and sealed PANs. */
  private batchForUpload(batch: number): { transactions: BatchTransaction[]; missing: string[] } {
    const journal = this.deps.spool().journal;
    const transactions: BatchTransaction[] = [];
    const missing: string[] = [];
    for (const txn of journal.list({ batch, limit: 100_000 })) {
      if (!['approved', 'advised', 'offline_approved'].includes(txn.state) || txn.kind !== 'purchase') continue;
      const clearing = readClearing(journal, txn.id);
      const pan = journal.openPan(txn.id);
      const c = clearing?.fields;
      if (
        !c ||
        !clearing ||
        !pan ||
        !c.stan ||
        !c.transmission ||
        !c.localTime ||
        !c.localDate ||
        !c.posEntryMode ||
        !c.processingCode
      ) {
        missing.push(txn.id);
        continue;
      }
      transactions.push({
        mti: c.mti,
        processingCode: c.processingCode,
        amount: txn.approvedAmount,
        pan,
        ...(clearing.card.expiry ? { expiry: clearing.card.expiry } : {}),
        ...(c.panSequenceNumber ? { panSequenceNumber: c.panSequenceNumber } : {}),
        stan: c.stan,
        transmission: c.transmission,
        localTime: c.localTime,
        localDate: c.localDate,
        posEntryMode: c.posEntryMode,
        ...(c.posConditionCode ? { posConditionCode: c.posConditionCode } : {}),
        rrn: c.rrn ?? txn.rrn,
        authCode: c.authCode,
        responseCode: c.responseCode,
        ...(clearing.card.iccData ? { iccData: clearing.card.iccData } : {}),
      });
    }
    return { transactions, missing };
  }

  /** Voids an approved payment of the open batch (the card not present): host-link client.ts voidPayment. */
  async voidPayment(
    journalId: unknown,
  ): Promise<{ journalId: string; originalId: string; outcome: 'approved' | 'declined'; responseCode: string }> {
    if (typeof journalId !== 'string' || journalId === '')
      throw new PosError('CODPOS_USAGE_VOID', 'journalId: expected the journal id of the payment to void');
    return this.exclusive('a card payment is in progress: void after it', async () => {
      const { journalId: voidId, result } = await this.deps.host().voidPayment(journalId);
      const outcome = result.outcome === 'approved' ? 'approved' : 'declined';
      this.deps.events.publish(outcome === 'approved' ? 'payment.voided' : 'payment.void-declined', {
        journalId: voidId,
        originalId: journalId,
        responseCode: result.responseCode,
      });
      if (outcome === 'approved') await this.queueVoidForBackend(voidId, journalId);
      return { journalId: voidId, originalId: journalId, outcome, responseCode: result.responseCode };
    });
  }

  /** The void for the back-end's reconciliation: the original payment's record is superseded. */
  private async queueVoidForBackend(voidId: string, originalId: string): Promise<void> {
    const txn = this.deps.spool().journal.get(originalId);
    try {
      await this.deps.spool().outbox.enqueue(
        STREAMS.transaction,
        {
          journalId: voidId,
          voids: originalId,
          waybill: txn?.waybill ?? null,
          amount: txn?.amount ?? null,
          outcome: 'voided',
          terminalId: this.config.terminal.id,
          at: new Date().toISOString(),
        },
        { id: voidId },
      );
      this.deps.recordQueued?.();
    } catch (error) {
      this.log.error({ err: error, journalId: voidId }, 'the void record for the back-end could not be queued');
    }
  }

  /** Waits for the card and pays by chip or stripe, following the chip-first rules; the payment's signal cancels it. */
  private async collect(
    request: PaymentRequest,
    current: PaymentInProgress,
    reader: CardReaderDriver,
    pinpad: PinpadDriver,
  ): Promise<CardPaymentResult> {
    const signal = current.controller.signal;
    const cancelled = (): CardPaymentResult => ({
      outcome: 'cancelled',
      reason: cancelReason(signal),
      approvedOffline: false,
      signatureRequired: false,
    });
    const deadline = Date.now() + this.config.emv.cardWaitMs;
    let chipFailure: CardPaymentResult['chipFailure'];
    // A card already in the slot is paid at once.
    const slot = await reader.status().catch(() => undefined);
    let presented: Presented =
      slot !== undefined && slot.slot !== 'empty'
        ? slot.chip
          ? { kind: 'chip' }
          : { kind: 'mute' }
        : { kind: 'none' };
    // A reader without a field (or taps disabled) is waited on for an insert or a swipe only.
    let tapping = current.entryPoint !== undefined && typeof reader.fieldOn === 'function';
    const chip = this.deps.payByChip ?? payByChip;
    const swipe = this.deps.payBySwipe ?? payBySwipe;
    const paying: CardPaymentRequest = { ...request, signal };
    for (;;) {
      if (signal.aborted) return cancelled();
      if (presented.kind === 'none') {
        this.deps.events.publish('payment.waiting-card', { chipFailed: chipFailure !== undefined, tap: tapping });
        presented = tapping
          ? await this.waitForCardOrTap(reader, deadline - Date.now(), signal)
          : await waitForCard(reader, deadline - Date.now(), signal);
        if (signal.aborted) return cancelled();
        if (presented.kind === 'none')
          return {
            outcome: 'cancelled',
            reason: `no card was presented within ${Math.round(this.config.emv.cardWaitMs / 1000)} s`,
            approvedOffline: false,
            signatureRequired: false,
          };
      }
      const base = {
        client: this.deps.host(),
        journal: this.journalFor(current),
        currency: this.config.terminal.currency,
        pinpad: this.pinEntry(pinpad, signal),
        log: this.log,
      };
      if (presented.kind === 'chip') {
        const result = await chip(
          { ...base, card: watchGenerateAc(reader, () => (current.committed = true)), terminal: current.terminal },
          paying,
        );
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
        const result = await swipe(base, paying, presented.swipe, chipFailure ? { chipFailure } : {});
        if (result.outcome !== 'use-chip') return result;
        this.deps.events.publish('payment.use-chip');
        presented = { kind: 'none' };
      }
      if (presented.kind === 'tap') {
        this.deps.events.publish('payment.tap-detected');
        const result = await payByTap(
          {
            ...base,
            field: primedField(reader, presented.target),
            entryPoint: current.entryPoint!,
            waitMs: Math.max(0, deadline - Date.now()),
            pollTimeoutMs: this.config.emv.contactless.pollTimeoutMs,
            maxTryAgain: this.config.emv.contactless.maxTryAgain,
          },
          paying,
        );
        if (result.outcome !== 'use-chip') return result;
        // The card wants its chip (or the terminal's limits do): insert it, within the same wait; no second tap.
        this.deps.events.publish('payment.use-chip', { from: 'tap', reason: result.reason });
        tapping = false;
        presented = { kind: 'none' };
      }
    }
  }

  /**
   * The next card event of the reader while its field is polled: an insert or a swipe (the field
   * is turned off first, so the chip can be powered), a card in the field (the field stays on:
   * payByTap talks to it), or `none` after `ms` or when `cancel` aborts. A field the reader
   * refuses is logged and the wait goes on for an insert or a swipe.
   */
  private async waitForCardOrTap(reader: CardReaderDriver, ms: number, cancel: AbortSignal): Promise<Presented> {
    if (ms <= 0 || cancel.aborted) return { kind: 'none' };
    const deadline = Date.now() + ms;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    const stop = () => controller.abort();
    cancel.addEventListener('abort', stop, { once: true });
    let event: Presented | undefined;
    let eventFailure: Error | undefined;
    const eventSeen = cardEvent(reader, controller.signal).then(
      (presented) => {
        event = presented;
        controller.abort();
      },
      (error: unknown) => {
        eventFailure = error instanceof Error ? error : new Error(String(error));
        controller.abort();
      },
    );
    try {
      try {
        await reader.fieldOn();
        while (!controller.signal.aborted) {
          const polled = await reader.poll(Math.max(1, Math.min(WAITING_POLL_MS, deadline - Date.now())));
          // An insert or a swipe during the poll comes first: that card is in the customer's hand.
          if (event !== undefined) break;
          if (polled === 'collision') {
            await reader.indicate('ready-to-read', 'alert').catch(() => undefined);
            continue;
          }
          if (polled !== 'timeout') return { kind: 'tap', target: polled };
        }
      } catch (error) {
        this.log.warn({ err: error }, 'the contactless field failed; waiting for an insert or a swipe only');
      }
      await reader.fieldOff().catch((error: unknown) => this.log.warn({ err: error }, 'the field did not go off'));
      await eventSeen;
      if (eventFailure !== undefined) throw eventFailure;
      return event ?? { kind: 'none' };
    } finally {
      clearTimeout(timer);
      cancel.removeEventListener('abort', stop);
      controller.abort();
    }
  }

  /**
   * The journal as the payment sees it: beginning its row marks the payment past cancelling
   * and names the row on its idempotency key, in the same commit (a restart never finds a
   * journaled payment whose key does not name it).
   */
  private journalFor(current: PaymentInProgress): Journal {
    const spool = this.deps.spool();
    const journal = spool.journal;
    const watched = Object.create(journal) as Journal;
    watched.begin = (input) => {
      let row;
      try {
        row = spool.db.transaction(() => {
          const begun = journal.begin(input);
          if (current.key !== undefined) this.requests().attachJournal(current.key, begun.id);
          return begun;
        })();
      } catch (error) {
        throw toSpoolError(error, 'journaling a card payment');
      }
      current.journalId = row.id;
      current.committed = true;
      return row;
    };
    return watched;
  }

  /** The PIN pad as the payment sees it: `pin.requested`, and an entry in progress ended when the payment is cancelled. */
  private pinEntry(pinpad: PinpadDriver, signal: AbortSignal): CardPaymentDeps['pinpad'] {
    return {
      requestPin: async (options) => {
        if (signal.aborted) return { outcome: 'cancelled', reason: cancelReason(signal) };
        this.deps.events.publish('pin.requested');
        const endEntry = () => void pinpad.cancel().catch(() => undefined);
        signal.addEventListener('abort', endEntry, { once: true });
        try {
          const entry = await pinpad.requestPin(options);
          return entry.outcome !== 'pin' && signal.aborted
            ? { outcome: 'cancelled', reason: cancelReason(signal) }
            : entry;
        } finally {
          signal.removeEventListener('abort', endEntry);
        }
      },
    };
  }

  /**
   * The payment for the back-end's COD reconciliation (stream `transaction`, id = the journal
   * row's, which the back-end dedupes on): what was paid for which waybill, how, and the
   * outcome, with the approved amount and what remains due; the card as its last four digits.
   * A spool that refuses it leaves the payment as it is (logged: the journal still has it for a
   * later export).
   */
  private async queueForBackend(request: PaymentRequest, result: PaymentAnswer): Promise<void> {
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
          approvedAmount: result.approvedAmount ?? null,
          remainingDue: result.remainingDue ?? null,
          currency: this.config.terminal.currency,
          outcome: result.outcome,
          state: txn?.state ?? null,
          approvedOffline: result.approvedOffline,
          identificationRequired: result.identificationRequired ?? false,
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
      this.log.error(
        { err: error, journalId: result.journalId },
        'the payment record for the back-end could not be queued',
      );
    }
  }
}

/** An approved payment's answer names what was approved and what remains due (a partial approval, response 10). */
function answerOf(request: PaymentRequest, result: CardPaymentResult): PaymentAnswer {
  if (result.outcome !== 'approved') return result;
  const approvedAmount = result.approvedAmount ?? request.amount;
  return { ...result, approvedAmount, remainingDue: request.amount - approvedAmount };
}

function cancelReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : CANCEL_REASONS.request;
}

function notCancellable(journalId: string | undefined, result: CardPaymentResult | 'error' | undefined): PosError {
  const ending =
    result === undefined
      ? 'it runs to its end'
      : result === 'error'
        ? 'it ended in an error'
        : `it ended ${result.outcome}`;
  return new PosError(
    'CODPOS_USAGE_NOT_CANCELLABLE',
    `the payment can no longer be cancelled: the card has answered${journalId !== undefined ? ` (journal ${journalId})` : ''} and ${ending}; an approved payment is voided (POST /v1/payments/void), not cancelled`,
    journalId !== undefined ? { details: { journalId } } : {},
  );
}

/** The card reader as the chip payment sees it: the card's answer to GENERATE AC (80 AE) is the point of no cancel. */
function watchGenerateAc(card: CardChannel, answered: () => void): CardChannel {
  return {
    powerOn: () => card.powerOn(),
    powerOff: () => card.powerOff(),
    transmit: async (apdu) => {
      const response = await card.transmit(apdu);
      if (apdu[0] === 0x80 && apdu[1] === 0xae) answered();
      return response;
    },
  };
}

/**
 * The reader's field for payByTap when the wait already found the card: the field is on and the
 * first poll answers with that card; after it, the reader is polled as usual.
 */
function primedField(reader: CardReaderDriver, found: ContactlessTarget): ContactlessField {
  let pending: ContactlessTarget | undefined = found;
  return {
    fieldOn: async () => {
      if (pending === undefined) await reader.fieldOn();
    },
    poll: async (timeoutMs) => {
      const target = pending;
      pending = undefined;
      return target ?? reader.poll(timeoutMs);
    },
    fieldOff: async () => {
      pending = undefined;
      await reader.fieldOff();
    },
    indicate: (status, beep) => reader.indicate(status, beep),
  };
}

/** The next card event of the reader, or `none` after `ms` or when `cancel` aborts. */
async function waitForCard(reader: CardReaderDriver, ms: number, cancel: AbortSignal): Promise<Presented> {
  if (ms <= 0 || cancel.aborted) return { kind: 'none' };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  cancel.addEventListener('abort', () => controller.abort(), { once: true });
  try {
    return (await cardEvent(reader, controller.signal)) ?? { kind: 'none' };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** The reader's next insert, swipe or mute chip; undefined when `signal` aborts first. */
async function cardEvent(reader: CardReaderDriver, signal: AbortSignal): Promise<Presented | undefined> {
  const controller = new AbortController();
  signal.addEventListener('abort', () => controller.abort(), { once: true });
  if (signal.aborted) return undefined;
  try {
    const event = await Promise.race([
      once(reader, 'card-inserted', { signal: controller.signal }).then(([info]) =>
        (info as { chip: boolean }).chip ? ({ kind: 'chip' } as const) : ({ kind: 'mute' } as const),
      ),
      once(reader, 'swipe', { signal: controller.signal }).then(
        ([swipe]) => ({ kind: 'swipe', swipe: swipe as Swipe }) as const,
      ),
      once(reader, 'chip-mute', { signal: controller.signal }).then(() => ({ kind: 'mute' }) as const),
    ]);
    return event;
  } catch (error) {
    if ((error as Error).name === 'AbortError') return undefined;
    throw error;
  } finally {
    // The other events' listeners go with it.
    controller.abort();
  }
}

/** A parameter package's receipt header, for the receipt's merchant block (none: the merchant name). */
function headerOf(header: string[] | undefined): { header?: string[] } {
  return header !== undefined && header.length > 0 ? { header } : {};
}
