/**
 * QR payments through the payment service provider (docs/payment.md, "QR payments").
 *
 * Merchant-presented: the row is written pending, the terminal's MPM code built (its reference
 * label names the order), the order created at the PSP (its idempotency key is the row's
 * orderRef: a resend cannot make a second order), the code published for the screen, and the
 * caller answered at once; the wait goes on in the background. Consumer-presented: the
 * consignee's code is checked before anything is written, the row written, the code presented
 * to the PSP, and the caller answered with the outcome (or pending while the wallet asks its
 * user to confirm). The consumer code is card data: never logged, never stored.
 *
 * Waiting: a verified notification or a query every `qr.queryIntervalMs`, whichever first,
 * until the order is final or `qr.waitMs` has passed (or the courier gives up). Then the order
 * is cancelled at the PSP and its answer decides: cancelled, or paid (the wallet paid as the
 * terminal gave up: the row ends paid and an event tells the courier). No answer: the row is
 * unknown and the resolver (qr-resolver.ts) asks until the PSP says; nothing is guessed.
 *
 * Every move of a row writes the back-end's record (stream `transaction`, `method: 'qr'`, id
 * `qr-<row id>-<state>`) in the same commit, is logged with the row id and reason, and is
 * published as `payment.qr` { id, state, ... }.
 */
import { PosError, type ErrorCode } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { STREAMS, type Spool } from '../../spool/index.js';
import type { QrJournal } from '../../spool/qr-journal.js';
import { QR_STANDING_STATES, type QrState, type QrTransaction } from '../../spool/qr-transaction.js';
import type { EventBus } from '../api/events.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import { FINAL_PSP_STATUSES, type PspClient, type PspOrder, type QrMode } from '../psp/types.js';
import { checkPaymentQuery } from './payment-query.js';
import { checkWaybill } from '../workflow/waybill.js';
import { checkIdempotencyKey, PaymentRequests, type StoredPaymentRequest } from './payment-requests.js';
import { parseConsumerCode } from '../../emv/qr/index.js';
import { orderRefOf, rowIdOf } from './qr-order-ref.js';
import { QrResolver } from './qr-resolver.js';

type QrConfig = NonNullable<Config['qr']>;

export interface QrPaymentServiceDeps {
  spool: () => Spool;
  /** The PSP link; undefined when no `psp` section is configured (QR payments then answer 503). */
  psp: () => PspClient | undefined;
  /** Started before and stopped after the service (the daemon's QrPspLink: the client, or the simulator in sim mode). */
  link?: { start(): Promise<void>; stop(): Promise<void> };
  events: EventBus;
  /** Called when a record for the back-end was queued (the uplink sends it now). */
  recordQueued?: () => void;
  /** The terminal's MPM payload for a row (qr-mpm.ts terminalMpmPayload with the config). */
  mpmPayload: (txn: QrTransaction) => string;
  /** Prints the scan-to-pay slip of a merchant-presented code (qr-slip.ts); resolves whether it printed. */
  printSlip?: (txn: QrTransaction, payload: string) => Promise<boolean>;
  /** The PSP's notification URL for new orders (when notifications are enabled). */
  notifyUrl?: string;
  /**
   * Called as a QR payment starts; the function it returns, when it ends (its answer, or the end
   * of its wait for the wallet): a parameter package waits for that (runtime/params/service.ts).
   */
  paymentStarted?: () => () => void;
  /**
   * Prints a paid or refunded payment's receipt (qr-receipt.ts); resolves whether it printed.
   * The row is the receipt's record: one that did not print is printed again on request.
   */
  printReceipt?: (txn: QrTransaction, options: { reprint: boolean }) => Promise<boolean>;
  /**
   * Whether the waybill's delivery is already recorded (its COD collected some other way). A
   * payment that ends paid after the terminal gave up on it, for such a waybill, is money the
   * consignee paid twice: it is refunded at once.
   */
  deliveryRecorded?: (waybill: string) => boolean;
}

export interface QrPaymentRequest {
  mode: QrMode;
  /** Minor units of the terminal currency. */
  amount: number;
  waybill: string;
  /** Consumer mode: what the scanner read from the consignee's wallet. */
  consumerCode?: string;
  /** Merchant mode: print the scan-to-pay slip too. */
  print?: boolean;
}

/** What POST /v1/payments/qr answers: the row's state, and for a merchant-presented code its payload. */
export interface QrPaymentAnswer {
  id: string;
  mode: QrMode;
  state: QrState;
  amount: number;
  currency: string;
  waybill: string;
  payload?: string;
  wallet?: string;
  reason?: string;
  /** Merchant mode with print: whether the slip printed. */
  slipPrinted?: boolean;
  /** The answer to an earlier request with the same Idempotency-Key: the payment as it stands now, no second one. */
  replayed?: boolean;
}

export interface QrPaymentView {
  payment: QrTransaction;
  history: ReturnType<QrJournal['history']>;
}

/** A refund's answer: the payment as it now stands and what the PSP said of the refund. */
export interface QrRefundAnswer extends QrPaymentView {
  refund: { status: 'refunded' | 'refused'; amount: number; reason?: string };
}

/** Why a wait ended without the wallet paying (the reason the row records). */
export const QR_GIVE_UP_REASONS = {
  timeout: 'the wallet did not pay within the wait (qr.waitMs)',
  request: 'the courier gave up (POST /v1/payments/qr/{id}/cancel)',
} as const;

/** PSP statuses that say where an order ends, as row states (refunded is paid, then refunded). */
const ROW_STATE_OF: Partial<Record<PspOrder['status'], QrState>> = {
  paid: 'paid',
  declined: 'declined',
  cancelled: 'cancelled',
  refunded: 'paid',
};

interface Waiter {
  /** Ends the current sleep early (a notification, a give-up, the daemon stopping). */
  wake: () => void;
  giveUp: string | undefined;
  stopping: boolean;
  done: Promise<void>;
}

export class QrPaymentService implements Service {
  readonly name = 'qr';
  private state: Health = { state: 'stopped' };
  private readonly waiters = new Map<string, Waiter>();
  private requestStore: PaymentRequests | undefined;
  private resolverInstance: QrResolver | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly deps: QrPaymentServiceDeps,
  ) {}

  /** The resolver of unknown rows (also what the route asks about an outstanding row). */
  get resolver(): QrResolver {
    if (!this.resolverInstance) throw this.unavailable();
    return this.resolverInstance;
  }

  async start(): Promise<void> {
    await this.deps.link?.start();
    const qr = this.config.qr;
    if (qr && this.deps.psp()) {
      this.resolverInstance = new QrResolver({
        journal: () => this.journal(),
        psp: () => this.deps.psp(),
        apply: (id, order, how) => this.applyOrder(id, order, how),
        noSuchOrder: (id, reason) => this.move(id, 'cancelled', { reason }),
        isWaiting: (id) => this.waiters.has(id),
        log: this.log,
        initialMs: qr.resolver.initialMs,
        maxMs: qr.resolver.maxMs,
      });
      // Rows left pending or unknown by the last run (a stop, a crash, a power cut): ask the PSP now.
      this.resolverInstance.start();
      this.state = { state: 'up' };
    } else {
      // Not a fault: a box without a PSP contract takes card and cash only.
      this.state = { state: 'up', reason: 'QR payments are not configured (no qr or psp section)' };
    }
  }

  async stop(): Promise<void> {
    this.resolverInstance?.stop();
    // A wait ends here; its row stays pending and the next start resolves it by query.
    for (const waiter of this.waiters.values()) {
      waiter.stopping = true;
      waiter.wake();
    }
    await Promise.all([...this.waiters.values()].map((waiter) => waiter.done));
    await this.deps.link?.stop();
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  /** Starts a QR payment (merchant: answered pending with the code at once; consumer: with its outcome). */
  async pay(request: QrPaymentRequest, options: { idempotencyKey?: string } = {}): Promise<QrPaymentAnswer> {
    const { psp } = this.ready();
    checkAmount(request.amount, this.config.payments.maxAmount);
    const pattern = this.config.workflow.waybillPattern;
    const check = checkWaybill(
      request.waybill,
      pattern === '' ? {} : { operatorPattern: new RegExp(`^(?:${pattern})$`) },
    );
    if (!check.valid)
      throw new PosError('CODPOS_USAGE_WAYBILL', `waybill ${check.waybill}: ${check.reason}`, {
        details: { waybill: check.waybill },
      });
    request = { ...request, waybill: check.waybill };
    if (request.mode === 'consumer') {
      if (typeof request.consumerCode !== 'string' || request.consumerCode === '')
        throw new PosError('CODPOS_USAGE_QR_CONSUMER_CODE', 'consumerCode: expected the code the scanner read');
      // Junk (or a merchant's code scanned by mistake) is a 400 before anything is written or sent.
      parseConsumerCode(request.consumerCode);
    }
    // Namespaced: a card payment's key and a QR payment's never answer for each other.
    const key = options.idempotencyKey === undefined ? undefined : `qr:${checkIdempotencyKey(options.idempotencyKey)}`;
    if (key !== undefined) {
      const prior = this.requests().find(key);
      if (prior) return this.replay(prior, request);
      this.requests().start(key, { amount: request.amount, waybill: request.waybill });
    }
    const paymentEnded = this.deps.paymentStarted?.() ?? (() => undefined);
    let txn: QrTransaction | undefined;
    try {
      try {
        this.refuseIfPaid(request.waybill);
        txn = await this.begin(request);
      } catch (error) {
        // Nothing was journaled: the same key may be used again.
        if (key !== undefined) this.requests().forget(key);
        throw error;
      }
      if (key !== undefined) this.requests().attachJournal(key, txn.id);
      try {
        return request.mode === 'merchant'
          ? await this.showCode(txn, psp, request.print === true)
          : await this.presentConsumerCode(txn, psp, request.consumerCode!);
      } finally {
        if (key !== undefined) this.requests().answer(key, { journalId: txn.id });
      }
    } finally {
      // Answered pending: the payment goes on until its wait for the wallet ends.
      const waiter = txn && this.waiters.get(txn.id);
      if (waiter) void waiter.done.finally(paymentEnded);
      else paymentEnded();
    }
  }

  /** The same Idempotency-Key again: the payment it began, as it stands now; never a second one. */
  private replay(prior: StoredPaymentRequest, request: QrPaymentRequest): QrPaymentAnswer {
    if (prior.amount !== request.amount || prior.waybill !== request.waybill)
      throw new PosError(
        'CODPOS_USAGE_IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key was used for a QR payment of ${prior.amount} for ${prior.waybill ?? 'no waybill'}, not this one`,
        { details: { ...(prior.journalId !== null ? { journalId: prior.journalId } : {}) } },
      );
    const txn = prior.journalId === null ? undefined : this.journal().get(prior.journalId);
    if (!txn)
      throw new PosError(
        'CODPOS_USAGE_PAYMENT_RUNNING',
        'the QR payment with this Idempotency-Key is still starting: ask again with the same key',
      );
    return { ...answerOf(txn), replayed: true };
  }

  private requests(): PaymentRequests {
    return (this.requestStore ??= new PaymentRequests(this.deps.spool().db));
  }

  /** The courier gives up early: the wait ends and the order is cancelled at the PSP. */
  async cancel(id: string): Promise<QrPaymentView> {
    const txn = this.existing(id);
    const waiter = this.waiters.get(id);
    if (waiter) {
      waiter.giveUp = QR_GIVE_UP_REASONS.request;
      waiter.wake();
      await waiter.done;
    } else if (txn.state === 'pending' || txn.state === 'unknown') {
      await this.giveUp(id, QR_GIVE_UP_REASONS.request);
    } else {
      throw new PosError(
        'CODPOS_USAGE_QR_NOT_CANCELLABLE',
        `QR payment ${id} is ${txn.state}: only a pending or unknown one can be cancelled`,
        {
          details: { journalId: id, state: txn.state },
        },
      );
    }
    return this.payment(id);
  }

  /** Refunds a paid QR payment (full by default); a resend refunds once (the refundRef is the row's). */
  async refund(id: string, amount?: number, reason = 'refunded at the PSP'): Promise<QrRefundAnswer> {
    const { psp } = this.ready();
    const txn = this.existing(id);
    if (txn.state !== 'paid')
      throw new PosError(
        'CODPOS_USAGE_QR_NOT_REFUNDABLE',
        `QR payment ${id} is ${txn.state}: only a paid one can be refunded`,
        {
          details: { journalId: id, state: txn.state },
        },
      );
    const refundAmount = amount ?? txn.amount;
    if (!Number.isSafeInteger(refundAmount) || refundAmount <= 0 || refundAmount > txn.amount)
      throw new PosError(
        'CODPOS_USAGE_AMOUNT',
        `amount: a refund is 1 to the ${txn.amount} paid, not ${String(amount)}`,
      );
    const orderRef = orderRefOf(id);
    const answer = await psp.refund(orderRef, {
      refundRef: `${orderRef}-r`,
      amount: refundAmount,
      reason: 'COD refund',
    });
    this.resolverInstance?.pspAnswered();
    if (answer.status !== 'refunded') {
      // A refusal is the PSP's answer, not a fault: the row stays paid and the answer says why.
      const reason = answer.refusedReason ?? 'no reason given';
      this.log.warn({ qrId: id, reason }, 'the PSP refused the QR refund');
      return { ...this.payment(id), refund: { status: 'refused', amount: refundAmount, reason } };
    }
    this.move(id, 'refunded', { refundedAmount: answer.amount, reason });
    return { ...this.payment(id), refund: { status: 'refunded', amount: answer.amount } };
  }

  payment(id: string): QrPaymentView {
    const payment = this.existing(id);
    return { payment, history: this.journal().history(id) };
  }

  /** The QR payments begun on a local day (default today), oldest first. */
  payments(date?: string): { date: string; payments: QrTransaction[] } {
    const { echo, filter } = checkPaymentQuery(date === undefined ? {} : { date });
    return {
      date: echo.date!,
      payments: this.journal().list({ createdFrom: filter.createdFrom!, createdBefore: filter.createdBefore! }),
    };
  }

  /** A notification the PSP posted: verified by the client (signature, freshness), then applied like a query's answer. */
  notify(headers: Record<string, string | string[] | undefined>, body: Buffer): { accepted: true } {
    const { psp } = this.ready();
    let order: PspOrder;
    try {
      order = psp.verifyNotification(headers, body);
    } catch (error) {
      // Without the body: a forged one is not worth a log line of its contents.
      this.log.warn({ err: error, bytes: body.length }, 'a PSP notification was refused');
      throw new PosError(
        'CODPOS_USAGE_QR_NOTIFICATION',
        `the PSP notification was refused: ${(error as Error).message}`,
      );
    }
    const id = rowIdOf(order.orderRef);
    if (id === undefined || !this.journal().get(id)) {
      this.log.warn({ orderRef: order.orderRef }, 'a PSP notification names no QR payment of this terminal');
      return { accepted: true };
    }
    this.log.info({ qrId: id, status: order.status }, 'PSP notification');
    this.applyOrder(id, order, 'notification');
    this.waiters.get(id)?.wake();
    this.resolverInstance?.pspAnswered();
    return { accepted: true };
  }

  /**
   * Moves a row to where the PSP says its order is, when that is final; an answer that is not
   * final, or says what the row already is, changes nothing. Synchronous: a notification, a
   * waiter's query and the resolver cannot interleave inside it.
   */
  applyOrder(id: string, order: PspOrder, how: string): QrTransaction | undefined {
    const txn = this.journal().get(id);
    if (!txn || !FINAL_PSP_STATUSES.has(order.status)) return txn;
    const target = ROW_STATE_OF[order.status]!;
    const details = {
      ...(order.wallet !== undefined ? { wallet: order.wallet } : {}),
      pspOrderId: order.orderId,
    };
    let now = txn;
    if (now.state === 'pending' || now.state === 'unknown') {
      const reason =
        target === 'declined'
          ? `declined at the PSP: ${order.declineReason ?? 'no reason given'}`
          : target === 'cancelled'
            ? `cancelled at the PSP (${how})`
            : `paid at the PSP (${how})`;
      now = this.move(
        id,
        target,
        { ...details, reason },
        { lateAfterGiveUp: txn.state === 'unknown' || how === 'cancel' },
      );
    }
    if (order.status === 'refunded' && now.state === 'paid') {
      now = this.move(id, 'refunded', {
        refundedAmount: order.refundedAmount ?? now.amount,
        reason: `refunded at the PSP (${how})`,
      });
    }
    return now;
  }

  private async begin(request: QrPaymentRequest): Promise<QrTransaction> {
    try {
      return this.journal().begin({
        mode: request.mode,
        amount: request.amount,
        currency: this.config.terminal.currency,
        waybill: request.waybill,
      });
    } catch (error) {
      if (!(error instanceof PosError) || error.code !== 'CODPOS_SPOOL_QR_OUTSTANDING') throw error;
      // The waybill's earlier QR payment may be final by now: ask the PSP once and say what it said.
      const openId = (error.details as { id: string }).id;
      const learnt = await this.resolver.resolveNow(openId);
      throw new PosError(
        'CODPOS_SPOOL_QR_OUTSTANDING',
        `${error.message}; asked the PSP now: it is ${learnt?.state ?? 'unknown'}` +
          (learnt?.state === 'paid'
            ? ' (the delivery is paid)'
            : learnt?.state === 'cancelled' || learnt?.state === 'declined'
              ? ' (try again)'
              : ''),
        { details: { journalId: openId, waybill: request.waybill, state: learnt?.state ?? 'unknown' } },
      );
    }
  }

  private async showCode(txn: QrTransaction, psp: PspClient, print: boolean): Promise<QrPaymentAnswer> {
    const orderRef = orderRefOf(txn.id);
    const payload = this.deps.mpmPayload(txn);
    let order: PspOrder;
    try {
      order = await psp.createOrder({
        orderRef,
        amount: txn.amount,
        currency: txn.currency,
        waybill: txn.waybill,
        terminalLabel: this.config.terminal.id,
        ...(this.deps.notifyUrl !== undefined ? { notifyUrl: this.deps.notifyUrl } : {}),
      });
    } catch (error) {
      throw this.unsent(txn, error, 'creating the order');
    }
    this.resolverInstance?.pspAnswered();
    const shown = this.journal().attach(txn.id, { pspOrderId: order.orderId, payload });
    this.log.info(
      { qrId: txn.id, waybill: txn.waybill, amount: txn.amount, pspOrderId: order.orderId },
      'QR code shown',
    );
    this.deps.events.publish('payment.qr', {
      id: txn.id,
      state: 'show-code',
      payload,
      amount: txn.amount,
      currency: txn.currency,
      waybill: txn.waybill,
    });
    let slipPrinted: boolean | undefined;
    if (print && this.deps.printSlip) {
      slipPrinted = await this.deps.printSlip(shown, payload).catch((error: unknown) => {
        this.log.error({ err: error, qrId: txn.id }, 'the scan-to-pay slip did not print');
        return false;
      });
    }
    const after = this.applyOrder(txn.id, order, 'create') ?? shown;
    if (after.state === 'pending') this.startWaiting(txn.id);
    return { ...answerOf(after), payload, ...(slipPrinted !== undefined ? { slipPrinted } : {}) };
  }

  private async presentConsumerCode(
    txn: QrTransaction,
    psp: PspClient,
    consumerCode: string,
  ): Promise<QrPaymentAnswer> {
    let order: PspOrder;
    try {
      order = await psp.payWithConsumerCode({
        orderRef: orderRefOf(txn.id),
        amount: txn.amount,
        currency: txn.currency,
        waybill: txn.waybill,
        terminalLabel: this.config.terminal.id,
        consumerCode,
      });
    } catch (error) {
      throw this.unsent(txn, error, 'presenting the consumer code');
    }
    this.resolverInstance?.pspAnswered();
    this.journal().attach(txn.id, { pspOrderId: order.orderId, ...(order.wallet ? { wallet: order.wallet } : {}) });
    this.log.info(
      { qrId: txn.id, waybill: txn.waybill, amount: txn.amount, status: order.status },
      'consumer code presented',
    );
    const after = this.applyOrder(txn.id, order, 'consumer payment')!;
    // The wallet asks its user to confirm: the wait (and its 'waiting' event) as for a code shown.
    if (after.state === 'pending') this.startWaiting(txn.id);
    return answerOf(after);
  }

  /**
   * The PSP did not answer the create or the consumer payment. Not sent: nothing happened
   * there, the row is cancelled. Sent (the effect is unknown): the row is unknown and the
   * resolver asks. Either way the caller gets the PSP's error, naming the row.
   */
  private unsent(txn: QrTransaction, error: unknown, what: string): PosError {
    const sent = !(error instanceof PosError && (error.details as { sent?: unknown } | undefined)?.sent === false);
    const message = (error as Error).message;
    const reason = sent ? `no answer from the PSP ${what}: ${message}` : `the PSP was not reached ${what}: ${message}`;
    const now = this.move(txn.id, sent ? 'unknown' : 'cancelled', { reason });
    if (sent) this.resolver.schedule(txn.id);
    const code: ErrorCode = error instanceof PosError ? error.code : 'CODPOS_PSP_UNREACHABLE';
    return new PosError(code, `QR payment ${txn.id} is ${now.state}: ${reason}`, {
      cause: error,
      details: { journalId: txn.id, state: now.state, sent },
    });
  }

  private startWaiting(id: string): void {
    let wake: () => void = () => undefined;
    const waiter: Waiter = {
      wake: () => wake(),
      giveUp: undefined,
      stopping: false,
      done: Promise.resolve(),
    };
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    this.waiters.set(id, waiter);
    waiter.done = this.waitLoop(id, waiter, sleep)
      .catch((error: unknown) => this.log.error({ err: error, qrId: id }, 'the QR payment wait failed'))
      .finally(() => this.waiters.delete(id));
  }

  private async waitLoop(id: string, waiter: Waiter, sleep: (ms: number) => Promise<void>): Promise<void> {
    const qr = this.config.qr!;
    const deadline = Date.now() + qr.waitMs;
    const txn = this.journal().get(id)!;
    this.deps.events.publish('payment.qr', { id, state: 'waiting', amount: txn.amount, waybill: txn.waybill });
    for (;;) {
      if (this.journal().get(id)?.state !== 'pending' || waiter.stopping) return;
      const remaining = deadline - Date.now();
      if (waiter.giveUp !== undefined || remaining <= 0) break;
      await sleep(Math.min(qr.queryIntervalMs, remaining));
      if (this.journal().get(id)?.state !== 'pending' || waiter.stopping) return;
      if (waiter.giveUp !== undefined) break;
      try {
        const order = await this.psp().query(orderRefOf(id));
        this.resolverInstance?.pspAnswered();
        this.applyOrder(id, order, 'query');
      } catch (error) {
        this.log.warn({ err: error, qrId: id }, 'a QR payment status query failed; asking again');
      }
    }
    await this.giveUp(id, waiter.giveUp ?? QR_GIVE_UP_REASONS.timeout);
  }

  /** The wait is over: cancel at the PSP; its answer decides, no answer leaves the row unknown for the resolver. */
  private async giveUp(id: string, why: string): Promise<void> {
    let order: PspOrder;
    try {
      order = await this.psp().cancel(orderRefOf(id));
    } catch (error) {
      const txn = this.journal().get(id);
      if (txn?.state === 'pending')
        this.move(id, 'unknown', { reason: `${why}; the PSP did not answer the cancel: ${(error as Error).message}` });
      this.resolver.schedule(id);
      return;
    }
    this.resolverInstance?.pspAnswered();
    const after = this.applyOrder(id, order, 'cancel');
    if (after && (after.state === 'pending' || after.state === 'unknown')) {
      if (after.state === 'pending')
        this.move(id, 'unknown', { reason: `${why}; the PSP answered the cancel with ${order.status}` });
      this.resolver.schedule(id);
    } else if (after?.state === 'cancelled') {
      this.log.info({ qrId: id, reason: why }, 'QR payment given up');
    }
  }

  /**
   * One move of a row, with the back-end's record in the same commit, a log line and the
   * screen's event. `lateAfterGiveUp`: a payment that ends paid after the terminal gave up
   * (the event says so: the courier had been told it failed).
   */
  private move(
    id: string,
    to: QrState,
    input: { reason?: string; wallet?: string; pspOrderId?: string; refundedAmount?: number },
    flags: { lateAfterGiveUp?: boolean } = {},
  ): QrTransaction {
    const before = this.journal().get(id)!;
    const at = new Date().toISOString();
    const merged = { ...before, ...input, state: to };
    const after = this.journal().transition(id, to, {
      ...input,
      outbox: {
        stream: STREAMS.transaction,
        id: `qr-${id}-${to}`,
        payload: {
          method: 'qr',
          journalId: id,
          mode: before.mode,
          waybill: before.waybill,
          amount: before.amount,
          currency: before.currency,
          state: to,
          outcome: to,
          pspOrderId: merged.pspOrderId ?? null,
          wallet: merged.wallet ?? null,
          reason: input.reason ?? null,
          refundedAmount: input.refundedAmount ?? null,
          terminalId: this.config.terminal.id,
          at,
        },
      },
    });
    this.deps.recordQueued?.();
    const late = to === 'paid' && flags.lateAfterGiveUp === true;
    const log = to === 'unknown' || late ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
    log(
      { qrId: id, waybill: before.waybill, from: before.state, to, reason: input.reason ?? null },
      late ? 'QR payment paid after the terminal gave up' : `QR payment ${to}`,
    );
    this.deps.events.publish('payment.qr', {
      id,
      state: to,
      amount: after.amount,
      waybill: after.waybill,
      ...(after.wallet !== undefined ? { wallet: after.wallet } : {}),
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(to === 'refunded' ? { refundedAmount: after.refundedAmount } : {}),
      ...(late ? { lateAfterGiveUp: true } : {}),
    });
    if (to === 'paid' || to === 'refunded') void this.printReceiptOf(after, false);
    if (late && this.deps.deliveryRecorded?.(after.waybill) === true) void this.refundPaidTwice(after);
    return after;
  }

  /** Prints a receipt without holding anything up; a receipt that did not print is logged and reprinted on request. */
  private async printReceiptOf(txn: QrTransaction, reprint: boolean): Promise<boolean> {
    if (!this.deps.printReceipt) return false;
    let printed = false;
    let reason = 'no printer, or it cannot print now';
    try {
      printed = await this.deps.printReceipt(txn, { reprint });
    } catch (error) {
      reason = (error as Error).message;
    }
    if (printed) this.deps.events.publish('receipt.printed', { qrPaymentId: txn.id });
    else {
      this.log.warn({ qrId: txn.id, reason }, 'the QR payment receipt did not print; reprint it on request');
      this.deps.events.publish('receipt.held', { qrPaymentId: txn.id, reason });
    }
    return printed;
  }

  /** Prints a paid or refunded payment's receipt again (POST /v1/payments/qr/{id}/receipt). */
  async reprint(id: string): Promise<{ journalId: string; printed: boolean }> {
    const txn = this.existing(id);
    if (txn.state !== 'paid' && txn.state !== 'refunded')
      throw new PosError(
        'CODPOS_USAGE_NO_RECEIPT',
        `QR payment ${id} is ${txn.state}: only a paid or refunded one has a receipt`,
        {
          details: { journalId: id, state: txn.state },
        },
      );
    return { journalId: id, printed: await this.printReceiptOf(txn, true) };
  }

  /**
   * The wallet paid after the terminal gave up, and the courier has since recorded the delivery
   * collected another way (cash, card, another code): the consignee paid twice, so this payment
   * is refunded at once. If the PSP cannot refund now, the row stays paid, the log and the event
   * say a refund is owed, and the day report lists it among the payments no delivery used.
   */
  private async refundPaidTwice(txn: QrTransaction): Promise<void> {
    const why = `waybill ${txn.waybill} was already delivered and collected another way when this payment ended paid`;
    this.log.warn({ qrId: txn.id, waybill: txn.waybill }, `QR payment paid twice: refunding it (${why})`);
    try {
      const answer = await this.refund(txn.id, undefined, `paid twice: ${why}`);
      if (answer.refund.status === 'refunded') return;
      this.owedRefund(txn, `the PSP refused the refund: ${answer.refund.reason ?? 'no reason given'}`);
    } catch (error) {
      this.owedRefund(txn, (error as Error).message);
    }
  }

  private owedRefund(txn: QrTransaction, reason: string): void {
    this.log.error(
      { qrId: txn.id, waybill: txn.waybill, reason },
      'QR payment paid twice and not refunded: refund it by hand',
    );
    this.deps.events.publish('payment.qr.refund-owed', {
      id: txn.id,
      waybill: txn.waybill,
      amount: txn.amount,
      reason,
    });
  }

  /** A waybill a standing QR payment already paid takes no second one. */
  private refuseIfPaid(waybill: string): void {
    const paid = this.journal()
      .list({ waybill })
      .find((txn) => QR_STANDING_STATES.has(txn.state));
    if (paid)
      throw new PosError(
        'CODPOS_USAGE_QR_ALREADY_PAID',
        `waybill ${waybill} is already paid by QR payment ${paid.id} (${paid.amount}): refund it before another`,
        { details: { journalId: paid.id, waybill } },
      );
  }

  private ready(): { qr: QrConfig; psp: PspClient } {
    const psp = this.deps.psp();
    if (!this.config.qr || !psp || !this.resolverInstance) throw this.unavailable();
    return { qr: this.config.qr, psp };
  }

  private psp(): PspClient {
    return this.ready().psp;
  }

  private unavailable(): PosError {
    return new PosError(
      'CODPOS_DEVICE_QR_UNAVAILABLE',
      'QR payments are not available in this daemon (configure the qr and psp sections)',
    );
  }

  private existing(id: string): QrTransaction {
    const txn = this.journal().get(id);
    if (!txn) throw new PosError('CODPOS_USAGE_NO_SUCH_PAYMENT', `no QR payment with id ${id}`, { details: { id } });
    return txn;
  }

  private journal(): QrJournal {
    return this.deps.spool().qrJournal;
  }
}

function answerOf(txn: QrTransaction): QrPaymentAnswer {
  return {
    id: txn.id,
    mode: txn.mode,
    state: txn.state,
    amount: txn.amount,
    currency: txn.currency,
    waybill: txn.waybill,
    ...(txn.payload !== undefined ? { payload: txn.payload } : {}),
    ...(txn.wallet !== undefined ? { wallet: txn.wallet } : {}),
    ...(txn.reason !== undefined ? { reason: txn.reason } : {}),
  };
}

function checkAmount(amount: number, maxAmount: number | undefined): void {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new PosError('CODPOS_USAGE_AMOUNT', 'amount: expected a positive whole number of minor units (2500 = 25.00)');
  if (maxAmount !== undefined && maxAmount > 0 && amount > maxAmount)
    throw new PosError('CODPOS_USAGE_AMOUNT', `amount: ${amount} is above payments.maxAmount (${maxAmount})`);
}
