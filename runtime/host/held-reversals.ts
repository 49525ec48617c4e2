/**
 * The reversals the terminal keeps in the spool, and how they are stored.
 *
 * A **held reversal** is written with each financial request before it leaves, in the
 * commit that begins its journal row, on an outbox stream nothing sends: a power cut then
 * leaves a row and the reversal that undoes it, or nothing. It is retired when the answer
 * (or, for chip, the card's completion) makes it needless, and **queued** (moved to the
 * `reversal` stream the client sends first) when the outcome is unknown or the terminal
 * undoes an approval; at start-up, what a stop left held is queued (`recover`).
 *
 * The held stream's stored name is `reversal-standby` (STREAMS.reversalStandby): kept as it
 * is, since renaming it would strand the records already spooled on a terminal.
 *
 * Outbox records keep no card data in clear: the PAN and DE55 are sealed with the vault,
 * track data, the PIN block and the KSN are never queued.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PosError, isPosError } from '../../config/errors.js';
import {
  DE,
  buildReversal,
  nextStan,
  repeatMti,
  reversalReasonCode,
  type IsoFields,
  type IsoMessage,
  type MessageContext,
  type ReversalReason,
} from '../../emv/iso8583/index.js';
import { STREAMS, type OutboxRecord, type Spool } from '../../spool/index.js';
import type { BeginInput } from '../../spool/journal.js';
import { toSpoolError } from '../../spool/database.js';
import type { Logger } from '../log.js';
import { KSN_FIELD } from './fields.js';

/** The outbox stream of held reversals (stored name `reversal-standby`: see above). */
export const HELD_REVERSAL_STREAM = STREAMS.reversalStandby;

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

/** An outbox record ready for `outbox.enqueue` or a journal transition's `outbox`. */
export interface QueuedRecord {
  id: string;
  stream: string;
  payload: QueuedMessage;
  sealed?: QueuedCardData;
}

/** What a queued reversal says beyond the original: DE25's reason, DE38 of an approval it undoes, the final DE55. */
export interface ReversalDetail {
  why: ReversalReason;
  authCode?: string;
  iccData?: Buffer;
}

/** A request written with its journal row and held reversal, ready to leave. */
export interface HeldRequest {
  request: IsoMessage;
  heldReversalId: string;
  row?: { id: string; stan: number };
}

/** Begins a journal row inside the commit that holds the reversal (PurchaseInput.beginRow). */
export type BeginRow = (entry: BeginInput) => { id: string; stan: number };

export interface HeldReversalsOptions {
  spool: Spool;
  /** The terminal's message context (its STANs from the spool counter). */
  context: MessageContext;
  log?: Logger | undefined;
  /** `host.reversalStan`: `new` (default) gives a queued reversal the next STAN, `original` keeps the request's. */
  reversalStan?: 'new' | 'original' | undefined;
}

/** Data elements never written to the outbox clear payload. */
const SEALED_FIELDS = new Set<number>([DE.PAN, DE.ICC_DATA]);
/** Data elements never queued at all (sensitive authentication data). */
const NEVER_QUEUED = new Set<number>([DE.TRACK2, 45, DE.PIN_BLOCK, KSN_FIELD]);

export class HeldReversals {
  constructor(private readonly options: HeldReversalsOptions) {}

  /**
   * A request held and journaled in one commit: the journal row (begun from `begin`, or the
   * existing one), the request built with the row's STAN, and its held reversal. A power cut
   * after this commit leaves a row and the reversal that undoes it; before it, nothing.
   */
  hold(
    begin: BeginInput | undefined,
    existing: { id: string; stan: number } | undefined,
    beginRow: BeginRow | undefined,
    build: (context: MessageContext) => IsoMessage,
  ): HeldRequest {
    const { db, journal } = this.options.spool;
    try {
      return db.transaction((): HeldRequest => {
        const row = begin ? (beginRow ?? ((entry: BeginInput) => journal.begin(entry)))(begin) : existing;
        const request = build(row ? { ...this.options.context, nextStan: () => row.stan } : this.options.context);
        const held = outboxRecordOf(HELD_REVERSAL_STREAM, buildReversal(request, this.options.context));
        if (row) held.payload.journalId = row.id;
        return {
          request,
          heldReversalId: this.enqueueNow(held),
          ...(row ? { row: { id: row.id, stan: row.stan } } : {}),
        };
      })();
    } catch (error) {
      if (error instanceof PosError) throw error;
      const known = toSpoolError(error, 'journaling a payment with its held reversal');
      if (known instanceof PosError) throw known;
      throw new PosError(
        'CODPOS_SPOOL_WRITE',
        `the payment could not be journaled with its held reversal (${(error as Error).message}); nothing was sent`,
        { cause: error },
      );
    }
  }

  /** The held reversal is needless (the answer, or the card's completion, settled it): inside the caller's commit. */
  retire(heldReversalId: string): void {
    this.options.spool.outbox.ack(heldReversalId);
  }

  /**
   * Queues the reversal of `original` in one commit with the journal row's move to
   * `reversal_pending` (when there is a row) and the retirement of its held copy. Resolves
   * the queued reversal's outbox id.
   */
  queue(
    original: IsoMessage,
    journalId: string | undefined,
    reason: string,
    detail: ReversalDetail,
    heldReversalId?: string,
    responseCode?: string,
  ): string {
    const { spool, context } = this.options;
    // buildReversal keeps the original's STAN; by default a reversal is a new message with
    // a new STAN, and DE90 (from the original) is how the host finds what it undoes.
    const reversal = buildReversal(original, context, {
      reason: detail.why,
      ...(detail.authCode ? { authCode: detail.authCode } : {}),
      ...(detail.iccData ? { iccData: detail.iccData } : {}),
    });
    if ((this.options.reversalStan ?? 'new') === 'new') reversal.fields[DE.STAN] = nextStan(context);
    const record = outboxRecordOf(STREAMS.reversal, reversal);
    // Named after its held copy, so recovering that copy later cannot queue it twice.
    if (heldReversalId !== undefined) record.id = reversalIdOf(heldReversalId);
    if (journalId !== undefined) record.payload.journalId = journalId;
    const write = (r: QueuedRecord) =>
      spool.db.transaction(() => {
        if (journalId !== undefined)
          spool.journal.transition(journalId, 'reversal_pending', {
            reason,
            outbox: r,
            ...(responseCode !== undefined ? { responseCode } : {}),
          });
        else spool.outbox.enqueueNow(r.stream, r.payload, { id: r.id, ...(r.sealed ? { sealed: r.sealed } : {}) });
        if (heldReversalId !== undefined) this.retire(heldReversalId);
      })();
    withCardDataIfSealable(record, this.options.log, write);
    return record.id;
  }

  /**
   * At start-up, before any request. The reversals held for authorizations the terminal did
   * not finish when it stopped (power cut, crash) are queued, their journal rows moving to
   * `reversal_pending` in the same commit: a row still `pending` (the request was in flight),
   * and a row `approved` whose card never completed the payment. A held reversal whose row
   * ended otherwise is only retired. Resolves with how many reversals were queued.
   */
  recover(): number {
    const { spool, context, log } = this.options;
    const { outbox, journal } = spool;
    let queued = 0;
    for (;;) {
      const held = outbox.lease<QueuedMessage>([HELD_REVERSAL_STREAM], {
        limit: 50,
        leaseMs: 60_000,
        owner: 'recovery',
        ignoreBackoff: true,
      });
      if (held.length === 0) break;
      for (const record of held) {
        const journalId = record.payload.journalId;
        const state = journalId === undefined ? undefined : journal.get(journalId)?.state;
        if (journalId !== undefined && state !== 'pending' && state !== 'approved') {
          this.retire(record.id);
          continue;
        }
        const reversal: QueuedRecord = {
          id: reversalIdOf(record.id),
          stream: STREAMS.reversal,
          payload: { ...record.payload, fields: { ...record.payload.fields } },
        };
        if (record.sealed !== undefined) reversal.sealed = record.sealed as QueuedCardData;
        if ((this.options.reversalStan ?? 'new') === 'new')
          reversal.payload.fields[String(DE.STAN)] = nextStan(context);
        const reason =
          state === 'approved'
            ? 'approved by the issuer, never completed by the card: the terminal stopped'
            : 'in flight when the terminal stopped';
        // The held copy was made before anyone knew why it would be sent: say it now.
        reversal.payload.fields[String(DE.POS_CONDITION)] = reversalReasonCode(
          state === 'approved' ? 'not-completed' : 'interrupted',
          context.reversalReasonLayout,
        );
        const authCode = journalId !== undefined && state === 'approved' ? journal.get(journalId)?.authCode : undefined;
        if (authCode) reversal.payload.fields[String(DE.AUTH_CODE)] = authCode;
        spool.db.transaction(() => {
          if (journalId !== undefined) journal.transition(journalId, 'reversal_pending', { reason, outbox: reversal });
          else this.enqueueNow(reversal);
          this.retire(record.id);
        })();
        log?.warn(
          { stan: record.payload.fields[String(DE.STAN)], reversal: reversal.id, journalId, state },
          `${reason}; its reversal is queued`,
        );
        queued++;
      }
    }
    return queued;
  }

  /** Queued reversals not yet acknowledged (ready, waiting for a retry, leased) and dead-lettered ones. */
  pending(): { waiting: number; dead: number } {
    const status = this.options.spool.outbox.status().find((s) => s.stream === STREAMS.reversal);
    return { waiting: (status?.depth ?? 0) + (status?.dead ?? 0), dead: status?.dead ?? 0 };
  }

  /** Writes `record` to the outbox inside the caller's transaction (with what it belongs to). */
  enqueueNow(record: QueuedRecord): string {
    return withCardDataIfSealable(
      record,
      this.options.log,
      (r) =>
        this.options.spool.outbox.enqueueNow(r.stream, r.payload, {
          id: r.id,
          ...(r.sealed ? { sealed: r.sealed } : {}),
        }).id,
    );
  }

  /** Writes `record` to the outbox in a commit of its own. */
  async enqueue(record: QueuedRecord): Promise<string> {
    const { outbox } = this.options.spool;
    try {
      return (
        await outbox.enqueue(record.stream, record.payload, {
          id: record.id,
          ...(record.sealed ? { sealed: record.sealed } : {}),
        })
      ).id;
    } catch (error) {
      if (!isPosError(error, 'CODPOS_SPOOL_NO_VAULT')) throw error;
      const bare = withoutCardData(record, this.options.log);
      return (await outbox.enqueue(bare.stream, bare.payload, { id: bare.id })).id;
    }
  }
}

/**
 * A reversal or advice as an outbox record: the clear fields in the payload, the PAN and
 * chip data for sealing, track data, PIN block and KSN left out. The id (UUID, made here)
 * lets a journal transition and the client name the same record.
 */
export function outboxRecordOf(stream: string, message: IsoMessage): QueuedRecord {
  const payload: QueuedMessage = { mti: message.mti, fields: {} };
  const sealed: QueuedCardData = {};
  for (const [key, value] of Object.entries(message.fields)) {
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
 * The message of a leased record: the first attempt under its MTI, later ones as the repeat
 * (0401, 0221). A record that has failed before is a repeat even when a technician revived
 * it (`codpos spool retry` starts its attempt count again): the host may have seen the first.
 */
export function messageOfRecord(record: OutboxRecord<QueuedMessage>): IsoMessage {
  const fields: IsoFields = {};
  for (const [key, value] of Object.entries(record.payload.fields)) fields[Number(key)] = value;
  const card = record.sealed as QueuedCardData | undefined;
  if (card?.pan !== undefined) fields[DE.PAN] = card.pan;
  if (card?.chipData !== undefined) fields[DE.ICC_DATA] = Buffer.from(card.chipData, 'hex');
  const sentBefore = record.attempts > 1 || record.lastError !== null;
  return { mti: sentBefore ? repeatMti(record.payload.mti) : record.payload.mti, fields };
}

/**
 * Writes `record` (synchronously, e.g. in a transaction) with its card data sealed; a spool
 * without a vault key gets it without the card data instead (withoutCardData).
 */
export function withCardDataIfSealable<T>(
  record: QueuedRecord,
  log: Logger | undefined,
  write: (record: QueuedRecord) => T,
): T {
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

/** The id of the reversal queued from held reversal `heldReversalId`: the same one whichever path queues it. */
function reversalIdOf(heldReversalId: string): string {
  const hash = createHash('sha256').update(`reversal:${heldReversalId}`).digest('hex');
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
}
