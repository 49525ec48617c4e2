/**
 * The card transaction journal: one row per card payment, void or refund, moved
 * through a state machine; the counters it uses (STAN, RRN, invoice, batch) are
 * advanced in the same transaction that writes the row.
 *
 *   pending ──> approved ──> settled
 *      │           ├──> voided
 *      │           └──> reversal_pending ──> reversed
 *      ├──> declined
 *      ├──> reversal_pending            (no answer: reverse before anything new)
 *      └──> offline_approved ──> advised ──> settled
 *                  └──> voided             └──> voided
 *
 * Card data: the PAN is sealed (the row keeps first 6 / last 4 for display);
 * track-2 equivalent data and the PIN block are sealed too and erased, in the
 * same transaction, the moment the authorization has any answer — the table's
 * CHECK constraint makes keeping them past `pending` impossible.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../config/errors.js';
import { maskPan, luhnValid } from '../config/masking.js';
import { systemClock, type Clock } from './clock.js';
import { IdGenerator } from './ids.js';
import { Counters } from './counters.js';
import { toSpoolError } from './database.js';
import { assertOfflineAllowed, DEFAULT_LIMITS, type SpoolLimits } from './limits.js';
import type { Outbox } from './outbox.js';
import type { Vault } from './vault.js';

export type TxnState =
  | 'pending'
  | 'approved'
  | 'declined'
  | 'reversal_pending'
  | 'reversed'
  | 'offline_approved'
  | 'advised'
  | 'voided'
  | 'settled';
export type TxnKind = 'purchase' | 'void' | 'refund';

export const TXN_STATES: readonly TxnState[] = [
  'pending',
  'approved',
  'declined',
  'reversal_pending',
  'reversed',
  'offline_approved',
  'advised',
  'voided',
  'settled',
];

/** The legal moves; anything else is a CODPOS_SPOOL_ILLEGAL_TRANSITION. */
export const TRANSITIONS: Readonly<Record<TxnState, readonly TxnState[]>> = {
  pending: ['approved', 'declined', 'reversal_pending', 'offline_approved'],
  approved: ['settled', 'voided', 'reversal_pending'],
  declined: [],
  reversal_pending: ['reversed'],
  reversed: [],
  offline_approved: ['advised', 'voided'],
  advised: ['settled', 'voided'],
  voided: [],
  settled: [],
};

export interface CardTransaction {
  id: string;
  kind: TxnKind;
  state: TxnState;
  offline: boolean;
  amount: number;
  /**
   * What the issuer approved: `amount`, or less after a partial approval (response 10). The
   * settlement totals and the reconciliation count this; the rest is still due from the consignee.
   */
  approvedAmount: number;
  currency: string;
  stan: number;
  rrn: string;
  batch: number;
  invoice: number;
  waybill: string | null;
  originalId: string | null;
  /** First 6 / last 4 at most. */
  panMasked: string | null;
  /** True while sealed track-2 / PIN block data is held (only in `pending`). */
  holdsSensitiveData: boolean;
  responseCode: string | null;
  authCode: string | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Sensitive authentication data: held sealed only until the authorization has an answer. */
export interface SensitiveAuthData {
  /** Track-2 equivalent data (DE35 / tag 57), e.g. `4761739001010010=22122011143804400000`. */
  track2?: string;
  /** Encrypted PIN block (DE52), hex. */
  pinBlock?: string;
  /** DUKPT key serial number that goes with the PIN block, hex. */
  ksn?: string;
}

export interface OutboxWrite {
  stream: string;
  payload: unknown;
  sealed?: unknown;
  id?: string;
}

export interface BeginInput {
  kind?: TxnKind;
  amount: number;
  /** ISO 4217 numeric. */
  currency: string;
  pan?: string;
  sensitive?: SensitiveAuthData;
  /** Authorized offline (deferred, or approved offline by the card): the offline caps apply. */
  offline?: boolean;
  waybill?: string;
  /** The transaction a void or refund refers to. */
  originalId?: string;
  /** An outbox record written in the same transaction. */
  outbox?: OutboxWrite;
}

export interface TransitionInput {
  responseCode?: string;
  /** A partial approval's approved amount (minor units, above 0 and below the amount asked). */
  approvedAmount?: number;
  authCode?: string;
  reason?: string;
  /** An outbox record (advice, reversal, ...) written in the same transaction as the state change. */
  outbox?: OutboxWrite;
}

export interface JournalOptions {
  clock?: Clock;
  ids?: IdGenerator;
  vault?: Vault;
  outbox?: Outbox;
  limits?: SpoolLimits;
}

interface Row {
  id: string;
  kind: TxnKind;
  state: TxnState;
  offline: number;
  amount: number;
  approved_amount: number | null;
  currency: string;
  stan: number;
  rrn: string;
  batch: number;
  invoice: number;
  waybill: string | null;
  original_id: string | null;
  pan_masked: string | null;
  pan_sealed: Buffer | null;
  sad_sealed: Buffer | null;
  response_code: string | null;
  auth_code: string | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

const PAN_FIELD = 'card_txn.pan';
const SAD_FIELD = 'card_txn.sad';
const CLEARING_FIELD = 'card_txn.clearing';

export class Journal {
  readonly counters: Counters;
  private readonly clock: Clock;
  private readonly ids: IdGenerator;
  private readonly vault: Vault | undefined;
  private readonly outbox: Outbox | undefined;
  private readonly limits: SpoolLimits;
  private readonly sql: Record<string, Statement>;

  constructor(
    private readonly db: Database,
    options: JournalOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? new IdGenerator(this.clock);
    this.vault = options.vault;
    this.outbox = options.outbox;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.counters = new Counters(db);
    this.sql = {
      insert: db.prepare(
        `INSERT INTO card_txn (id, kind, state, offline, amount, currency, stan, rrn, batch, invoice, waybill, original_id,
                               pan_masked, pan_sealed, sad_sealed, created_at, updated_at)
         VALUES (@id, @kind, 'pending', @offline, @amount, @currency, @stan, @rrn, @batch, @invoice, @waybill, @originalId,
                 @panMasked, @panSealed, @sadSealed, @now, @now)`,
      ),
      byId: db.prepare('SELECT * FROM card_txn WHERE id = ?'),
      history: db.prepare(
        'INSERT INTO card_txn_history (txn_id, from_state, to_state, at, reason) VALUES (?, ?, ?, ?, ?)',
      ),
      move: db.prepare(
        `UPDATE card_txn SET state = @to, offline = coalesce(@offline, offline), updated_at = @now,
           response_code = coalesce(@responseCode, response_code), auth_code = coalesce(@authCode, auth_code),
           approved_amount = coalesce(@approvedAmount, approved_amount),
           reason = coalesce(@reason, reason),
           sad_sealed = CASE WHEN @to = 'pending' THEN sad_sealed ELSE NULL END
         WHERE id = @id AND state = @from`,
      ),
      erase: db.prepare('UPDATE card_txn SET sad_sealed = NULL WHERE id = ?'),
      clearing: db.prepare('UPDATE card_txn SET clearing = @clearing, clearing_sealed = @sealed WHERE id = @id'),
      historyOf: db.prepare(
        'SELECT from_state AS "from", to_state AS "to", at, reason FROM card_txn_history WHERE txn_id = ? ORDER BY rowid',
      ),
      settleBatch: db.prepare(`SELECT id, state FROM card_txn WHERE batch = ? AND state IN ('approved', 'advised')`),
      totals: db.prepare(
        `SELECT kind, count(*) AS count, coalesce(sum(coalesce(approved_amount, amount)), 0) AS amount FROM card_txn
         WHERE batch = ? AND state IN ('approved', 'advised', 'offline_approved', 'settled') GROUP BY kind`,
      ),
      purge: db.prepare(
        `DELETE FROM card_txn WHERE state IN ('declined', 'reversed', 'voided', 'settled') AND updated_at < ?`,
      ),
    };
  }

  /**
   * Starts a transaction in `pending`: allocates STAN, RRN, invoice and the open
   * batch, seals the card data, and writes it all (with an optional outbox record)
   * in one durable commit. Offline payments are checked against the offline caps
   * in the same transaction.
   */
  begin(input: BeginInput): CardTransaction {
    const kind = input.kind ?? 'purchase';
    validateBegin(input, kind);
    if ((input.pan !== undefined || input.sensitive !== undefined) && !this.vault) {
      throw new PosError(
        'CODPOS_SPOOL_NO_VAULT',
        'card data cannot be journaled: the spool was opened without a vault key',
      );
    }
    const id = this.ids.next();
    try {
      return this.db.transaction(() => {
        const now = this.clock.now();
        if (input.offline) assertOfflineAllowed(this.db, this.limits, input.amount, now);
        if (input.originalId !== undefined && !this.sql.byId!.get(input.originalId)) {
          throw new PosError(
            'CODPOS_SPOOL_NO_SUCH_RECORD',
            `the original transaction ${input.originalId} is not in the journal`,
            { details: { field: 'originalId' } },
          );
        }
        const stan = this.counters.next('stan');
        const rrnSequence = this.counters.next('rrn');
        const invoice = this.counters.next('invoice');
        const batch = this.counters.openBatch();
        const sad =
          input.sensitive && Object.values(input.sensitive).some((v) => v !== undefined)
            ? JSON.stringify(input.sensitive)
            : undefined;
        this.sql.insert!.run({
          id,
          kind,
          offline: input.offline ? 1 : 0,
          amount: input.amount,
          currency: input.currency,
          stan,
          rrn: retrievalReference(now, rrnSequence),
          batch,
          invoice,
          waybill: input.waybill ?? null,
          originalId: input.originalId ?? null,
          panMasked: input.pan === undefined ? null : maskPan(input.pan),
          panSealed: input.pan === undefined ? null : this.vault!.seal(id, PAN_FIELD, input.pan),
          sadSealed: sad === undefined ? null : this.vault!.seal(id, SAD_FIELD, sad),
          now,
        });
        this.sql.history!.run(id, null, 'pending', now, null);
        if (input.outbox) this.writeOutbox(input.outbox);
        return this.toTxn(this.sql.byId!.get(id) as Row);
      })();
    } catch (error) {
      throw toSpoolError(error, 'journaling a card transaction');
    }
  }

  /** Moves a transaction to `to` in one durable commit; an illegal move is a PosError. */
  transition(id: string, to: TxnState, input: TransitionInput = {}): CardTransaction {
    if (!TXN_STATES.includes(to))
      throw new PosError(
        'CODPOS_SPOOL_BAD_REQUEST',
        `unknown transaction state "${to}"; states are ${TXN_STATES.join(', ')}`,
      );
    try {
      return this.db.transaction(() => {
        const row = this.sql.byId!.get(id) as Row | undefined;
        if (!row) throw noSuchTxn(id);
        if (!TRANSITIONS[row.state].includes(to)) {
          throw new PosError(
            'CODPOS_SPOOL_ILLEGAL_TRANSITION',
            `transaction ${id} cannot go from ${row.state} to ${to}` +
              (TRANSITIONS[row.state].length
                ? ` (allowed: ${TRANSITIONS[row.state].join(', ')})`
                : ` (${row.state} is final)`),
            {
              details: { id, from: row.state, to },
            },
          );
        }
        const now = this.clock.now();
        let offline = row.offline;
        if (to === 'offline_approved' && !offline) {
          // Approved offline after starting online (the host did not answer): the caps apply now.
          assertOfflineAllowed(this.db, this.limits, row.amount, now);
          offline = 1;
        }
        if (
          input.approvedAmount !== undefined &&
          !(
            Number.isSafeInteger(input.approvedAmount) &&
            input.approvedAmount > 0 &&
            input.approvedAmount <= row.amount
          )
        ) {
          throw new PosError(
            'CODPOS_SPOOL_BAD_RECORD',
            `transaction ${id}: an approved amount of ${String(input.approvedAmount)} is not between 1 and the ${row.amount} asked for`,
            { details: { field: 'approvedAmount' } },
          );
        }
        this.sql.move!.run({
          id,
          from: row.state,
          to,
          offline,
          now,
          responseCode: input.responseCode ?? null,
          authCode: input.authCode ?? null,
          approvedAmount: input.approvedAmount ?? null,
          reason: input.reason ?? null,
        });
        this.sql.history!.run(id, row.state, to, now, input.reason ?? input.responseCode ?? null);
        if (input.outbox) this.writeOutbox(input.outbox);
        return this.toTxn(this.sql.byId!.get(id) as Row);
      })();
    } catch (error) {
      throw toSpoolError(error, `moving transaction ${id} to ${to}`);
    }
  }

  /** Erases the sealed track-2 / PIN block now (the card was pulled before the request went out). */
  eraseSensitive(id: string): void {
    if (this.sql.erase!.run(id).changes === 0) throw noSuchTxn(id);
  }

  get(id: string): CardTransaction | undefined {
    const row = this.sql.byId!.get(id) as Row | undefined;
    return row && this.toTxn(row);
  }

  /** The full PAN, for building the acquirer message. Never print it. */
  openPan(id: string): string | undefined {
    const row = this.sql.byId!.get(id) as Row | undefined;
    if (!row) throw noSuchTxn(id);
    if (row.pan_sealed === null) return undefined;
    return this.requireVault().openText(id, PAN_FIELD, row.pan_sealed);
  }

  /**
   * Keeps an approved payment's clearing data (what a void or a batch upload re-sends): the
   * clear fields as they are, the card-data part (`sealed`: expiry, DE55) sealed under the row.
   */
  recordClearing(id: string, clearing: Record<string, string>, sealed?: Record<string, string>): void {
    const row = this.sql.byId!.get(id) as Row | undefined;
    if (!row) throw noSuchTxn(id);
    const sealedBlob =
      sealed && Object.keys(sealed).length > 0 && this.vault
        ? this.vault.seal(id, CLEARING_FIELD, JSON.stringify(sealed))
        : null;
    this.sql.clearing!.run({ id, clearing: JSON.stringify(clearing), sealed: sealedBlob });
  }

  /** The clearing data of a payment (sealed part opened), or undefined when none was kept. */
  clearingOf(id: string): { clear: Record<string, string>; sealed: Record<string, string> } | undefined {
    const row = this.sql.byId!.get(id) as
      (Row & { clearing: string | null; clearing_sealed: Buffer | null }) | undefined;
    if (!row) throw noSuchTxn(id);
    if (row.clearing === null) return undefined;
    const sealed =
      row.clearing_sealed === null
        ? {}
        : (JSON.parse(this.requireVault().openText(id, CLEARING_FIELD, row.clearing_sealed)) as Record<string, string>);
    return { clear: JSON.parse(row.clearing) as Record<string, string>, sealed };
  }

  /** Track-2 / PIN block while the authorization is pending; undefined once erased. */
  openSensitive(id: string): SensitiveAuthData | undefined {
    const row = this.sql.byId!.get(id) as Row | undefined;
    if (!row) throw noSuchTxn(id);
    if (row.sad_sealed === null) return undefined;
    return JSON.parse(this.requireVault().openText(id, SAD_FIELD, row.sad_sealed)) as SensitiveAuthData;
  }

  history(id: string): Array<{ from: TxnState | null; to: TxnState; at: number; reason: string | null }> {
    return this.sql.historyOf!.all(id) as Array<{
      from: TxnState | null;
      to: TxnState;
      at: number;
      reason: string | null;
    }>;
  }

  /**
   * Transactions oldest first, narrowed by state, batch, waybill and when they were begun
   * (`createdFrom` inclusive, `createdBefore` exclusive, ms: a local day is a range, not a date).
   */
  list(
    options: {
      state?: TxnState;
      batch?: number;
      waybill?: string;
      createdFrom?: number;
      createdBefore?: number;
      limit?: number;
    } = {},
  ): CardTransaction[] {
    const { where, args } = whereOf([
      ['state = ?', options.state],
      ['batch = ?', options.batch],
      ['waybill = ?', options.waybill],
      ['created_at >= ?', options.createdFrom],
      ['created_at < ?', options.createdBefore],
    ]);
    const rows = this.db
      .prepare(`SELECT * FROM card_txn ${where} ORDER BY created_at, id LIMIT ?`)
      .all(...args, options.limit ?? 1000) as Row[];
    return rows.map((row) => this.toTxn(row));
  }

  /** Count and approved amount per kind in a batch (what a 0500 settlement carries). */
  totals(batch: number): Record<TxnKind, { count: number; amount: number }> {
    const totals = {
      purchase: { count: 0, amount: 0 },
      void: { count: 0, amount: 0 },
      refund: { count: 0, amount: 0 },
    };
    for (const row of this.sql.totals!.all(batch) as Array<{ kind: TxnKind; count: number; amount: number }>)
      totals[row.kind] = { count: row.count, amount: row.amount };
    return totals;
  }

  /**
   * After the acquirer accepted the settlement: the batch's approved and advised
   * transactions become settled and the batch number advances, in one commit.
   */
  closeBatch(): { closed: number; settled: number; next: number } {
    try {
      return this.db.transaction(() => {
        const closed = this.counters.openBatch();
        const now = this.clock.now();
        const rows = this.sql.settleBatch!.all(closed) as Array<{ id: string; state: TxnState }>;
        for (const row of rows) {
          this.sql.move!.run({
            id: row.id,
            from: row.state,
            to: 'settled',
            offline: null,
            now,
            responseCode: null,
            authCode: null,
            approvedAmount: null,
            reason: null,
          });
          this.sql.history!.run(row.id, row.state, 'settled', now, `batch ${closed} settled`);
        }
        return { closed, settled: rows.length, next: this.counters.next('batch') };
      })();
    } catch (error) {
      throw toSpoolError(error, 'closing the batch');
    }
  }

  /** Deletes transactions in a final state last changed before `before` (ms). Returns how many. */
  purgeFinished(before: number): number {
    try {
      return this.sql.purge!.run(before).changes;
    } catch (error) {
      throw toSpoolError(error, 'purging finished transactions');
    }
  }

  private writeOutbox(write: OutboxWrite): void {
    writeOutboxRecord(this.outbox, write, 'this journal');
  }

  private requireVault(): Vault {
    if (!this.vault)
      throw new PosError(
        'CODPOS_SPOOL_NO_VAULT',
        'sealed card data cannot be opened: the spool was opened without a vault key',
      );
    return this.vault;
  }

  private toTxn(row: Row): CardTransaction {
    return {
      id: row.id,
      kind: row.kind,
      state: row.state,
      offline: row.offline === 1,
      amount: row.amount,
      approvedAmount: row.approved_amount ?? row.amount,
      currency: row.currency,
      stan: row.stan,
      rrn: row.rrn,
      batch: row.batch,
      invoice: row.invoice,
      waybill: row.waybill,
      originalId: row.original_id,
      panMasked: row.pan_masked,
      holdsSensitiveData: row.sad_sealed !== null,
      responseCode: row.response_code,
      authCode: row.auth_code,
      reason: row.reason,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

/**
 * The WHERE clause of a journal listing: each condition whose value is given, joined by AND
 * (empty when none is), with its values in order.
 */
export function whereOf(filters: ReadonlyArray<readonly [condition: string, value: unknown]>): {
  where: string;
  args: unknown[];
} {
  const given = filters.filter(([, value]) => value !== undefined);
  return {
    where: given.length ? 'WHERE ' + given.map(([condition]) => condition).join(' AND ') : '',
    args: given.map(([, value]) => value),
  };
}

/** A journal's outbox record, written inside the caller's transaction (the move and its record are one commit). */
export function writeOutboxRecord(outbox: Outbox | undefined, write: OutboxWrite, journal: string): void {
  if (!outbox) throw new PosError('CODPOS_SPOOL_BAD_REQUEST', `${journal} has no outbox to write to`);
  outbox.enqueueNow(write.stream, write.payload, {
    ...(write.id !== undefined ? { id: write.id } : {}),
    ...(write.sealed !== undefined ? { sealed: write.sealed } : {}),
  });
}

/**
 * DE37 (12 characters): last digit of the year, day of the year (3), hour (2),
 * then the 6-digit RRN sequence — unique per terminal for ten years of days.
 */
export function retrievalReference(now: number, sequence: number): string {
  const date = new Date(now);
  const startOfYear = Date.UTC(date.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((now - startOfYear) / 86_400_000) + 1;
  return `${date.getUTCFullYear() % 10}${String(dayOfYear).padStart(3, '0')}${String(date.getUTCHours()).padStart(2, '0')}${String(sequence).padStart(6, '0')}`;
}

function validateBegin(input: BeginInput, kind: TxnKind): void {
  const bad = (field: string, expected: string, got: unknown) =>
    new PosError(
      'CODPOS_SPOOL_BAD_RECORD',
      `card transaction ${field}: expected ${expected}, got ${field === 'pan' ? 'a bad value' : JSON.stringify(got)}`,
      { details: { field } },
    );
  if (!['purchase', 'void', 'refund'].includes(kind)) throw bad('kind', 'purchase, void or refund', kind);
  if (!Number.isSafeInteger(input.amount) || input.amount < 0)
    throw bad('amount', 'a whole number of minor units, 0 or more', input.amount);
  if (typeof input.currency !== 'string' || !/^[0-9]{3}$/.test(input.currency))
    throw bad('currency', '3 digits (ISO 4217 numeric)', input.currency);
  if (input.pan !== undefined && !(/^[0-9]{12,19}$/.test(input.pan) && luhnValid(input.pan)))
    throw bad('pan', '12-19 digits passing the Luhn check', input.pan);
  const sad = input.sensitive;
  if (sad?.track2 !== undefined && !/^[0-9]{12,19}[=D][0-9A-F]{4,}F?$/i.test(sad.track2)) {
    throw new PosError(
      'CODPOS_SPOOL_BAD_RECORD',
      'card transaction sensitive.track2: expected track-2 equivalent data (PAN, separator = or D, expiry, service code, ...)',
      { details: { field: 'sensitive.track2' } },
    );
  }
  if (sad?.pinBlock !== undefined && !/^([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})$/.test(sad.pinBlock)) {
    throw new PosError(
      'CODPOS_SPOOL_BAD_RECORD',
      'card transaction sensitive.pinBlock: expected 8 or 16 bytes of hex',
      { details: { field: 'sensitive.pinBlock' } },
    );
  }
  if (kind === 'void' && input.originalId === undefined)
    throw bad('originalId', 'the id of the transaction being voided', undefined);
}

function noSuchTxn(id: string): PosError {
  return new PosError('CODPOS_SPOOL_NO_SUCH_RECORD', `no card transaction with id ${id}`, { details: { id } });
}
