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
import { createHash, randomUUID } from 'node:crypto';
import { PosError, isPosError } from '../../config/errors.js';
import {
  DE,
  buildAdvice,
  buildBatchUpload,
  buildCompletionAdvice,
  type BatchTransaction,
  buildNetworkRequest,
  buildPurchase,
  buildReversal,
  buildVoid,
  buildSettlement,
  nextStan,
  readResponse,
  reversalReasonCode,
  readSettlementResponse,
  repeatMti,
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
import { decodeTlv, encodeTlv, findTag } from '../../emv/tlv/index.js';
import { STREAMS, type OutboxRecord, type Spool } from '../../spool/index.js';
import type { BeginInput } from '../../spool/journal.js';
import type { TcDelivery } from '../../config/schema.js';
import { toSpoolError } from '../../spool/database.js';
import type { HostAnswer, OnlineRequest } from '../../emv/kernel/index.js';
import type { Logger } from '../log.js';
import { outcomeUnknown, type HostExchangeObserver, type HostMux } from './mux.js';
import { KSN_FIELD } from './fields.js';

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
  beginRow?: (entry: BeginInput) => { id: string; stan: number };
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
  standbyId?: string;
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

/** What a queued reversal says beyond the original: DE25's reason, DE38 of an approval it undoes, the final DE55. */
interface ReversalDetail {
  why: ReversalReason;
  authCode?: string;
  iccData?: Buffer;
}

/** What a queued reversal or advice keeps in clear; the PAN and chip data are sealed. */
export interface QueuedMessage {
  mti: string;
  fields: Record<string, string>;
  /** The journal row the message is about: a reversal's moves to `reversed`, an advice's to `advised`, when the host acknowledges. */
  journalId?: string;
}
export interface QueuedCardData {
  pan?: string;
  /** DE55 as hex. Not sensitive authentication data (PCI DSS), but card data: sealed. */
  chipData?: string;
}

/** Data elements never written to the outbox clear payload. */
const SEALED_FIELDS = new Set<number>([DE.PAN, DE.ICC_DATA]);
/** Data elements never queued at all (sensitive authentication data). */
const NEVER_QUEUED = new Set<number>([DE.TRACK2, 45, DE.PIN_BLOCK, KSN_FIELD]);

export class HostClient {
  private readonly context: MessageContext;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HostClientOptions) {
    this.context = { ...options.context, nextStan: () => options.spool.journal.counters.next('stan') };
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
        held = this.holdRequest(begin, journal, beginRow, (context) => {
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
      const result = await this.exchangeHeld(held.request, held.row?.id, held.standbyId, 'purchase');
      return this.recordAnswer(result, held.row?.id, held.standbyId, awaitCompletion ?? false);
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
        throw new PosError('CODPOS_USAGE_VOID', `payment ${originalId} is a ${original.kind} in state ${original.state}: only an approved purchase not yet settled can be voided`);
      }
      const clearing = journal.clearingOf(originalId);
      const pan = journal.openPan(originalId);
      const c = clearing?.clear;
      if (!c || !pan || !c.processingCode || !c.stan || !c.transmission) throw new PosError('CODPOS_USAGE_VOID', `payment ${originalId} has no clearing data to void it from`);
      const begin: BeginInput = { kind: 'void', amount: original.approvedAmount, currency: original.currency, pan, originalId };
      try {
        await this.flushPending({ urgent: true });
      } catch (error) {
        this.declineNotSent(begin, undefined, undefined, error);
        throw error;
      }
      const fields: IsoFields = { [DE.PAN]: pan, [DE.PROCESSING_CODE]: c.processingCode, [DE.AMOUNT]: String(original.approvedAmount).padStart(12, '0'), [DE.TRANSMISSION]: c.transmission, [DE.STAN]: c.stan };
      if (c.localTime) fields[DE.LOCAL_TIME] = c.localTime;
      if (c.localDate) fields[DE.LOCAL_DATE] = c.localDate;
      if (clearing.sealed.expiry) fields[DE.EXPIRY] = clearing.sealed.expiry;
      if (c.posEntryMode) fields[DE.POS_ENTRY_MODE] = c.posEntryMode;
      if (c.panSequenceNumber) fields[DE.PAN_SEQUENCE] = c.panSequenceNumber;
      if (c.posConditionCode) fields[DE.POS_CONDITION] = c.posConditionCode;
      const held = this.holdRequest(begin, undefined, undefined, (context) =>
        buildVoid({ request: { mti: c.mti ?? '0200', fields }, rrn: c.rrn ?? original.rrn, authCode: c.authCode ?? original.authCode ?? '' }, context),
      );
      const row = held.row!;
      const result = await this.exchangeHeld(held.request, row.id, held.standbyId, 'void');
      let answered: PurchaseResult | undefined;
      this.options.spool.db.transaction(() => {
        answered = this.recordAnswer(result, row.id, held.standbyId, false);
        if (answered.outcome === 'approved') journal.transition(originalId, 'voided', { reason: `voided by ${row.id}` });
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
    const { db, journal, outbox } = this.options.spool;
    let queuedAdvice = false;
    db.transaction(() => {
      if (result.journalId !== undefined && options.finalIccData !== undefined) {
        const clearing = journal.clearingOf(result.journalId);
        if (clearing) journal.recordClearing(result.journalId, clearing.clear, { ...clearing.sealed, iccData: options.finalIccData.toString('hex') });
      }
      if (options.finalIccData !== undefined && (this.options.tcDelivery ?? 'advice') === 'advice' && result.authCode !== undefined) {
        // The TC and the issuer script results reach the acquirer in a completion advice (DE90 names the 0200).
        const advice = buildCompletionAdvice(
          result.request,
          { finalIccData: options.finalIccData, authCode: result.authCode, responseCode: result.responseCode, rrn: result.rrn ?? String(result.request.fields[DE.RRN] ?? ''), ...(result.approvedAmount !== undefined ? { approvedAmount: result.approvedAmount } : {}) },
          this.context,
        );
        this.enqueueNow(outboxRecordOf(STREAMS.advice, advice));
        queuedAdvice = true;
      }
      if (result.standbyId !== undefined) outbox.ack(result.standbyId);
    })();
    result.standbyId = undefined;
    // Sent now if the link is free, else by the background sender; never in the courier's way.
    if (queuedAdvice) void this.sendPending().catch(() => undefined);
  }

  /**
   * A request held and journaled in one commit: the journal row (begun from `begin`, or the
   * existing `row`), the request built with the row's STAN, and its reversal on the standby
   * stream. A power cut after this commit leaves a row and the reversal that undoes it;
   * before it, nothing.
   */
  private holdRequest(begin: BeginInput | undefined, existing: { id: string; stan: number } | undefined, beginRow: PurchaseInput['beginRow'], build: (context: MessageContext) => IsoMessage): HeldRequest {
    const { db, journal } = this.options.spool;
    try {
      return db.transaction((): HeldRequest => {
        const row = begin ? (beginRow ?? ((entry: BeginInput) => journal.begin(entry)))(begin) : existing;
        const request = build(row ? { ...this.context, nextStan: () => row.stan } : this.context);
        const standby = outboxRecordOf(STREAMS.reversalStandby, buildReversal(request, this.context));
        if (row) standby.payload.journalId = row.id;
        return { request, standbyId: this.enqueueNow(standby), ...(row ? { row: { id: row.id, stan: row.stan } } : {}) };
      })();
    } catch (error) {
      if (error instanceof PosError) throw error;
      const known = toSpoolError(error, 'journaling a payment with its held reversal');
      if (known instanceof PosError) throw known;
      throw new PosError('CODPOS_SPOOL_WRITE', `the payment could not be journaled with its held reversal (${(error as Error).message}); nothing was sent`, { cause: error });
    }
  }

  /**
   * A request that cannot leave (a reversal the host does not acknowledge, no link): its
   * row is journaled declined "not sent", so the journal explains the payment the courier
   * was refused. A spool that cannot even record that leaves the error as it was.
   */
  private declineNotSent(begin: BeginInput | undefined, existingId: string | undefined, onJournaled: PurchaseInput['onJournaled'], error: unknown, beginRow?: PurchaseInput['beginRow']): void {
    if (!begin) {
      this.markNotSent(existingId, error);
      return;
    }
    try {
      const row = this.options.spool.db.transaction(() => {
        const txn = (beginRow ?? ((entry: BeginInput) => this.options.spool.journal.begin(entry)))(begin);
        return this.options.spool.journal.transition(txn.id, 'declined', { reason: `not sent: ${(error as Error).message}` });
      })();
      onJournaled?.({ id: row.id, stan: row.stan });
    } catch (journalError) {
      this.options.log?.error({ err: journalError }, 'a payment that could not be sent could not be journaled either');
    }
  }

  /**
   * Sends a financial request whose reversal is held (`standbyId`) and reads its answer. No
   * answer, or one without a readable response code (which says nothing about the issuer's
   * decision): the request is reversed (queued, its journal row to `reversal_pending`, tried
   * at once) and the error thrown names the reversal. The request never left: the held
   * reversal is retired and the row declined "not sent".
   */
  private async exchangeHeld(request: IsoMessage, journalId: string | undefined, standbyId: string, what: string): Promise<PurchaseResult> {
    let response: IsoMessage;
    try {
      response = await this.options.mux.request(request, this.options.responseTimeoutMs);
    } catch (error) {
      if (outcomeUnknown(error)) {
        const id = this.queueReversalNow(request, journalId, (error as PosError).message, { why: 'timeout' }, standbyId);
        this.options.log?.warn({ stan: request.fields[DE.STAN], reversal: id, code: (error as PosError).code }, `no answer to a ${what}; reversal queued`);
        // Try it now; if the host is still away it waits in the spool for the next request or the sender.
        await this.flushPending().catch(() => undefined);
        throw new PosError((error as PosError).code, (error as PosError).message, { disconnected: (error as PosError).disconnected, cause: error, details: { ...(error as PosError).details, reversalId: id } });
      }
      this.options.spool.db.transaction(() => {
        this.options.spool.outbox.ack(standbyId);
        this.markNotSent(journalId, error);
      })();
      throw error;
    }
    try {
      const answer = readResponse(response, request);
      const result: PurchaseResult = { ...answer, request, ...(journalId !== undefined ? { journalId } : {}) };
      if (answer.outcome === 'approved') result.approvedAmount = approvedAmountOf(answer.responseCode, response, request);
      return result;
    } catch (error) {
      const id = this.queueReversalNow(request, journalId, (error as Error).message, { why: 'unreadable-response' }, standbyId);
      await this.flushPending().catch(() => undefined);
      throw new PosError('CODPOS_HOST_BAD_RESPONSE', `the acquirer's ${response.mti} to STAN ${String(request.fields[DE.STAN])} cannot be read (${(error as Error).message}); the ${what} is being reversed`, {
        cause: error,
        details: { mti: response.mti, reversalId: id },
      });
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
    const { outbox, journal } = this.options.spool;
    let queued = 0;
    for (;;) {
      const held = outbox.lease<QueuedMessage>([STREAMS.reversalStandby], { limit: 50, leaseMs: 60_000, owner: 'recovery', ignoreBackoff: true });
      if (held.length === 0) break;
      for (const record of held) {
        const journalId = record.payload.journalId;
        const state = journalId === undefined ? undefined : journal.get(journalId)?.state;
        if (journalId !== undefined && state !== 'pending' && state !== 'approved') {
          outbox.ack(record.id);
          continue;
        }
        const reversal: QueuedRecord = { id: reversalIdOf(record.id), stream: STREAMS.reversal, payload: { ...record.payload, fields: { ...record.payload.fields } } };
        if (record.sealed !== undefined) reversal.sealed = record.sealed as QueuedCardData;
        if ((this.options.reversalStan ?? 'new') === 'new') reversal.payload.fields[String(DE.STAN)] = nextStan(this.context);
        const reason = state === 'approved' ? 'approved by the issuer, never completed by the card: the terminal stopped' : 'in flight when the terminal stopped';
        // The held copy was made before anyone knew why it would be sent: say it now.
        reversal.payload.fields[String(DE.POS_CONDITION)] = reversalReasonCode(state === 'approved' ? 'not-completed' : 'interrupted', this.context.reversalReasonLayout);
        const authCode = journalId !== undefined && state === 'approved' ? journal.get(journalId)?.authCode : undefined;
        if (authCode) reversal.payload.fields[String(DE.AUTH_CODE)] = authCode;
        if (journalId !== undefined) {
          this.options.spool.db.transaction(() => {
            journal.transition(journalId, 'reversal_pending', { reason, outbox: reversal });
            outbox.ack(record.id);
          })();
        } else {
          this.options.spool.db.transaction(() => {
            this.enqueueNow(reversal);
            outbox.ack(record.id);
          })();
        }
        this.options.log?.warn({ stan: record.payload.fields[String(DE.STAN)], reversal: reversal.id, journalId, state }, `${reason}; its reversal is queued`);
        queued++;
      }
    }
    for (const row of journal.list({ state: 'pending', limit: 100_000 })) {
      journal.transition(row.id, 'declined', { reason: 'not sent: the terminal stopped before the request left' });
      this.options.log?.warn({ journalId: row.id, stan: row.stan }, 'a payment journaled but never sent when the terminal stopped is declined "not sent"');
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
      const detail: ReversalDetail = { why: options.why ?? 'card-declined', ...(purchase.authCode !== undefined ? { authCode: purchase.authCode } : {}), ...(options.finalIccData ? { iccData: options.finalIccData } : {}) };
      const id = this.queueReversalNow(purchase.request, journalId, options.reason ?? 'approved by the issuer, not completed at the terminal', detail, purchase.standbyId);
      purchase.standbyId = undefined;
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
        journal.transition(journalId, 'offline_approved', { responseCode: approval.responseCode ?? '00', authCode: approval.authCode, outbox: r });
        recordClearing(journal, journalId, advice, approval.responseCode ?? '00', approval.authCode, undefined);
      })();
    withCardDataIfSealable(record, this.options.log, write);
    await this.serialized(() => this.flushPending()).catch(() => undefined);
    return record.id;
  }

  /** Queues a 0220 advice of an offline approval; it goes after pending reversals. */
  async advise(approval: OfflineApproval): Promise<string> {
    const message = buildAdvice(approval, this.context);
    const id = await this.enqueue(outboxRecordOf(STREAMS.advice, message));
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
    const status = this.options.spool.outbox.status().find((s) => s.stream === STREAMS.reversal);
    return (status?.depth ?? 0) + (status?.dead ?? 0);
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
    const lease = { limit: 1, leaseMs: this.options.responseTimeoutMs * 2, owner: this.options.leaseOwner ?? 'host-link' };
    let sent = 0;
    for (;;) {
      let [record] = outbox.lease<QueuedMessage>(STREAMS.reversal, { ...lease, ignoreBackoff: options.urgent ?? false });
      if (record === undefined) [record] = outbox.lease<QueuedMessage>(STREAMS.advice, lease);
      if (record === undefined) break;
      const message = this.rebuild(record);
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
    const waiting = this.pendingReversals();
    if (waiting > 0) {
      const dead = this.options.spool.outbox.status().find((s) => s.stream === STREAMS.reversal)?.dead ?? 0;
      const why = dead > 0 ? ` (${dead} dead-lettered: see codpos spool list --stream reversal, then codpos spool retry)` : '';
      throw new PosError('CODPOS_HOST_REVERSAL_PENDING', `${waiting} reversal(s) not yet acknowledged by the acquirer${why}; no new request goes out before them`, { disconnected: true, details: { reversals: waiting, dead } });
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
      journal.transition(journalId, 'reversed', { reason: `${message.mti} answered ${response.responseCode}`, responseCode: response.responseCode });
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
   * Queues the reversal of `original` in one commit with the journal row's move to
   * `reversal_pending` (when there is a row) and the retirement of its held copy.
   */
  private queueReversalNow(original: IsoMessage, journalId: string | undefined, reason: string, detail: ReversalDetail, standbyId?: string, responseCode?: string): string {
    // buildReversal keeps the original's STAN; by default a reversal is a new message with
    // a new STAN, and DE90 (from the original) is how the host finds what it undoes.
    const reversal = buildReversal(original, this.context, { reason: detail.why, ...(detail.authCode ? { authCode: detail.authCode } : {}), ...(detail.iccData ? { iccData: detail.iccData } : {}) });
    if ((this.options.reversalStan ?? 'new') === 'new') reversal.fields[DE.STAN] = nextStan(this.context);
    const record = outboxRecordOf(STREAMS.reversal, reversal);
    // Named after its held copy, so recovering that copy later cannot queue it twice.
    if (standbyId !== undefined) record.id = reversalIdOf(standbyId);
    if (journalId !== undefined) record.payload.journalId = journalId;
    const write = (r: QueuedRecord) =>
      this.options.spool.db.transaction(() => {
        if (journalId !== undefined) this.options.spool.journal.transition(journalId, 'reversal_pending', { reason, outbox: r, ...(responseCode !== undefined ? { responseCode } : {}) });
        else this.options.spool.outbox.enqueueNow(r.stream, r.payload, { id: r.id, ...(r.sealed ? { sealed: r.sealed } : {}) });
        if (standbyId !== undefined) this.options.spool.outbox.ack(standbyId);
      })();
    withCardDataIfSealable(record, this.options.log, write);
    return record.id;
  }

  /**
   * The issuer's answer, recorded in one commit: the journal row (when there is one) moves
   * to approved (with a partial approval's amount) or declined, and the held reversal is
   * retired — unless an approval still awaits the card's completion (`awaitCompletion`).
   * A partial approval on a terminal that does not take them is reversed instead.
   */
  private recordAnswer(result: PurchaseResult, journalId: string | undefined, standbyId: string, awaitCompletion: boolean): PurchaseResult {
    const { journal, outbox, db } = this.options.spool;
    const requested = Number(result.request.fields[DE.AMOUNT] ?? 0);
    const partial = result.outcome === 'approved' && result.approvedAmount !== undefined && result.approvedAmount < requested;
    if (partial && this.options.partialApprovals === 'reverse') {
      const reason = `partial approval (${result.approvedAmount} of ${requested}) not accepted by this terminal`;
      const reversalId = this.queueReversalNow(result.request, journalId, reason, { why: 'partial-not-accepted', ...(result.authCode !== undefined ? { authCode: result.authCode } : {}) }, standbyId, result.responseCode);
      this.options.log?.warn({ stan: result.request.fields[DE.STAN], reversal: reversalId, journalId, responseCode: result.responseCode }, `${reason}; reversal queued`);
      const { approvedAmount: _approved, standbyId: _held, ...rest } = result;
      return { ...rest, outcome: 'declined' };
    }
    db.transaction(() => {
      if (journalId !== undefined) {
        journal.transition(journalId, result.outcome === 'approved' ? 'approved' : 'declined', {
          responseCode: result.responseCode,
          ...(result.authCode !== undefined ? { authCode: result.authCode } : {}),
          ...(partial ? { approvedAmount: result.approvedAmount! } : {}),
        });
        if (result.outcome === 'approved') recordClearing(journal, journalId, result.request, result.responseCode, result.authCode ?? '', result.rrn);
      }
      if (!(result.outcome === 'approved' && awaitCompletion)) outbox.ack(standbyId);
    })();
    return result.outcome === 'approved' && awaitCompletion ? { ...result, standbyId } : result;
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
          throw new PosError('CODPOS_HOST_BATCH_UPLOAD', `the acquirer refused the batch upload of STAN ${transaction.stan} (${response.responseCode})`, { details: { responseCode: response.responseCode } });
        }
        sent++;
      }
      return sent;
    });
  }

  private async enqueue(record: QueuedRecord): Promise<string> {
    const { stream, payload, sealed, id } = record;
    try {
      return (await this.options.spool.outbox.enqueue(stream, payload, { id, ...(sealed ? { sealed } : {}) })).id;
    } catch (error) {
      if (!isPosError(error, 'CODPOS_SPOOL_NO_VAULT')) throw error;
      const bare = withoutCardData(record, this.options.log);
      return (await this.options.spool.outbox.enqueue(bare.stream, bare.payload, { id: bare.id })).id;
    }
  }

  /** `enqueue` inside the caller's transaction (written with what it belongs to). */
  private enqueueNow(record: QueuedRecord): string {
    return withCardDataIfSealable(record, this.options.log, (r) => this.options.spool.outbox.enqueueNow(r.stream, r.payload, { id: r.id, ...(r.sealed ? { sealed: r.sealed } : {}) }).id);
  }

  /**
   * The message of a leased record: the first attempt under its MTI, later ones as the
   * repeat (0401, 0221). A record that has failed before is a repeat even when a technician
   * revived it (`codpos spool retry` starts its attempt count again): the host may have
   * seen the first one.
   */
  private rebuild(record: OutboxRecord<QueuedMessage>): IsoMessage {
    const fields: IsoFields = {};
    for (const [key, value] of Object.entries(record.payload.fields)) fields[Number(key)] = value;
    const card = record.sealed as QueuedCardData | undefined;
    if (card?.pan !== undefined) fields[DE.PAN] = card.pan;
    if (card?.chipData !== undefined) fields[DE.ICC_DATA] = Buffer.from(card.chipData, 'hex');
    const sentBefore = record.attempts > 1 || record.lastError !== null;
    return { mti: sentBefore ? repeatMti(record.payload.mti) : record.payload.mti, fields };
  }
}

/** A request written with its journal row and held reversal, ready to leave. */
interface HeldRequest {
  request: IsoMessage;
  standbyId: string;
  row?: { id: string; stan: number };
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
    throw new PosError('CODPOS_HOST_BAD_RESPONSE', `a partial approval (10) must carry the approved amount in DE4, above 0 and at most the ${requested} asked for; it carries ${typeof text === 'string' ? text : 'none'}`, { details: { field: String(DE.AMOUNT) } });
  }
  return approved;
}

/** The id of the reversal queued from held reversal `standbyId`: the same one whichever path queues it. */
function reversalIdOf(standbyId: string): string {
  const hash = createHash('sha256').update(`reversal:${standbyId}`).digest('hex');
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
}

/** An outbox record ready for `outbox.enqueue` or a journal transition's `outbox`. */
export interface QueuedRecord {
  id: string;
  stream: string;
  payload: QueuedMessage;
  sealed?: QueuedCardData;
}

/**
 * A reversal or advice as an outbox record: the clear fields in the payload, the PAN and
 * chip data for sealing, track data, PIN block and KSN left out. The id (UUID, made here)
 * lets a journal transition and the client name the same record.
 */
export function outboxRecordOf(stream: string, message: IsoMessage): QueuedRecord {
  const payload: QueuedMessage = { mti: message.mti, fields: {} };
  const sealed: QueuedCardData = {};
  for (const [key, value] of Object.entries(message.fields as Record<string, unknown>)) {
    const field = Number(key);
    if (NEVER_QUEUED.has(field) || value === undefined) continue;
    if (field === DE.PAN) sealed.pan = String(value);
    else if (field === DE.ICC_DATA) sealed.chipData = Buffer.isBuffer(value) ? value.toString('hex') : String(value);
    else if (!SEALED_FIELDS.has(field) && typeof value === 'string') payload.fields[key] = value;
  }
  const record: QueuedRecord = { id: randomUUID(), stream, payload };
  if (sealed.pan !== undefined || sealed.chipData !== undefined) record.sealed = sealed;
  return record;
}

/**
 * Writes `record` (synchronously, e.g. in a transaction) with its card data sealed; a spool
 * without a vault key gets it without the card data instead (withoutCardData).
 */
function withCardDataIfSealable<T>(record: QueuedRecord, log: Logger | undefined, write: (record: QueuedRecord) => T): T {
  try {
    return write(record);
  } catch (error) {
    if (!isPosError(error, 'CODPOS_SPOOL_NO_VAULT')) throw error;
    return write(withoutCardData(record, log));
  }
}

/** Without a vault key the card data stays out: the host finds the original by STAN, terminal id and DE90. */
function withoutCardData(record: QueuedRecord, log: Logger | undefined): QueuedRecord {
  log?.warn({ stream: record.stream }, 'spool has no vault: queued without the PAN and chip data');
  const { sealed: _dropped, ...rest } = record;
  return rest;
}

/** What the EMV kernel needs for one payment, besides the card's OnlineRequest. */
export interface OnlinePaymentInput {
  amount: number | bigint;
  /** DE22; default 051 (chip, PIN capable). */
  posEntryMode?: string;
  /** The KSN of the PIN block the PIN pad returned. */
  ksn?: () => string | undefined;
  /** The journal row of this payment: its STAN goes in DE11 (see PurchaseInput.journal). */
  journal?: { id: string; stan: number };
  /** The journal row to begin with the held reversal, in one commit (see PurchaseInput.begin). */
  begin?: JournalEntry;
  onJournaled?: (row: { id: string; stan: number }) => void;
  beginRow?: PurchaseInput['beginRow'];
  /** An approval waits for the card's completion before its held reversal is retired (chip). */
  awaitCompletion?: boolean;
  /**
   * Called with the host's answer and the request as sent, before the kernel reads it:
   * keep it to `client.reverse()` an approval the card then declines.
   */
  onResult?: (result: PurchaseResult) => void;
}

/**
 * The kernel's `goOnline` callback over the host client: the kernel's request becomes a
 * 0200, the answer becomes tag 8A/89/91 and the issuer scripts. A host fault propagates
 * as a HOST PosError, which the kernel reads as 'unable to go online'.
 */
export function kernelGoOnline(client: HostClient, input: OnlinePaymentInput): (request: OnlineRequest) => Promise<HostAnswer> {
  return async (online) => {
    const ksn = input.ksn?.();
    const result = await client.purchase({
      amount: input.amount,
      posEntryMode: input.posEntryMode ?? '051',
      card: {
        pan: online.pan,
        ...(online.expiry !== undefined ? { expiry: online.expiry.slice(0, 4) } : {}),
        ...(online.panSequenceNumber !== undefined ? { panSequenceNumber: online.panSequenceNumber.padStart(3, '0') } : {}),
        ...(online.track2 !== undefined ? { track2: online.track2 } : {}),
      },
      iccData: online.de55,
      ...(online.pinBlock ? { pinBlock: online.pinBlock } : {}),
      ...(ksn !== undefined ? { ksn } : {}),
      ...(input.journal ? { journal: input.journal } : {}),
      ...(input.begin ? { begin: input.begin } : {}),
      ...(input.onJournaled ? { onJournaled: input.onJournaled } : {}),
      ...(input.beginRow ? { beginRow: input.beginRow } : {}),
      ...(input.awaitCompletion ? { awaitCompletion: true } : {}),
    });
    input.onResult?.(result);
    const answer: HostAnswer = { result: result.outcome === 'approved' ? 'approved' : 'declined', responseCode: result.responseCode };
    if (result.authCode !== undefined) answer.authorisationCode = result.authCode;
    if (result.iccData !== undefined) {
      const tlvs = decodeTlv(result.iccData);
      const auth = findTag(tlvs, 0x91);
      if (auth) answer.issuerAuthenticationData = auth.value;
      const scripts = tlvs.filter((t) => t.tag === 0x71 || t.tag === 0x72);
      if (scripts.length > 0) answer.issuerScripts = encodeTlv(scripts);
    }
    return answer;
  };
}

/**
 * Keeps what a void or a batch upload re-sends of an approved payment: the message's clear
 * fields, and its card data (expiry, from DE14 or track 2, and DE55) sealed in the journal.
 */
function recordClearing(journal: Spool['journal'], journalId: string, message: IsoMessage, responseCode: string, authCode: string, rrn: string | undefined): void {
  const text = (field: number) => {
    const value = message.fields[field];
    return typeof value === 'string' ? value : undefined;
  };
  const clear: Record<string, string> = { mti: message.mti, responseCode, authCode };
  for (const [name, field] of [
    ['processingCode', DE.PROCESSING_CODE],
    ['stan', DE.STAN],
    ['transmission', DE.TRANSMISSION],
    ['localTime', DE.LOCAL_TIME],
    ['localDate', DE.LOCAL_DATE],
    ['posEntryMode', DE.POS_ENTRY_MODE],
    ['posConditionCode', DE.POS_CONDITION],
    ['panSequenceNumber', DE.PAN_SEQUENCE],
    ['rrn', DE.RRN],
  ] as const) {
    const value = text(field);
    if (value !== undefined) clear[name] = value;
  }
  if (rrn !== undefined) clear.rrn = rrn;
  const sealed: Record<string, string> = {};
  const expiry = text(DE.EXPIRY) ?? text(DE.TRACK2)?.split('=')[1]?.slice(0, 4);
  if (expiry) sealed.expiry = expiry;
  const icc = message.fields[DE.ICC_DATA];
  if (Buffer.isBuffer(icc)) sealed.iccData = icc.toString('hex');
  journal.recordClearing(journalId, clear, sealed);
}
