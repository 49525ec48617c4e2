/**
 * The courier's end of day, from what the terminal recorded: the cash to hand over, the card
 * collections, the exceptions, and the reconciliation that matches every COD delivery with its
 * payment one by one. A card collection whose journal row no longer stands (reversed, voided)
 * and a card payment for a waybill no delivery names are listed as problems to settle with the
 * depot before the courier leaves.
 *
 * The day is the terminal's local calendar day of each record's time.
 */
import { STREAMS, type Spool } from '../../spool/index.js';
import { localDateText } from '../payment/receipt.js';

export interface DayReport {
  date: string;
  deliveries: number;
  pickups: number;
  cash: { count: number; amount: number };
  card: { count: number; amount: number };
  exceptions: Record<string, number>;
  /** Each COD delivery and how it was paid; `matched` false names the problem. */
  collections: Array<{ waybill: string; method: 'cash' | 'card'; amount: number; journalId?: string; matched: boolean; problem?: string }>;
  /** Card payments of the day for a waybill that no delivery collected with. */
  unmatchedPayments: Array<{ journalId: string; waybill: string | null; amount: number; state: string }>;
  /**
   * Each cash-on-delivery waybill on the task list and where it stands: collected (cash or
   * card), an exception (with its reason: the parcel and its COD go back to the depot), or open.
   */
  codDue: Array<{ waybill: string; amount: number; status: 'collected' | 'exception' | 'open'; method?: 'cash' | 'card'; reason?: string }>;
}

const STANDING = new Set(['approved', 'offline_approved', 'advised', 'settled']);

interface EventPayload {
  kind?: string;
  waybill?: string;
  at?: string;
  reason?: string;
  cod?: { method?: string; amount?: number; journalId?: string };
}

export function dayReport(spool: Spool, date: string): DayReport {
  const report: DayReport = { date, deliveries: 0, pickups: 0, cash: { count: 0, amount: 0 }, card: { count: 0, amount: 0 }, exceptions: {}, collections: [], unmatchedPayments: [], codDue: [] };
  const collectedBy = new Set<string>();
  /** The last word on each waybill today: how it was collected, or the exception. */
  const outcome = new Map<string, { status: 'collected' | 'exception'; method?: 'cash' | 'card'; reason?: string }>();
  for (const record of allRecords(spool, STREAMS.waybillEvent)) {
    const event = record.payload as EventPayload;
    if (typeof event.at !== 'string' || localDateText(new Date(event.at)) !== date) continue;
    if (event.kind === 'pickup') report.pickups++;
    if (event.kind === 'exception') {
      report.exceptions[event.reason ?? 'unknown'] = (report.exceptions[event.reason ?? 'unknown'] ?? 0) + 1;
      if (event.waybill && outcome.get(event.waybill)?.status !== 'collected') outcome.set(event.waybill, { status: 'exception', ...(event.reason ? { reason: event.reason } : {}) });
    }
    if (event.kind !== 'delivery') continue;
    report.deliveries++;
    const cod = event.cod;
    if (!cod || typeof cod.amount !== 'number') continue;
    const waybill = event.waybill ?? '';
    if (cod.method === 'cash' || cod.method === 'card') outcome.set(waybill, { status: 'collected', method: cod.method });
    if (cod.method === 'cash') {
      report.cash.count++;
      report.cash.amount += cod.amount;
      report.collections.push({ waybill, method: 'cash', amount: cod.amount, matched: true });
      continue;
    }
    const txn = cod.journalId ? spool.journal.get(cod.journalId) : undefined;
    if (cod.journalId) collectedBy.add(cod.journalId);
    const problem = !txn ? 'its card payment is not in the journal' : !STANDING.has(txn.state) ? `its card payment is ${txn.state}` : txn.amount !== cod.amount ? `its card payment was for ${txn.amount}` : undefined;
    if (problem === undefined) {
      report.card.count++;
      report.card.amount += cod.amount;
    }
    report.collections.push({ waybill, method: 'card', amount: cod.amount, ...(cod.journalId ? { journalId: cod.journalId } : {}), matched: problem === undefined, ...(problem ? { problem } : {}) });
  }
  for (const task of spool.tasks.tasks()) {
    if (task.kind !== 'delivery' || task.codAmount === 0) continue;
    const known = outcome.get(task.waybill);
    report.codDue.push({ waybill: task.waybill, amount: task.codAmount, status: known?.status ?? 'open', ...(known?.method ? { method: known.method } : {}), ...(known?.reason ? { reason: known.reason } : {}) });
  }
  for (const txn of spool.journal.list({ limit: 100_000 })) {
    if (localDateText(new Date(txn.createdAt)) !== date || !STANDING.has(txn.state) || txn.kind !== 'purchase' || collectedBy.has(txn.id)) continue;
    report.unmatchedPayments.push({ journalId: txn.id, waybill: txn.waybill, amount: txn.amount, state: txn.state });
  }
  return report;
}

/** Every record of a stream still in the spool (forwarded ones too, until the retention purge). */
export function allRecords(spool: Spool, stream: string) {
  const out = [];
  let afterSeq = 0;
  for (;;) {
    const page = spool.outbox.list({ stream, afterSeq, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}
