/**
 * The host link's top layer: the terminal's conversations with the acquirer, with
 * the reversal-first rule kept. An authorization whose answer never came (time-out,
 * or the link dropped after it left) may have been approved at the issuer; it is
 * reversed (0400, repeats as 0401) before any new financial request goes out, and
 * advices (0220/0221) of offline approvals follow the reversals. Both wait in the
 * spool outbox (streams `reversal` and `advice`) until the host answers them, so a
 * reboot does not lose one. STANs come from the spool's crash-safe counter: every new
 * message takes the next one (a reversal too; its DE90 names the original's), and a
 * repeat (0401, 0221) keeps the STAN of the message it repeats.
 *
 * Outcomes are data: `purchase` resolves with approved / declined / refer / retry.
 * Faults are errors: no answer is CODPOS_HOST_TIMEOUT (the reversal is already
 * queued), a reversal that cannot be delivered yet is CODPOS_HOST_REVERSAL_PENDING.
 */
import { PosError, isPosError } from '../../config/errors.js';
import {
  DE,
  buildAdvice,
  buildBatchUpload,
  buildCompletionAdvice,
  type BatchTransaction,
  buildNetworkRequest,
  buildPurchase,
  buildVoid,
  buildSettlement,
  readResponse,
  readSettlementResponse,
  type HostResponse,
  type IsoFields,
  type IsoMessage,
  type MessageContext,
  type NetworkAction,
  type OfflineApproval,
  type PurchaseRequest,
  type ReversalReason,
  type SettlementRequest,
  type SettlementResponse,
} from '../../emv/iso8583/index.js';
import { STREAMS, type Spool } from '../../spool/index.js';
import type { BeginInput } from '../../spool/journal.js';
import type { TcDelivery } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { outcomeUnknown, type HostExchangeObserver, type HostMux } from './mux.js';
import { KSN_FIELD } from './fields.js';
import { clearingOf, readClearing, writeClearing } from './clearing.js';
import {
  HeldReversals,
  messageOfRecord,
  outboxRecordOf,
  withCardDataIfSealable,
  type BeginRow,
  type HeldRequest,
  type QueuedMessage,
  type QueuedRecord,
  type ReversalDetail,
} from './held-reversals.js';

export interface HostClientOptions {
  mux: HostMux;
  spool: Spool;
  /** The terminal's identity and clock; the STAN comes from the spool. */
  context: Omit<MessageContext, 'nextStan'>;
  /** How long to wait for each answer (`host.responseTimeoutMs`). */
  responseTimeoutMs: number;
  log?: Logger;
  /** Who holds the outbox leases, for `codpos spool list`. */
  leaseOwner?: string;
  /**
   * The STAN a 0400 carries (`host.reversalStan`). `new` (default): a new message, the next
   * STAN from the spool counter, DE90 naming the original. `original`: the STAN of the
   * request it reverses, for hosts whose spec matches reversals on DE11.
   */
  reversalStan?: 'new' | 'original';
  /**
   * What a partial approval (response 10, a smaller amount in the answer's DE4) becomes:
   * `accept` (default): approved for the amount in DE4, the rest still due; `reverse`: the
   * terminal does not take partial approvals, so it is reversed at once and declined.
   */
  partialApprovals?: 'accept' | 'reverse';
  /**
   * Where the card's final chip data of an online approval goes (`host.tcDelivery`): `advice`
   * (default) queues a 0220 completion advice with the TC and 9F5B when the card completes;
   * `batch-upload` keeps it in the clearing data for the 0320 only.
   */
  tcDelivery?: TcDelivery;
}

/** A purchase as the payment flow gives it: the ISO request plus the PIN block's KSN. */
export interface PurchaseInput extends PurchaseRequest {
  /** DUKPT KSN of the PIN block, hex (sent in DE62). */
  ksn?: string;
  /**
   * The journal row of this payment, to begin in the same commit that holds its reversal
   * (so no power cut can leave a row with nothing to undo it): its STAN goes in DE11. A
   * payment blocked before it could leave (a reversal the host does not acknowledge) gets
   * its row too, declined "not sent".
   */
  begin?: JournalEntry;
  /** Told the journal row as soon as it is begun (before the request leaves). */
  onJournaled?: (row: { id: string; stan: number }) => void;
  /**
   * Begins the row inside the commit that holds the reversal (default: the spool's journal).
   * A caller that records more in that same commit (the payment service names the row on the
   * request's idempotency key) passes its own.
   */
  beginRow?: BeginRow;
  /**
   * An existing journal row (from `spool.journal.begin`) instead of `begin`: its STAN is
   * used, and when the answer never comes the row moves to `reversal_pending` in the same
   * commit that queues the reversal.
   */
  journal?: { id: string; stan: number };
  /**
   * The card still has to complete the payment (chip: the second GENERATE AC). The held
   * reversal then stays held after an approval until `complete()` (or `reverse()`), so a
   * power cut before the card answers reverses the authorization at the next start.
   */
  awaitCompletion?: boolean;
}

/** What the journal row of a purchase is begun with (card data is sealed by the journal). */
export type JournalEntry = Pick<BeginInput, 'amount' | 'currency' | 'pan' | 'waybill'>;

export interface PurchaseResult extends HostResponse {
  /** The request as sent (for a later void or reversal). */
  request: IsoMessage;
  /** The journal row (begun here from `begin`, or the one given as `journal`). */
  journalId?: string;
  /**
   * What the issuer approved: the request's amount, or the smaller amount of a partial
   * approval (response 10 with DE4 below the request's).
   */
  approvedAmount?: number;
  /** The held reversal, while an approval awaits the card's completion (`awaitCompletion`). */
  heldReversalId?: string;
}

/** Why a reversal is sent: words for the journal and the log, the code for DE25, and what the card made of it. */
export interface ReverseOptions {
  journal?: { id: string };
  reason?: string;
  /** DE25's reason (default `card-declined`: the issuer approved, the terminal does not complete). */
  why?: ReversalReason;
  /** The card's final chip data (second GENERATE AC), when it answered: DE55 of the 0400. */
  finalIccData?: Buffer;
}

export class HostClient {
  private readonly context: MessageContext;
  private readonly held: HeldReversals;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HostClientOptions) {
    this.context = { ...options.context, nextStan: () => options.spool.journal.counters.next('stan') };
    this.held = new HeldReversals({
      spool: options.spool,
      context: this.context,
      log: options.log,
      reversalStan: options.reversalStan,
    });
  }

  /** Calls `observer` after each exchange with the acquirer (metrics); returns the function that stops it. */
  observeExchanges(observer: HostExchangeObserver): () => void {
    return this.options.mux.observe(observer);
  }

  /** 0800 sign-on, sign-off, echo test. Network management does not wait for reversals. */
  async network(action: NetworkAction): Promise<HostResponse> {
    const request = buildNetworkRequest(action, this.context);
    return readResponse(await this.options.mux.request(request, this.options.responseTimeoutMs), request);
  }

  /**
   * 0200 purchase, after every pending reversal (sent now, whatever their retry time: a
   * payment needs the link) and advice. The journal row (`begin`) and the held reversal are
   * written in one commit before the request leaves. No answer: the reversal is queued (and
   * tried at once) and the time-out or disconnected PosError is thrown.
   */
  purchase(input: PurchaseInput): Promise<PurchaseResult> {
    return this.serialized(async () => {
      const { ksn, journal, begin, onJournaled, awaitCompletion, beginRow, ...purchase } = input;
      try {
        await this.flushPending({ urgent: true });
      } catch (error) {
        this.declineNotSent(begin, journal?.id, onJournaled, error, beginRow);
        throw error;
      }
      let held: HeldRequest;
      try {
        held = this.held.hold(begin, journal, beginRow, (context) => {
          const request = buildPurchase(purchase, context);
          if (ksn !== undefined && input.pinBlock !== undefined) request.fields[KSN_FIELD] = ksn.toUpperCase();
          return request;
        });
      } catch (error) {
        // Nothing left: with `begin` the commit rolled back (no row); an existing row is declined.
        this.markNotSent(journal?.id, error);
        throw error;
      }
      if (begin && held.row) onJournaled?.(held.row);
      const result = await this.exchangeHeld(held.request, held.row?.id, held.heldReversalId, 'purchase');
      return this.recordAnswer(result, held.row?.id, held.heldReversalId, awaitCompletion ?? false);
    });
  }

  /**
   * Voids an approved purchase, the card not present: a 0200 with processing code 02xxxx,
   * the original (approved) amount, RRN and approval code, and DE90 naming it, built from the
   * journal row's clearing data. A row of kind `void` records it (its answer as for a
   * purchase), begun in the commit that holds its reversal; when the void is approved the
   * original row becomes `voided` in the same commit. No answer: the void is reversed.
   */
  voidPayment(originalId: string): Promise<{ journalId: string; result: PurchaseResult }> {
    return this.serialized(async () => {
      const { journal } = this.options.spool;
      const original = journal.get(originalId);
      if (!original) throw new PosError('CODPOS_USAGE_VOID', `no payment ${originalId} in the journal`);
      if (original.kind !== 'purchase' || (original.state !== 'approved' && original.state !== 'advised')) {
        throw new PosError(
          'CODPOS_USAGE_VOID',
          `payment ${originalId} is a ${original.kind} in state ${original.state}: only an approved purchase not yet settled can be voided`,
        );
      }
      const clearing = readClearing(journal, originalId);
      const pan = journal.openPan(originalId);
      const c = clearing?.fields;
      if (!c || !clearing || !pan || !c.processingCode || !c.stan || !c.transmission)
        throw new PosError('CODPOS_USAGE_VOID', `payment ${originalId} has no clearing data to void it from`);
      const begin: BeginInput = {
        kind: 'void',
        amount: original.approvedAmount,
        currency: original.currency,
        pan,
        originalId,
      };
      try {
        await this.flushPending({ urgent: true });
      } catch (error) {
        this.declineNotSent(begin, undefined, undefined, error);
        throw error;
      }
      const fields: IsoFields = {
        [DE.PAN]: pan,
        [DE.PROCESSING_CODE]: c.processingCode,
        [DE.AMOUNT]: String(original.approvedAmount).padStart(12, '0'),
        [DE.TRANSMISSION]: c.transmission,
        [DE.STAN]: c.stan,
      };
      if (c.localTime) fields[DE.LOCAL_TIME] = c.localTime;
      if (c.localDate) fields[DE.LOCAL_DATE] = c.localDate;
      if (clearing.card.expiry) fields[DE.EXPIRY] = clearing.card.expiry;
      if (c.posEntryMode) fields[DE.POS_ENTRY_MODE] = c.posEntryMode;
      if (c.panSequenceNumber) fields[DE.PAN_SEQUENCE] = c.panSequenceNumber;
      if (c.posConditionCode) fields[DE.POS_CONDITION] = c.posConditionCode;
      const held = this.held.hold(begin, undefined, undefined, (context) =>
        buildVoid({ request: { mti: c.mti, fields }, rrn: c.rrn ?? original.rrn, authCode: c.authCode }, context),
      );
      const row = held.row!;
      const result = await this.exchangeHeld(held.request, row.id, held.heldReversalId, 'void');
      let answered: PurchaseResult | undefined;
      this.options.spool.db.transaction(() => {
        answered = this.recordAnswer(result, row.id, held.heldReversalId, false);
        if (answered.outcome === 'approved')
          journal.transition(originalId, 'voided', { reason: `voided by ${row.id}` });
      })();
      return { journalId: row.id, result: answered! };
    });
  }

  /**
   * The card completed an approved payment (chip: it answered the second GENERATE AC with a
   * TC): in one commit the held reversal is retired and the final chip data (the TC, the TVR
   * after issuer authentication, the issuer script results) replaces the request's in the
   * clearing data a void or batch upload re-sends. Until this commit a power cut leaves the
   * authorization to be reversed at the next start.
   */
  complete(result: PurchaseResult, options: { finalIccData?: Buffer } = {}): void {
    const { db, journal } = this.options.spool;
    let queuedAdvice = false;
    db.transaction(() => {
      if (result.journalId !== undefined && options.finalIccData !== undefined) {
        const clearing = readClearing(journal, result.journalId);
        if (clearing)
          writeClearing(journal, result.journalId, {
            ...clearing,
            card: { ...clearing.card, iccData: options.finalIccData },
          });
      }
      if (
        options.finalIccData !== undefined &&
        (this.options.tcDelivery ?? 'advice') === 'advice' &&
        result.authCode !== undefined
      ) {
        // The TC and the issuer script results reach the acquirer in a completion advice (DE90 names the 0200).
        const advice = buildCompletionAdvice(
          result.request,
          {
            finalIccData: options.finalIccData,
            authCode: result.authCode,
            responseCode: result.responseCode,
            rrn: result.rrn ?? String(result.request.fields[DE.RRN] ?? ''),
            ...(result.approvedAmount !== undefined ? { approvedAmount: result.approvedAmount } : {}),
          },
          this.context,
        );
        this.held.enqueueNow(outboxRecordOf(STREAMS.advice, advice));
        queuedAdvice = true;
      }
      if (result.heldReversalId !== undefined) this.held.retire(result.heldReversalId);
    })();
    result.heldReversalId = undefined;
    // Sent now if the link is free, else by the background sender; never in the courier's way.
    if (queuedAdvice) void this.sendPending().catch(() => undefined);
  }

  /**
   * A request that cannot leave (a reversal the host does not acknowledge, no link): its
   * row is journaled declined "not sent", so the journal explains the payment the courier
   * was refused. A spool that cannot even record that leaves the error as it was.
   */
  private declineNotSent(
    begin: BeginInput | undefined,
    existingId: string | undefined,
    onJournaled: PurchaseInput['onJournaled'],
    error: unknown,
    beginRow?: PurchaseInput['beginRow'],
  ): void {
    if (!begin) {
      this.markNotSent(existingId, error);
      return;
    }
    try {
      const row = this.options.spool.db.transaction(() => {
        const txn = (beginRow ?? ((entry: BeginInput) => this.options.spool.journal.begin(entry)))(begin);
        return this.options.spool.journal.transition(txn.id, 'declined', {
          reason: `not sent: ${(error as Error).message}`,
        });
      })();
      onJournaled?.({ id: row.id, stan: row.stan });
    } catch (journalError) {
      this.options.log?.error({ err: journalError }, 'a payment that could not be sent could not be journaled either');
    }
  }

  /**
   * Sends a financial request whose reversal is held (`heldReversalId`) and reads its answer. No
   * answer, or one without a readable response code (which says nothing about the issuer's
   * decision): the request is reversed (queued, its journal row to `reversal_pending`, tried
   * at once) and the error thrown names the reversal. The request never left: the held
   * reversal is retired and the row declined "not sent".
   */
  private async exchangeHeld(
    request: IsoMessage,
    journalId: string | undefined,
    heldReversalId: string,
    what: string,
  ): Promise<PurchaseResult> {
    let response: IsoMessage;
    try {
      response = await this.options.mux.request(request, this.options.responseTimeoutMs);
    } catch (error) {
      if (outcomeUnknown(error)) {
        const id = this.held.queue(request, journalId, (error as PosError).message, { why: 'timeout' }, heldReversalId);
        this.options.log?.warn(
          { stan: request.fields[DE.STAN], reversal: id, code: (error as PosError).code },
          `no answer to a ${what}; reversal queued`,
        );
        // Try it now; if the host is still away it waits in the spool for the next request or the sender.
        await this.flushPending().catch(() => undefined);
        throw new PosError((error as PosError).code, (error as PosError).message, {
          disconnected: (error as PosError).disconnected,
          cause: error,
          details: { ...(error as PosError).details, reversalId: id },
        });
      }
      this.options.spool.db.transaction(() => {
        this.held.retire(heldReversalId);
        this.markNotSent(journalId, error);
      })();
      throw error;
    }
    try {
      const answer = readResponse(response, request);
      const result: PurchaseResult = { ...answer, request, ...(journalId !== undefined ? { journalId } : {}) };
      if (answer.outcome === 'approved')
        result.approvedAmount = approvedAmountOf(answer.responseCode, response, request);
      return result;
    } catch (error) {
      const id = this.held.queue(
        request,
        journalId,
        (error as Error).message,
        { why: 'unreadable-response' },
        heldReversalId,
      );
      await this.flushPending().catch(() => undefined);
      throw new PosError(
        'CODPOS_HOST_BAD_RESPONSE',
        `the acquirer's ${response.mti} to STAN ${String(request.fields[DE.STAN])} cannot be read (${(error as Error).message}); the ${what} is being reversed`,
        {
          cause: error,
          details: { mti: response.mti, reversalId: id },
        },
      );
    }
  }

  /**
   * At start-up, before any request. The reversals held for authorizations the terminal did
   * not finish when it stopped (power cut, crash) are queued to be sent, their journal rows
   * moving to `reversal_pending` in the same commit: a row still `pending` (the request was
   * in flight), and a row `approved` whose card never completed the payment (the held
   * reversal is retired only by the card's completion). A held reversal whose row ended
   * otherwise is only retired. Then no row is left `pending`: one without a held reversal
   * never left the terminal, and is declined "not sent". Resolves with how many reversals
   * were queued.
   */
  async recoverInterrupted(): Promise<number> {
    const { journal } = this.options.spool;
    const queued = this.held.recover();
    for (const row of journal.list({ state: 'pending', limit: 100_000 })) {
      journal.transition(row.id, 'declined', { reason: 'not sent: the terminal stopped before the request left' });
      this.options.log?.warn(
        { journalId: row.id, stan: row.stan },
        'a payment journaled but never sent when the terminal stopped is declined "not sent"',
      );
    }
    return queued;
  }

  /**
   * Reverses an authorization the issuer approved that the terminal does not complete: the
   * card declined at the second GENERATE AC (e.g. the issuer authentication failed), or the
   * payment was abandoned after the approval. Like a time-out's reversal, the 0400 is queued
   * in the spool (with the journal row, when given, moved to `reversal_pending` in the same
   * commit) and tried at once; resolves with its outbox id whether or not the host has it
   * yet: the background sender and the next request keep trying.
   */
  reverse(purchase: PurchaseResult, options: ReverseOptions = {}): Promise<string> {
    return this.serialized(async () => {
      const journalId = options.journal?.id ?? purchase.journalId;
      // The approval's held reversal (awaitCompletion) is retired in the commit that queues this one.
      const detail: ReversalDetail = {
        why: options.why ?? 'card-declined',
        ...(purchase.authCode !== undefined ? { authCode: purchase.authCode } : {}),
        ...(options.finalIccData ? { iccData: options.finalIccData } : {}),
      };
      const id = this.held.queue(
        purchase.request,
        journalId,
        options.reason ?? 'approved by the issuer, not completed at the terminal',
        detail,
        purchase.heldReversalId,
      );
      purchase.heldReversalId = undefined;
      await this.flushPending().catch((error: unknown) => {
        if (!(isPosError(error) && error.area === 'HOST')) throw error;
      });
      return id;
    });
  }

  /**
   * An offline approval on the journal: row `journalId` (begun with `offline: true`) moves to
   * `offline_approved` in the commit that queues its 0220 advice, which then goes out after
   * pending reversals (tried now, kept in the spool if the host is away). Resolves with the
   * advice's outbox id.
   */
  async recordOfflineApproval(journalId: string, approval: OfflineApproval): Promise<string> {
    const advice = buildAdvice(approval, this.context);
    const record = outboxRecordOf(STREAMS.advice, advice);
    record.payload.journalId = journalId;
    const journal = this.options.spool.journal;
    const write = (r: QueuedRecord) =>
      this.options.spool.db.transaction(() => {
        journal.transition(journalId, 'offline_approved', {
          responseCode: approval.responseCode ?? '00',
          authCode: approval.authCode,
          outbox: r,
        });
        writeClearing(
          journal,
          journalId,
          clearingOf(advice, { responseCode: approval.responseCode ?? '00', authCode: approval.authCode }),
        );
      })();
    withCardDataIfSealable(record, this.options.log, write);
    await this.serialized(() => this.flushPending()).catch(() => undefined);
    return record.id;
  }

  /** Queues a 0220 advice of an offline approval; it goes after pending reversals. */
  async advise(approval: OfflineApproval): Promise<string> {
    const message = buildAdvice(approval, this.context);
    const id = await this.held.enqueue(outboxRecordOf(STREAMS.advice, message));
    await this.serialized(() => this.flushPending()).catch(() => undefined);
    return id;
  }

  /** 0500 settlement, after every pending reversal and advice. */
  settle(request: SettlementRequest): Promise<SettlementResponse> {
    return this.serialized(async () => {
      await this.flushPending({ urgent: true });
      const message = buildSettlement(request, this.context);
      return readSettlementResponse(await this.options.mux.request(message, this.options.responseTimeoutMs), message);
    });
  }

  /**
   * The background sender's turn: queued reversals and advices, between requests (never
   * beside one). Resolves with how many the host acknowledged; never throws for a host fault.
   */
  sendPending(): Promise<number> {
    return this.serialized(async () => {
      try {
        return await this.flushPending();
      } catch (error) {
        if (isPosError(error) && error.area === 'HOST') return 0;
        throw error;
      }
    });
  }

  /**
   * Reversals not yet acknowledged: ready, waiting for a retry, leased, and dead-lettered
   * ones (a reversal the dialect cannot encode, say) — a dead reversal still blocks new
   * financial requests until a technician revives it (`codpos spool retry`).
   */
  pendingReversals(): number {
    return this.held.pending().waiting;
  }

  /**
   * Sends queued reversals, then advices, in order, each until the host answers it.
   * `urgent` (a financial request is waiting for the link): every pending reversal is sent
   * now, whatever its retry time — only a host that does not answer it blocks the request.
   * Advices go when their retry time has come. Throws CODPOS_HOST_REVERSAL_PENDING when a
   * reversal is still unacknowledged (the host did not answer it, or its retry time has not
   * come and this flush is not urgent).
   */
  async flushPending(options: { urgent?: boolean } = {}): Promise<number> {
    const outbox = this.options.spool.outbox;
    const lease = {
      limit: 1,
      leaseMs: this.options.responseTimeoutMs * 2,
      owner: this.options.leaseOwner ?? 'host-link',
    };
    let sent = 0;
    for (;;) {
      let [record] = outbox.lease<QueuedMessage>(STREAMS.reversal, {
        ...lease,
        ignoreBackoff: options.urgent ?? false,
      });
      if (record === undefined) [record] = outbox.lease<QueuedMessage>(STREAMS.advice, lease);
      if (record === undefined) break;
      const message = messageOfRecord(record);
      let answer: IsoMessage;
      try {
        answer = await this.options.mux.request(message, this.options.responseTimeoutMs);
      } catch (error) {
        if (isPosError(error) && error.area === 'HOST') {
          outbox.fail(record.id, error.message);
          break;
        }
        // The configured dialect cannot encode it: no retry will, keep it dead for the technician.
        outbox.fail(record.id, (error as Error).message, { permanent: isPosError(error) && error.area === 'ISO8583' });
        throw error;
      }
      let response: HostResponse;
      try {
        response = readResponse(answer, message);
      } catch (error) {
        // An answer we cannot read is not an acknowledgement: try again later.
        outbox.fail(record.id, `unreadable ${answer.mti}: ${(error as Error).message}`);
        break;
      }
      if (response.outcome === 'retry') {
        outbox.fail(record.id, `host answered ${response.responseCode} (retry)`);
        break;
      }
      outbox.ack(record.id);
      if (record.payload.journalId !== undefined) this.markAcknowledged(record.payload.journalId, message, response);
      sent++;
    }
    const { waiting, dead } = this.held.pending();
    if (waiting > 0) {
      const why =
        dead > 0 ? ` (${dead} dead-lettered: see codpos spool list --stream reversal, then codpos spool retry)` : '';
      throw new PosError(
        'CODPOS_HOST_REVERSAL_PENDING',
        `${waiting} reversal(s) not yet acknowledged by the acquirer${why}; no new request goes out before them`,
        { disconnected: true, details: { reversals: waiting, dead } },
      );
    }
    return sent;
  }

  /**
   * The journal row of an acknowledged reversal becomes `reversed`; of an acknowledged
   * advice, `advised`. After the outbox ack, in its own commit: a power cut between the two
   * leaves the row `reversal_pending` or `offline_approved` (seen in `codpos spool`), never a
   * message sent twice.
   */
  private markAcknowledged(journalId: string, message: IsoMessage, response: HostResponse): void {
    const journal = this.options.spool.journal;
    const state = journal.get(journalId)?.state;
    if (state === 'reversal_pending') {
      journal.transition(journalId, 'reversed', {
        reason: `${message.mti} answered ${response.responseCode}`,
        responseCode: response.responseCode,
      });
    } else if (state === 'offline_approved' && message.mti.startsWith('022')) {
      journal.transition(journalId, 'advised', { reason: `${message.mti} answered ${response.responseCode}` });
    }
  }

  /**
   * A purchase that never left (a reversal still pending, no link, a request the dialect
   * cannot encode): its journal row, if any, is declined with the reason, not left `pending`.
   */
  private markNotSent(journalId: string | undefined, error: unknown): void {
    if (journalId === undefined || this.options.spool.journal.get(journalId)?.state !== 'pending') return;
    this.options.spool.journal.transition(journalId, 'declined', { reason: `not sent: ${(error as Error).message}` });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * The issuer's answer, recorded in one commit: the journal row (when there is one) moves
   * to approved (with a partial approval's amount) or declined, and the held reversal is
   * retired — unless an approval still awaits the card's completion (`awaitCompletion`).
   * A partial approval on a terminal that does not take them is reversed instead.
   */
  private recordAnswer(
    result: PurchaseResult,
    journalId: string | undefined,
    heldReversalId: string,
    awaitCompletion: boolean,
  ): PurchaseResult {
    const { journal, db } = this.options.spool;
    const requested = Number(result.request.fields[DE.AMOUNT] ?? 0);
    const partial =
      result.outcome === 'approved' && result.approvedAmount !== undefined && result.approvedAmount < requested;
    if (partial && this.options.partialApprovals === 'reverse') {
      const reason = `partial approval (${result.approvedAmount} of ${requested}) not accepted by this terminal`;
      const reversalId = this.held.queue(
        result.request,
        journalId,
        reason,
        { why: 'partial-not-accepted', ...(result.authCode !== undefined ? { authCode: result.authCode } : {}) },
        heldReversalId,
        result.responseCode,
      );
      this.options.log?.warn(
        { stan: result.request.fields[DE.STAN], reversal: reversalId, journalId, responseCode: result.responseCode },
        `${reason}; reversal queued`,
      );
      const { approvedAmount: _approved, heldReversalId: _held, ...rest } = result;
      return { ...rest, outcome: 'declined' };
    }
    db.transaction(() => {
      if (journalId !== undefined) {
        journal.transition(journalId, result.outcome === 'approved' ? 'approved' : 'declined', {
          responseCode: result.responseCode,
          ...(result.authCode !== undefined ? { authCode: result.authCode } : {}),
          ...(partial ? { approvedAmount: result.approvedAmount! } : {}),
        });
        if (result.outcome === 'approved')
          writeClearing(
            journal,
            journalId,
            clearingOf(result.request, {
              responseCode: result.responseCode,
              authCode: result.authCode ?? '',
              rrn: result.rrn,
            }),
          );
      }
      if (!(result.outcome === 'approved' && awaitCompletion)) this.held.retire(heldReversalId);
    })();
    return result.outcome === 'approved' && awaitCompletion ? { ...result, heldReversalId } : result;
  }

  /**
   * End of day after a settlement out of balance: one 0320 per transaction of the batch
   * (the last one marked), after every pending reversal and advice; each must be answered
   * 00. Then the caller settles again with `afterUpload`.
   */
  uploadBatch(transactions: readonly BatchTransaction[]): Promise<number> {
    return this.serialized(async () => {
      await this.flushPending({ urgent: true });
      let sent = 0;
      for (const [i, transaction] of transactions.entries()) {
        const message = buildBatchUpload(transaction, this.context, { last: i === transactions.length - 1 });
        const response = readResponse(await this.options.mux.request(message, this.options.responseTimeoutMs), message);
        if (response.responseCode !== '00') {
          throw new PosError(
            'CODPOS_HOST_BATCH_UPLOAD',
            `the acquirer refused the batch upload of STAN ${transaction.stan} (${response.responseCode})`,
            { details: { responseCode: response.responseCode } },
          );
        }
        sent++;
      }
      return sent;
    });
  }
}

/**
 * The amount an approval is for: the request's, or for a partial approval (response 10) the
 * smaller amount the answer's DE4 carries. A partial approval that names no amount, or more
 * than was asked, cannot be booked: it is an unreadable answer (the request is reversed).
 */
function approvedAmountOf(responseCode: string, response: IsoMessage, request: IsoMessage): number {
  const requested = Number(request.fields[DE.AMOUNT] ?? 0);
  if (responseCode !== '10') return requested;
  const text = response.fields[DE.AMOUNT];
  const approved = typeof text === 'string' && /^[0-9]{1,12}$/.test(text) ? Number(text) : NaN;
  if (!(approved > 0 && approved <= requested)) {
    throw new PosError(
      'CODPOS_HOST_BAD_RESPONSE',
      `a partial approval (10) must carry the approved amount in DE4, above 0 and at most the ${requested} asked for; it carries ${typeof text === 'string' ? text : 'none'}`,
      { details: { field: String(DE.AMOUNT) } },
    );
  }
  return approved;
}
