/**
 * The QR payment journal: one row per QR payment (merchant- or consumer-presented) through the
 * payment service provider, moved through the state machine of qr-transaction.ts in durable
 * commits, each with its history line and, where given, the back-end's outbox record in the
 * same commit.
 *
 * The row is written before anything is sent to the PSP, and its id is the order's name there
 * (orderRef) and the idempotency key of its creation: after a crash or a lost answer the
 * terminal asks the PSP about the order by a name it already has, and a resend cannot create a
 * second order.
 *
 * One waybill has at most one QR payment outstanding (pending or unknown) at a time, checked in
 * the commit that writes the new row: a second code shown while the first may still be paid is
 * how a consignee gets charged twice.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../config/errors.js';
import { systemClock, type Clock } from './clock.js';
import { IdGenerator } from './ids.js';
import { toSpoolError } from './database.js';
import type { Outbox } from './outbox.js';
import { whereOf, writeOutboxRecord, type OutboxWrite } from './journal.js';
import { QR_STATES, QR_TRANSITIONS, type QrState, type QrTransaction } from './qr-transaction.js';
import type { QrMode } from '../runtime/psp/types.js';

export interface QrBeginInput {
  mode: QrMode;
  amount: number;
  /** ISO 4217 numeric. */
  currency: string;
  waybill: string;
  /** An outbox record written in the same commit. */
  outbox?: OutboxWrite;
}

/** What a move records besides the state; fields given replace the row's, absent ones stay. */
export interface QrTransitionInput {
  reason?: string;
  wallet?: string;
  pspOrderId?: string;
  /** Only with `refunded`: minor units, 1 to the amount. */
  refundedAmount?: number;
  outbox?: OutboxWrite;
}

/** Fields learnt while the payment is still pending (the PSP's order id, the payload shown). */
export interface QrDetails {
  pspOrderId?: string;
  wallet?: string;
  payload?: string;
}

export interface QrListOptions {
  state?: QrState;
  waybill?: string;
  /** Begun at or after (ms). */
  createdFrom?: number;
  /** Begun before (ms). */
  createdBefore?: number;
  limit?: number;
}

export interface QrJournalOptions {
  clock?: Clock;
  ids?: IdGenerator;
  outbox?: Outbox;
}

interface Row {
  id: string;
  mode: QrMode;
  state: QrState;
  amount: number;
  currency: string;
  waybill: string;
  psp_order_id: string | null;
  wallet: string | null;
  payload: string | null;
  reason: string | null;
  refunded_amount: number;
  created_at: number;
  updated_at: number;
  final_at: number | null;
}

/** States after which the PSP's answer is known (refunded follows paid). */
const FINAL: ReadonlySet<QrState> = new Set(['paid', 'declined', 'cancelled', 'refunded']);

export class QrJournal {
  private readonly clock: Clock;
  private readonly ids: IdGenerator;
  private readonly outbox: Outbox | undefined;
  private readonly sql: Record<
    'insert' | 'byId' | 'outstandingFor' | 'outstanding' | 'history' | 'move' | 'details' | 'historyOf' | 'purge',
    Statement
  >;

  constructor(
    private readonly db: Database,
    options: QrJournalOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? new IdGenerator(this.clock);
    this.outbox = options.outbox;
    this.sql = {
      insert: db.prepare(
        `INSERT INTO qr_txn (id, mode, state, amount, currency, waybill, created_at, updated_at)
         VALUES (@id, @mode, 'pending', @amount, @currency, @waybill, @now, @now)`,
      ),
      byId: db.prepare('SELECT * FROM qr_txn WHERE id = ?'),
      outstandingFor: db.prepare(
        `SELECT * FROM qr_txn WHERE waybill = ? AND state IN ('pending', 'unknown') ORDER BY created_at LIMIT 1`,
      ),
      outstanding: db.prepare(`SELECT * FROM qr_txn WHERE state IN ('pending', 'unknown') ORDER BY created_at, id`),
      history: db.prepare(
        'INSERT INTO qr_txn_history (txn_id, from_state, to_state, at, reason) VALUES (?, ?, ?, ?, ?)',
      ),
      move: db.prepare(
        `UPDATE qr_txn SET state = @to, updated_at = @now, final_at = coalesce(@finalAt, final_at),
           reason = coalesce(@reason, reason), wallet = coalesce(@wallet, wallet),
           psp_order_id = coalesce(@pspOrderId, psp_order_id),
           refunded_amount = coalesce(@refundedAmount, refunded_amount)
         WHERE id = @id AND state = @from`,
      ),
      details: db.prepare(
        `UPDATE qr_txn SET updated_at = @now, psp_order_id = coalesce(@pspOrderId, psp_order_id),
           wallet = coalesce(@wallet, wallet), payload = coalesce(@payload, payload)
         WHERE id = @id`,
      ),
      historyOf: db.prepare(
        'SELECT from_state AS "from", to_state AS "to", at, reason FROM qr_txn_history WHERE txn_id = ? ORDER BY rowid',
      ),
      purge: db.prepare(
        `DELETE FROM qr_txn WHERE state IN ('declined', 'cancelled', 'refunded', 'paid') AND updated_at < ?`,
      ),
    };
  }

  /**
   * Writes a new QR payment in `pending`, in one durable commit, before anything is sent.
   * Refuses (CODPOS_SPOOL_QR_OUTSTANDING) while the waybill has another QR payment pending or
   * unknown: that one must be resolved first, or the consignee could pay twice.
   */
  begin(input: QrBeginInput): QrTransaction {
    validateBegin(input);
    const id = this.ids.next();
    try {
      return this.db.transaction(() => {
        const open = this.sql.outstandingFor.get(input.waybill) as Row | undefined;
        if (open) {
          throw new PosError(
            'CODPOS_SPOOL_QR_OUTSTANDING',
            `waybill ${input.waybill} has QR payment ${open.id} still ${open.state}: it must be resolved (paid, declined or cancelled) before another code is shown`,
            { details: { waybill: input.waybill, id: open.id, state: open.state } },
          );
        }
        const now = this.clock.now();
        this.sql.insert.run({
          id,
          mode: input.mode,
          amount: input.amount,
          currency: input.currency,
          waybill: input.waybill,
          now,
        });
        this.sql.history.run(id, null, 'pending', now, null);
        if (input.outbox) this.writeOutbox(input.outbox);
        return toTxn(this.sql.byId.get(id) as Row);
      })();
    } catch (error) {
      throw toSpoolError(error, 'journaling a QR payment');
    }
  }

  /** Records what was learnt while pending (the PSP's order id, the payload shown); the state stays. */
  attach(id: string, details: QrDetails): QrTransaction {
    try {
      return this.db.transaction(() => {
        const row = this.sql.byId.get(id) as Row | undefined;
        if (!row) throw noSuchTxn(id);
        this.sql.details.run({
          id,
          now: this.clock.now(),
          pspOrderId: details.pspOrderId ?? null,
          wallet: details.wallet ?? null,
          payload: details.payload ?? null,
        });
        return toTxn(this.sql.byId.get(id) as Row);
      })();
    } catch (error) {
      throw toSpoolError(error, 'recording a QR payment');
    }
  }

  /** Moves a QR payment to `to` in one durable commit; an illegal move is CODPOS_SPOOL_ILLEGAL_TRANSITION. */
  transition(id: string, to: QrState, input: QrTransitionInput = {}): QrTransaction {
    if (!QR_STATES.includes(to))
      throw new PosError(
        'CODPOS_SPOOL_BAD_REQUEST',
        `unknown QR payment state "${to}"; states are ${QR_STATES.join(', ')}`,
      );
    try {
      return this.db.transaction(() => {
        const row = this.sql.byId.get(id) as Row | undefined;
        if (!row) throw noSuchTxn(id);
        const allowed = QR_TRANSITIONS[row.state];
        if (!allowed.includes(to)) {
          throw new PosError(
            'CODPOS_SPOOL_ILLEGAL_TRANSITION',
            `QR payment ${id} cannot go from ${row.state} to ${to}` +
              (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ` (${row.state} is final)`),
            { details: { id, from: row.state, to } },
          );
        }
        const refunded = input.refundedAmount;
        if (to === 'refunded' && !(Number.isSafeInteger(refunded) && refunded! > 0 && refunded! <= row.amount)) {
          throw new PosError(
            'CODPOS_SPOOL_BAD_RECORD',
            `QR payment ${id}: a refund of ${String(refunded)} is not between 1 and the ${row.amount} paid`,
            { details: { id, field: 'refundedAmount' } },
          );
        }
        if (to !== 'refunded' && refunded !== undefined) {
          throw new PosError('CODPOS_SPOOL_BAD_RECORD', `QR payment ${id}: a refunded amount goes only with refunded`, {
            details: { id, field: 'refundedAmount' },
          });
        }
        const now = this.clock.now();
        this.sql.move.run({
          id,
          from: row.state,
          to,
          now,
          finalAt: FINAL.has(to) && row.final_at === null ? now : null,
          reason: input.reason ?? null,
          wallet: input.wallet ?? null,
          pspOrderId: input.pspOrderId ?? null,
          refundedAmount: refunded ?? null,
        });
        this.sql.history.run(id, row.state, to, now, input.reason ?? null);
        if (input.outbox) this.writeOutbox(input.outbox);
        return toTxn(this.sql.byId.get(id) as Row);
      })();
    } catch (error) {
      throw toSpoolError(error, 'moving a QR payment');
    }
  }

  get(id: string): QrTransaction | undefined {
    const row = this.sql.byId.get(id) as Row | undefined;
    return row && toTxn(row);
  }

  /** The QR payments the PSP has not finished (pending or unknown), oldest first: what the resolver asks about. */
  outstanding(): QrTransaction[] {
    return (this.sql.outstanding.all() as Row[]).map(toTxn);
  }

  /** The waybill's QR payment still pending or unknown, if it has one. */
  outstandingFor(waybill: string): QrTransaction | undefined {
    const row = this.sql.outstandingFor.get(waybill) as Row | undefined;
    return row && toTxn(row);
  }

  /** The moves of one payment, oldest first. */
  history(id: string): Array<{ from: QrState | null; to: QrState; at: number; reason: string | null }> {
    return this.sql.historyOf.all(id) as Array<{
      from: QrState | null;
      to: QrState;
      at: number;
      reason: string | null;
    }>;
  }

  /** QR payments oldest first, narrowed by state, waybill and when they were begun (a local day is a range). */
  list(options: QrListOptions = {}): QrTransaction[] {
    const { where, args } = whereOf([
      ['state = ?', options.state],
      ['waybill = ?', options.waybill],
      ['created_at >= ?', options.createdFrom],
      ['created_at < ?', options.createdBefore],
    ]);
    const rows = this.db
      .prepare(`SELECT * FROM qr_txn ${where} ORDER BY created_at, id LIMIT ?`)
      .all(...args, options.limit ?? 1000) as Row[];
    return rows.map(toTxn);
  }

  /** How many QR payments stand in each state (the status page's and `codpos spool status`' counts). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const row of this.db.prepare('SELECT state, count(*) AS n FROM qr_txn GROUP BY state').all() as Array<{
      state: string;
      n: number;
    }>)
      counts[row.state] = row.n;
    return counts;
  }

  /** Deletes QR payments in a final state last changed before `before` (ms); never a pending or unknown one. */
  purgeFinished(before: number): number {
    try {
      return this.sql.purge.run(before).changes;
    } catch (error) {
      throw toSpoolError(error, 'purging finished QR payments');
    }
  }

  private writeOutbox(write: OutboxWrite): void {
    writeOutboxRecord(this.outbox, write, 'this QR journal');
  }
}

function toTxn(row: Row): QrTransaction {
  return {
    id: row.id,
    mode: row.mode,
    state: row.state,
    amount: row.amount,
    currency: row.currency,
    waybill: row.waybill,
    ...(row.psp_order_id !== null ? { pspOrderId: row.psp_order_id } : {}),
    ...(row.wallet !== null ? { wallet: row.wallet } : {}),
    ...(row.payload !== null ? { payload: row.payload } : {}),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    refundedAmount: row.refunded_amount,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.final_at !== null ? { finalAt: row.final_at } : {}),
  };
}

function validateBegin(input: QrBeginInput): void {
  const bad = (field: string, expected: string, got: unknown) =>
    new PosError('CODPOS_SPOOL_BAD_RECORD', `QR payment ${field}: expected ${expected}, got ${JSON.stringify(got)}`, {
      details: { field },
    });
  if (input.mode !== 'merchant' && input.mode !== 'consumer') throw bad('mode', 'merchant or consumer', input.mode);
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0)
    throw bad('amount', 'a whole number of minor units above 0', input.amount);
  if (typeof input.currency !== 'string' || !/^[0-9]{3}$/.test(input.currency))
    throw bad('currency', '3 digits (ISO 4217 numeric)', input.currency);
  if (typeof input.waybill !== 'string' || input.waybill.length === 0)
    throw bad('waybill', 'the waybill the payment collects for', input.waybill);
}

function noSuchTxn(id: string): PosError {
  return new PosError('CODPOS_SPOOL_NO_SUCH_RECORD', `no QR payment with id ${id}`, { details: { id } });
}
