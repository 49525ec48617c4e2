/**
 * Idempotency keys of card payments (`Idempotency-Key` on POST /v1/payments/card), kept in the
 * spool so they outlive a restart: a screen app that lost the answer (its connection dropped,
 * the daemon restarted) asks again with the same key and gets the first payment's answer, never
 * a second payment. A key holds the request it came with (a different request under the same key
 * is refused), the journal row once the payment begun one, and the answer once there is one.
 *
 * Keys are kept a day, and at most the newest 1000: a lost answer is asked for again within
 * seconds or minutes, and the journal (GET /v1/payments/{journalId}) keeps the payment longer.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../../config/errors.js';
import { toSpoolError } from '../../spool/database.js';

export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_KEYS_KEPT = 1000;

export interface StoredPaymentRequest {
  key: string;
  amount: number;
  waybill: string | null;
  journalId: string | null;
  state: 'running' | 'answered';
  /** The answer given (JSON-safe, the card as its last four digits at most); undefined while running. */
  answer: unknown;
  createdAt: number;
}

interface Row {
  key: string;
  amount: number;
  waybill: string | null;
  journal_id: string | null;
  state: 'running' | 'answered';
  answer: string | null;
  created_at: number;
}

/** A key as a client may send it: 1 to 128 printable ASCII characters (a UUID is the usual). */
export function checkIdempotencyKey(value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(value)) {
    throw new PosError(
      'CODPOS_USAGE_IDEMPOTENCY_KEY',
      'Idempotency-Key: expected 1 to 128 printable characters without spaces (a UUID, say)',
    );
  }
  return value;
}

export class PaymentRequests {
  private readonly sql: Record<
    'find' | 'insert' | 'attach' | 'answer' | 'forget' | 'pruneOld' | 'pruneMany',
    Statement
  >;

  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
    private readonly limits: { ttlMs: number; kept: number } = {
      ttlMs: IDEMPOTENCY_KEY_TTL_MS,
      kept: IDEMPOTENCY_KEYS_KEPT,
    },
  ) {
    this.sql = {
      find: db.prepare('SELECT * FROM payment_request WHERE key = ?'),
      insert: db.prepare(
        `INSERT INTO payment_request (key, amount, waybill, state, created_at, updated_at) VALUES (@key, @amount, @waybill, 'running', @now, @now)`,
      ),
      attach: db.prepare('UPDATE payment_request SET journal_id = @journalId, updated_at = @now WHERE key = @key'),
      answer: db.prepare(
        `UPDATE payment_request SET state = 'answered', answer = @answer, journal_id = coalesce(@journalId, journal_id), updated_at = @now WHERE key = @key`,
      ),
      forget: db.prepare('DELETE FROM payment_request WHERE key = ?'),
      pruneOld: db.prepare('DELETE FROM payment_request WHERE created_at < ?'),
      pruneMany: db.prepare(
        'DELETE FROM payment_request WHERE key IN (SELECT key FROM payment_request ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)',
      ),
    };
  }

  find(key: string): StoredPaymentRequest | undefined {
    const row = this.sql.find.get(key) as Row | undefined;
    if (!row) return undefined;
    return {
      key: row.key,
      amount: row.amount,
      waybill: row.waybill,
      journalId: row.journal_id,
      state: row.state,
      answer: row.answer === null ? undefined : JSON.parse(row.answer),
      createdAt: row.created_at,
    };
  }

  /** Records a new key as running (pruning the old ones in the same commit). */
  start(key: string, request: { amount: number; waybill?: string }): void {
    this.write('recording an idempotency key', () => {
      const now = this.clock();
      this.sql.pruneOld.run(now - this.limits.ttlMs);
      this.sql.insert.run({ key, amount: request.amount, waybill: request.waybill ?? null, now });
      this.sql.pruneMany.run(this.limits.kept);
    });
  }

  /** Names the payment's journal row; called inside the transaction that begins the row, so both commit or neither. */
  attachJournal(key: string, journalId: string): void {
    this.sql.attach.run({ key, journalId, now: this.clock() });
  }

  answer(key: string, answer: { journalId?: string }): void {
    this.write('recording a payment answer', () =>
      this.sql.answer.run({
        key,
        answer: JSON.stringify(answer),
        journalId: answer.journalId ?? null,
        now: this.clock(),
      }),
    );
  }

  /** Drops a key whose payment ended in an error before anything was journaled: the same key may be used again. */
  forget(key: string): void {
    this.write('dropping an idempotency key', () => this.sql.forget.run(key));
  }

  private write(what: string, work: () => void): void {
    try {
      this.db.transaction(work)();
    } catch (error) {
      throw toSpoolError(error, what);
    }
  }
}
