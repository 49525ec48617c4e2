/**
 * Payment receipts, kept in the spool so that a printer never holds a payment up. A payment's
 * receipt is stored `held` in the same breath as its outcome is answered, then printed outside
 * the one-payment-at-a-time guard; it becomes `printed` once the printer confirms it. A printer
 * that cannot print (paper out, cover open, offline, unplugged, or no printer) ends the attempt
 * at once: the driver would otherwise hold the job until the printer is back, and the courier
 * would wait on it. A printer that is slow is given `waitMs`, after which the attempt answers
 * "not printed" (a job already sent is the printer's: when it confirms later, the receipt
 * becomes printed and `receipt.printed` is published). A held receipt survives a restart and is
 * printed again on request (POST /v1/receipts/reprint); a receipt reprinted after it was printed
 * says REPRINT.
 *
 * Events: `receipt.printed` { journalId }, `receipt.held` { journalId, reason }.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../../config/errors.js';
import type { PrinterDriver, PrinterState } from '../../drivers/printer/driver.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import { toSpoolError } from '../../spool/database.js';
import type { EventBus } from '../api/events.js';
import type { Logger } from '../log.js';
import type { CardPaymentResult } from './card-payment.js';

/** What a payment's receipt prints, as stored: the card as its last four digits at most. */
export interface StoredReceipt {
  /** When the payment ended (ISO 8601); printed in the terminal's local time. */
  at: string;
  /** The amount asked for (minor units); the payment says what was approved. */
  amount: number;
  currency: string;
  waybill?: string;
  payment: CardPaymentResult;
  /** In print order: the merchant's copy (with a signature line) first when the CVM wants a signature. */
  copies: Array<'merchant' | 'customer'>;
}

export type ReceiptState = 'held' | 'printed';

export interface PrintAttempt {
  printed: boolean;
  /** Why not, in words for the courier. */
  reason?: string;
}

export interface ReprintOutcome {
  printed: string[];
  held: Array<{ journalId: string; reason: string }>;
}

export interface ReceiptQueueDeps {
  db: Database;
  printer: () => PrinterDriver | undefined;
  /** The ESC/POS bytes of one copy. */
  render: (
    receipt: StoredReceipt,
    journalId: string,
    copy: 'merchant' | 'customer',
    options: { profile: PrinterProfile; reprint: boolean },
  ) => Buffer;
  events: EventBus;
  log: Logger;
  clock?: () => number;
}

interface Row {
  journal_id: string;
  state: ReceiptState;
  content: string;
  attempts: number;
  last_error: string | null;
}

export class ReceiptQueue {
  private readonly sql: Record<'insert' | 'find' | 'held' | 'printed' | 'failed' | 'prune', Statement>;
  /** Print attempts still able to give up (their job not sent yet): ended by stop(). */
  private readonly inFlight = new Set<AbortController>();
  private readonly clock: () => number;

  constructor(private readonly deps: ReceiptQueueDeps) {
    this.clock = deps.clock ?? Date.now;
    const { db } = deps;
    this.sql = {
      insert: db.prepare(
        `INSERT INTO payment_receipt (journal_id, state, content, created_at) VALUES (@journalId, 'held', @content, @now) ON CONFLICT (journal_id) DO NOTHING`,
      ),
      find: db.prepare(
        'SELECT journal_id, state, content, attempts, last_error FROM payment_receipt WHERE journal_id = ?',
      ),
      held: db.prepare(`SELECT journal_id FROM payment_receipt WHERE state = 'held' ORDER BY created_at, rowid`),
      printed: db.prepare(
        `UPDATE payment_receipt SET state = 'printed', printed_at = @now, attempts = attempts + 1, last_error = NULL WHERE journal_id = @journalId`,
      ),
      failed: db.prepare(
        'UPDATE payment_receipt SET attempts = attempts + 1, last_error = @reason WHERE journal_id = @journalId',
      ),
      prune: db.prepare(`DELETE FROM payment_receipt WHERE state = 'printed' AND printed_at < ?`),
    };
  }

  /** Keeps a payment's receipt as held (durable when this returns); a receipt already kept stays as it is. */
  hold(journalId: string, receipt: StoredReceipt): void {
    try {
      this.sql.insert.run({ journalId, content: JSON.stringify(receipt), now: this.clock() });
    } catch (error) {
      throw toSpoolError(error, `keeping the receipt of payment ${journalId}`);
    }
  }

  /** A payment's kept receipt and whether it printed. */
  kept(journalId: string): { state: ReceiptState; content: StoredReceipt } | undefined {
    const row = this.sql.find.get(journalId) as Row | undefined;
    return row && { state: row.state, content: JSON.parse(row.content) as StoredReceipt };
  }

  /** The journal ids of the receipts not printed yet, oldest first. */
  held(): string[] {
    return (this.sql.held.all() as Array<{ journal_id: string }>).map((row) => row.journal_id);
  }

  /**
   * One attempt to print a kept receipt, every copy; resolves within `waitMs`, at once when the
   * printer cannot print. Never rejects for a printer fault: the receipt stays held.
   */
  async print(journalId: string, waitMs: number): Promise<PrintAttempt> {
    const row = this.sql.find.get(journalId) as Row | undefined;
    if (!row)
      throw new PosError('CODPOS_USAGE_NO_RECEIPT', `no receipt is kept for journal row ${journalId}`, {
        details: { journalId },
      });
    const receipt = JSON.parse(row.content) as StoredReceipt;
    const reprint = row.state === 'printed';
    const printer = this.deps.printer();
    if (!printer) return this.notPrinted(journalId, 'there is no receipt printer', reprint);
    if (printer.state.state === 'held')
      return this.notPrinted(journalId, `the printer cannot print: ${printer.state.reason}`, reprint);

    return new Promise<PrintAttempt>((resolve) => {
      const controller = new AbortController();
      this.inFlight.add(controller);
      let answered = false;
      const answer = (attempt: PrintAttempt) => {
        if (answered) return;
        answered = true;
        resolve(attempt.printed ? attempt : this.notPrinted(journalId, attempt.reason!, reprint));
      };
      const giveUp = (reason: string) => {
        // A job not sent yet is dropped; one already sent is the printer's, and its end still counts.
        controller.abort();
        answer({ printed: false, reason });
      };
      // The printer stops on paper out, an open cover or a lost link: the job would wait for it.
      // The driver announces `held` just before it starts waiting on the job's signal: abort after
      // that (a microtask later), or the abort would go unseen until its next status poll.
      const onState = (state: PrinterState) =>
        state.state === 'held' && queueMicrotask(() => giveUp(`the printer cannot print: ${state.reason}`));
      printer.on('state', onState);
      const timer = setTimeout(() => giveUp(`the printer did not finish within ${waitMs} ms`), waitMs);
      (async () => {
        for (const copy of receipt.copies)
          await printer.print(this.deps.render(receipt, journalId, copy, { profile: printer.profile, reprint }), {
            signal: controller.signal,
          });
      })()
        .then(
          () => {
            this.printed(journalId);
            answer({ printed: true });
          },
          (error: unknown) => answer({ printed: false, reason: (error as Error).message }),
        )
        .finally(() => {
          clearTimeout(timer);
          printer.off('state', onState);
          this.inFlight.delete(controller);
        });
    });
  }

  /** Prints one kept receipt again (`journalId`), or every held one, oldest first. */
  async reprint(journalId: string | undefined, waitMs: number): Promise<ReprintOutcome> {
    const ids = journalId === undefined ? this.held() : [journalId];
    const outcome: ReprintOutcome = { printed: [], held: [] };
    for (const id of ids) {
      const attempt = await this.print(id, waitMs);
      if (attempt.printed) outcome.printed.push(id);
      else outcome.held.push({ journalId: id, reason: attempt.reason ?? 'not printed' });
    }
    return outcome;
  }

  /** Printed receipts older than `before` (ms) are dropped; held ones stay until printed. */
  prunePrinted(before: number): number {
    return this.sql.prune.run(before).changes;
  }

  /** Print attempts whose job is not sent yet give up (the daemon is stopping). */
  stop(): void {
    for (const controller of this.inFlight) controller.abort();
  }

  private printed(journalId: string): void {
    this.quietly(() => this.sql.printed.run({ journalId, now: this.clock() }));
    this.deps.events.publish('receipt.printed', { journalId });
  }

  /** A receipt printed before stays printed when its reprint fails; else it stays held. */
  private notPrinted(journalId: string, reason: string, reprint: boolean): PrintAttempt {
    this.quietly(() => this.sql.failed.run({ journalId, reason }));
    this.deps.log.warn(
      { journalId, reason },
      reprint ? 'receipt not reprinted' : 'receipt not printed: held for a reprint',
    );
    if (!reprint) this.deps.events.publish('receipt.held', { journalId, reason });
    return { printed: false, reason };
  }

  /** A receipt's bookkeeping after the fact (the spool may be closing): a failure is logged, not thrown. */
  private quietly(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.deps.log.warn({ err: error }, 'receipt bookkeeping not written');
    }
  }
}
