/**
 * The courier's end of day, from what the terminal recorded: the cash to hand over, the card
 * and QR collections (each apart), the exceptions, and the reconciliation that matches every
 * COD delivery with its payments one by one. A delivery reconciles only when the parts that
 * still stand (cash, card payments not reversed or voided, each at the amount its issuer
 * approved, and QR payments still paid, not refunded) add up to the COD due; one that does not,
 * and a card or QR payment that no delivery names, are listed as problems to settle with the
 * depot before the courier leaves. A QR payment whose outcome the PSP has not given (unknown)
 * is listed too: only the PSP can say whether the consignee paid.
 *
 * The day is the terminal's local calendar day of each record's time.
 */
import { QR_STANDING_STATES, type QrState, type Spool } from '../../spool/index.js';
import { localDateText } from '../payment/receipt.js';
import { STANDING_STATES, codMethod, groupDigits, recordedParts, type CodMethod } from './cod-collection.js';

export interface DayReport {
  date: string;
  deliveries: number;
  pickups: number;
  /** The cash parts of the day's deliveries (what was kept, not what was tendered); count: deliveries with a cash part. */
  cash: { count: number; amount: number };
  /** Card parts that still stand, at their approved amounts; count: deliveries with such a part. */
  card: { count: number; amount: number };
  /** QR parts whose payment is still paid (not refunded), at their amounts; count: deliveries with such a part. */
  qr: { count: number; amount: number };
  exceptions: Record<string, number>;
  /** Each COD delivery, what was due and what its parts bring in; `matched` false names the problem. */
  collections: DeliveryReconciliation[];
  /** Card payments of the day for a waybill that no delivery collected with. */
  unmatchedPayments: Array<{
    journalId: string;
    waybill: string | null;
    amount: number;
    requested?: number;
    state: string;
  }>;
  /** QR payments begun this day, paid, that no delivery collected with. */
  unmatchedQrPayments: Array<{ qrPaymentId: string; waybill: string; amount: number; wallet?: string }>;
  /** QR payments begun this day whose outcome the PSP has not given: ask the PSP (resolve them) before closing the day. */
  unknownQrPayments: Array<{ qrPaymentId: string; waybill: string; amount: number; problem: string }>;
  /**
   * Each cash-on-delivery waybill on the task list and where it stands: collected (cash, card,
   * QR, or several), an exception (with its reason: the parcel and its COD go back to the depot), or open.
   */
  codDue: Array<{
    waybill: string;
    amount: number;
    status: 'collected' | 'exception' | 'open';
    method?: CodMethod;
    reason?: string;
  }>;
}

export interface DeliveryReconciliation {
  waybill: string;
  method: CodMethod;
  /** The COD due on the delivery. */
  amount: number;
  /** What the parts that still stand bring in. */
  collected: number;
  parts: Array<
    | { method: 'cash'; amount: number }
    | { method: 'card'; journalId: string; amount: number; state: string | null }
    /** `amount`: what the wallet paid; `refunded`: what was given back since (a refunded payment). */
    | { method: 'qr'; qrPaymentId: string; amount: number; state: QrState | null; refunded?: number }
  >;
  matched: boolean;
  /** Present when `collected` falls short of the amount due. */
  stillDue?: number;
  problem?: string;
}

interface EventPayload {
  kind?: string;
  waybill?: string;
  at?: string;
  reason?: string;
  codDue?: number;
  cod?: unknown;
}

export function dayReport(spool: Spool, date: string): DayReport {
  const report: DayReport = {
    date,
    deliveries: 0,
    pickups: 0,
    cash: { count: 0, amount: 0 },
    card: { count: 0, amount: 0 },
    qr: { count: 0, amount: 0 },
    exceptions: {},
    collections: [],
    unmatchedPayments: [],
    unmatchedQrPayments: [],
    unknownQrPayments: [],
    codDue: [],
  };
  const collectedBy = new Set<string>();
  const qrCollectedBy = new Set<string>();
  /** The last word on each waybill today: how it was collected, or the exception. */
  const outcome = new Map<string, { status: 'collected' | 'exception'; method?: CodMethod; reason?: string }>();
  for (const record of eventsAround(spool, date)) {
    const event = record.payload as EventPayload;
    if (typeof event.at !== 'string' || localDateText(new Date(event.at)) !== date) continue;
    if (event.kind === 'pickup') report.pickups++;
    if (event.kind === 'exception') {
      report.exceptions[event.reason ?? 'unknown'] = (report.exceptions[event.reason ?? 'unknown'] ?? 0) + 1;
      if (event.waybill && outcome.get(event.waybill)?.status !== 'collected')
        outcome.set(event.waybill, { status: 'exception', ...(event.reason ? { reason: event.reason } : {}) });
    }
    if (event.kind !== 'delivery') continue;
    report.deliveries++;
    const parts = recordedParts(event.cod);
    if (parts.length === 0) continue;
    const waybill = event.waybill ?? '';
    const method = codMethod(parts);
    outcome.set(waybill, { status: 'collected', method });
    for (const part of parts) {
      if (part.method === 'card') collectedBy.add(part.journalId);
      if (part.method === 'qr') qrCollectedBy.add(part.qrPaymentId);
    }
    const reconciliation = reconcile(spool, waybill, method, parts, event.codDue);
    const cash = reconciliation.parts.filter((part) => part.method === 'cash');
    if (cash.length > 0) {
      report.cash.count++;
      report.cash.amount += cash.reduce((sum, part) => sum + part.amount, 0);
    }
    const standingCards = reconciliation.parts.filter(
      (part) => part.method === 'card' && part.state !== null && STANDING_STATES.has(part.state),
    );
    if (standingCards.length > 0) {
      report.card.count++;
      report.card.amount += standingCards.reduce((sum, part) => sum + part.amount, 0);
    }
    const qrKept = reconciliation.parts.reduce((sum, part) => sum + (part.method === 'qr' ? qrStanding(part) : 0), 0);
    if (qrKept > 0) {
      report.qr.count++;
      report.qr.amount += qrKept;
    }
    report.collections.push(reconciliation);
  }
  for (const task of spool.tasks.tasks()) {
    if (task.kind !== 'delivery' || task.codAmount === 0) continue;
    const known = outcome.get(task.waybill);
    report.codDue.push({
      waybill: task.waybill,
      amount: task.codAmount,
      status: known?.status ?? 'open',
      ...(known?.method ? { method: known.method } : {}),
      ...(known?.reason ? { reason: known.reason } : {}),
    });
  }
  for (const txn of spool.journal.list({ limit: 100_000 })) {
    if (
      localDateText(new Date(txn.createdAt)) !== date ||
      !STANDING_STATES.has(txn.state) ||
      txn.kind !== 'purchase' ||
      collectedBy.has(txn.id)
    )
      continue;
    report.unmatchedPayments.push({
      journalId: txn.id,
      waybill: txn.waybill,
      amount: txn.approvedAmount,
      ...(txn.approvedAmount !== txn.amount ? { requested: txn.amount } : {}),
      state: txn.state,
    });
  }
  for (const txn of qrPaymentsOf(spool, date)) {
    if (QR_STANDING_STATES.has(txn.state) && !qrCollectedBy.has(txn.id))
      report.unmatchedQrPayments.push({
        qrPaymentId: txn.id,
        waybill: txn.waybill,
        amount: txn.amount,
        ...(txn.wallet !== undefined ? { wallet: txn.wallet } : {}),
      });
    if (txn.state === 'unknown')
      report.unknownQrPayments.push({
        qrPaymentId: txn.id,
        waybill: txn.waybill,
        amount: txn.amount,
        problem: `QR payment ${txn.id} of ${groupDigits(txn.amount)} for ${txn.waybill} is unknown: the PSP has not said whether it was paid; ask the PSP (resolve it) before the day is closed`,
      });
  }
  return report;
}

/**
 * What a QR part still brings in: all of a paid payment, what a refund left of a refunded one
 * (a partial refund gives back only part), nothing otherwise.
 */
function qrStanding(part: { amount: number; state: QrState | null; refunded?: number }): number {
  if (part.state !== null && QR_STANDING_STATES.has(part.state)) return part.amount;
  if (part.state === 'refunded') return part.amount - (part.refunded ?? part.amount);
  return 0;
}

/** The QR payments begun on `date` (the terminal's local day). */
function qrPaymentsOf(spool: Spool, date: string) {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return spool.qrJournal.list({
    createdFrom: new Date(year, month - 1, day).getTime(),
    createdBefore: new Date(year, month - 1, day + 1).getTime(),
    limit: 100_000,
  });
}

/**
 * One delivery against its payments as they stand now. The due is what the delivery recorded
 * (`codDue`); a delivery recorded before it was kept names it as the sum of its parts.
 */
function reconcile(
  spool: Spool,
  waybill: string,
  method: CodMethod,
  recorded: ReturnType<typeof recordedParts>,
  codDue: number | undefined,
): DeliveryReconciliation {
  const due = typeof codDue === 'number' ? codDue : recorded.reduce((sum, part) => sum + part.amount, 0);
  const problems: string[] = [];
  let collected = 0;
  const parts = recorded.map((part) => {
    if (part.method === 'cash') {
      collected += part.amount;
      return { method: 'cash' as const, amount: part.amount };
    }
    if (part.method === 'qr') {
      const txn = spool.qrJournal.get(part.qrPaymentId);
      const reconciled = {
        method: 'qr' as const,
        qrPaymentId: part.qrPaymentId,
        amount: txn?.amount ?? part.amount,
        state: txn?.state ?? null,
        ...(txn?.state === 'refunded' ? { refunded: txn.refundedAmount } : {}),
      };
      if (!txn) problems.push(`QR payment ${part.qrPaymentId} is not in the QR journal`);
      else if (txn.state === 'refunded')
        problems.push(
          `QR payment ${txn.id} was refunded (${groupDigits(txn.refundedAmount)} of ${groupDigits(txn.amount)} given back)`,
        );
      else if (!QR_STANDING_STATES.has(txn.state)) problems.push(`QR payment ${txn.id} is ${txn.state}`);
      collected += qrStanding(reconciled);
      return reconciled;
    }
    const txn = spool.journal.get(part.journalId);
    if (!txn) problems.push(`card payment ${part.journalId} is not in the journal`);
    else if (!STANDING_STATES.has(txn.state)) problems.push(`card payment ${txn.id} is ${txn.state}`);
    else collected += txn.approvedAmount;
    return {
      method: 'card' as const,
      journalId: part.journalId,
      amount: txn?.approvedAmount ?? part.amount,
      state: txn?.state ?? null,
    };
  });
  if (collected < due)
    problems.push(
      `${groupDigits(collected)} of ${groupDigits(due)} collected; ${groupDigits(due - collected)} still due`,
    );
  if (collected > due) problems.push(`${groupDigits(collected)} collected, more than the ${groupDigits(due)} due`);
  return {
    waybill,
    method,
    amount: due,
    collected,
    parts,
    matched: problems.length === 0,
    ...(collected < due ? { stillDue: due - collected } : {}),
    ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
  };
}

/**
 * The waybill events whose time is within a day either side of `date` (UTC), from the events'
 * index: a superset of the local day in any time zone (UTC-12 to UTC+14), which the caller
 * narrows to the terminal's day; not every retained event.
 */
function eventsAround(spool: Spool, date: string) {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const dayStart = Date.UTC(year, month - 1, day);
  return spool.waybillEvents.recordsAt(new Date(dayStart - DAY_MS), new Date(dayStart + 2 * DAY_MS));
}

const DAY_MS = 24 * 60 * 60 * 1000;
