/**
 * A delivery's cash-on-delivery collection, in one part or in several: cash (with change from
 * what was tendered) and card payments. The issuer may approve less than was asked (ISO 8583
 * response 10, a partial approval): a card approved for 1,800 of the 2,500 due leaves 700 to
 * collect in cash or by another card. A card part therefore brings in its journal row's
 * approved amount, never the amount asked, and the parts together must bring in exactly the
 * COD due, or nothing is recorded.
 *
 * A QR part is a payment through the payment service provider (spool/qr-journal.ts): it
 * counts only once the PSP has said it was paid, only for the waybill it was made for (its
 * bill number is that waybill), and at exactly its amount (a wallet pays what the code asked).
 *
 * Pure: the journal and the deliveries already recorded are looked up through the functions
 * passed in. The day report (day-report.ts) reconciles recorded parts with the same rules.
 */
import { PosError } from '../../config/errors.js';
import type { CardTransaction, QrState, QrTransaction } from '../../spool/index.js';
import { QR_STANDING_STATES } from '../../spool/qr-transaction.js';
import { currencyText, sameCurrency } from '../payment/receipt.js';

export type CashPart = { method: 'cash'; amount: number; tendered: number };
/** `amount`: what the card paid (its approved amount; the amount asked is taken too, but only the approved amount counts). */
export type CardPart = { method: 'card'; amount: number; journalId: string };
/** `amount`: what the wallet paid through the PSP; `qrPaymentId`: its QR journal row. */
export type QrPart = { method: 'qr'; amount: number; qrPaymentId: string };
export type CodCollection = CashPart | CardPart | QrPart;
/** What a delivery event carries: one collection (the original form) or a list of parts. */
export type CodInput = CodCollection | CodCollection[];

/** A part as checked and recorded: cash with its change, a card at its approved amount, a QR payment at its amount. */
export type RecordedPart = (CashPart & { change: number }) | CardPart | QrPart;

export type PaymentMethod = RecordedPart['method'];

/**
 * How a delivery was paid, for the day report and the task list: the methods used, always in
 * the order cash, card, qr, joined by '+' (so 'cash+card' reads as it always has).
 */
export type CodMethod = 'cash' | 'card' | 'qr' | 'cash+card' | 'cash+qr' | 'card+qr' | 'cash+card+qr';

/** The order methods are named in a CodMethod. */
const METHOD_ORDER: readonly PaymentMethod[] = ['cash', 'card', 'qr'];

/** Journal states in which a card payment stands: its money is in (not declined, reversed or voided). */
export const STANDING_STATES: ReadonlySet<string> = new Set(['approved', 'offline_approved', 'advised', 'settled']);

/** More parts than a doorstep ever needs is a screen app gone wrong, not a payment plan. */
const MAX_PARTS = 8;

export interface CodContext {
  waybill: string;
  /** The COD due from the task list; undefined when the waybill is not on it (then taken as given). */
  due: number | undefined;
  /** The terminal's currency (ISO 4217 numeric), the COD's: a QR payment in another pays nothing here. */
  currency: string;
  journal: (journalId: string) => CardTransaction | undefined;
  /** The delivery that already collected with this journal row, if one did (`eventId` absent: being recorded now). */
  collectedBy: (journalId: string) => { waybill: string; eventId?: string } | undefined;
  /** The QR journal's row `qrPaymentId`. */
  qrPayment: (qrPaymentId: string) => QrTransaction | undefined;
  /** The delivery that already collected with this QR payment, if one did (`eventId` absent: being recorded now). */
  qrCollectedBy: (qrPaymentId: string) => { waybill: string; eventId?: string } | undefined;
}

export interface CheckedCod {
  /** The COD due: the task list's, or for a waybill not on it the sum of the parts' amounts as given. */
  due: number;
  parts: RecordedPart[];
  /** The change handed back from the cash part (0 without one). */
  change: number;
}

/**
 * Checks a delivery's collection against what is due. Returns undefined when nothing is
 * collected and nothing is due; throws a USAGE PosError naming the field and what is wrong,
 * `CODPOS_USAGE_COD_NOT_COLLECTED` (with what is still due) when the parts fall short.
 */
export function checkCod(cod: unknown, ctx: CodContext): CheckedCod | undefined {
  if (cod === undefined) {
    if (ctx.due !== undefined && ctx.due > 0)
      throw notCollected(
        ctx.waybill,
        ctx.due,
        0,
        `cod: ${groupDigits(ctx.due)} is due on ${ctx.waybill}; collect it in cash or by card`,
      );
    return undefined;
  }
  const list = Array.isArray(cod);
  const raw: unknown[] = list ? cod : [cod];
  if (raw.length === 0) throw usage('cod: an empty list collects nothing; leave cod out when nothing is due');
  if (raw.length > MAX_PARTS) throw usage(`cod: at most ${MAX_PARTS} parts, not ${raw.length}`);

  const parts: RecordedPart[] = [];
  let claimed = 0;
  const fieldOfJournalId = new Map<string, string>();
  const fieldOfQrPaymentId = new Map<string, string>();
  raw.forEach((item, i) => {
    const field = list ? `cod[${i}]` : 'cod';
    const { part, claim } = checkPart(item, field, ctx);
    if (part.method === 'card') {
      const earlier = fieldOfJournalId.get(part.journalId);
      if (earlier !== undefined)
        throw usage(
          `${field}.journalId: card payment ${part.journalId} is already ${earlier} of this delivery; one card payment is counted once`,
        );
      fieldOfJournalId.set(part.journalId, field);
    }
    if (part.method === 'qr') {
      const earlier = fieldOfQrPaymentId.get(part.qrPaymentId);
      if (earlier !== undefined)
        throw usage(
          `${field}.qrPaymentId: QR payment ${part.qrPaymentId} is already ${earlier} of this delivery; one QR payment is counted once`,
        );
      fieldOfQrPaymentId.set(part.qrPaymentId, field);
    }
    if (part.method === 'cash' && parts.some((p) => p.method === 'cash'))
      throw usage(`${field}: one cash part at most (add the cash together)`);
    parts.push(part);
    claimed += claim;
  });

  const collected = parts.reduce((sum, part) => sum + part.amount, 0);
  if (ctx.due === 0)
    throw usage(`cod: nothing is due on ${ctx.waybill} (prepaid), yet ${groupDigits(collected)} was collected`);
  const due = ctx.due ?? claimed;
  if (collected < due) {
    const anyCard = parts.some((p) => p.method === 'card');
    const message = `cod: ${groupDigits(collected)} of ${groupDigits(due)} collected ${howCollected(parts)}; ${groupDigits(due - collected)} still due on ${ctx.waybill}: collect it in cash or by ${anyCard ? 'another card' : 'card'}`;
    throw notCollected(ctx.waybill, due, collected, message);
  }
  if (collected > due)
    throw usage(
      `cod: ${groupDigits(due)} is due on ${ctx.waybill}, not ${groupDigits(collected)}: collect only what is due (cash: the change goes back)`,
    );
  const cash = parts.find((p) => p.method === 'cash');
  return { due, parts, change: cash?.method === 'cash' ? cash.change : 0 };
}

function checkPart(item: unknown, field: string, ctx: CodContext): { part: RecordedPart; claim: number } {
  if (typeof item !== 'object' || item === null) throw usage(`${field}: expected { method, amount, ... }`);
  const { method, amount, tendered, journalId, qrPaymentId } = item as Record<string, unknown>;
  if (method !== 'cash' && method !== 'card' && method !== 'qr')
    throw usage(`${field}.method: expected cash, card or qr`);
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0)
    throw usage(`${field}.amount: expected a positive whole number of minor units`);
  if (method === 'cash') {
    if (typeof tendered !== 'number' || !Number.isSafeInteger(tendered) || tendered < amount)
      throw usage(`${field}.tendered: the cash handed over (${String(tendered)}) must cover the amount (${amount})`);
    return { part: { method, amount, tendered, change: tendered - amount }, claim: amount };
  }
  if (method === 'qr') {
    const part = checkQrPart(qrPaymentId, amount, field, ctx);
    return { part, claim: part.amount };
  }
  const txn = typeof journalId === 'string' ? ctx.journal(journalId) : undefined;
  if (!txn) throw usage(`${field}.journalId: no card payment ${String(journalId)} in the journal`);
  if (txn.kind !== 'purchase')
    throw usage(`${field}.journalId: journal row ${txn.id} is a ${txn.kind}, not a card payment`);
  if (!STANDING_STATES.has(txn.state))
    throw usage(`${field}.journalId: card payment ${txn.id} is ${txn.state}, not a payment that stands`);
  const used = ctx.collectedBy(txn.id);
  if (used) {
    throw new PosError(
      'CODPOS_USAGE_COD_PAYMENT_USED',
      `${field}.journalId: card payment ${txn.id} already paid the delivery of ${used.waybill}${used.eventId ? ` (event ${used.eventId})` : ' (being recorded now)'}; one card payment pays one delivery`,
      {
        details: { journalId: txn.id, waybill: used.waybill, ...(used.eventId ? { eventId: used.eventId } : {}) },
      },
    );
  }
  if (txn.approvedAmount === txn.amount) {
    if (amount !== txn.amount) throw usage(`${field}.amount: the card payment was for ${txn.amount}, not ${amount}`);
  } else if (amount !== txn.approvedAmount && amount !== txn.amount) {
    throw usage(
      `${field}.amount: card payment ${txn.id} was approved for ${groupDigits(txn.approvedAmount)} of the ${groupDigits(txn.amount)} asked, not ${groupDigits(amount)}`,
    );
  }
  return { part: { method, amount: txn.approvedAmount, journalId: txn.id }, claim: amount };
}

/**
 * A QR part: the payment must be in the QR journal, paid (a pending or unknown one may still be
 * declined or cancelled, a refunded one gave the money back), made for this waybill, for exactly
 * this amount, and not already the payment of another delivery.
 */
function checkQrPart(qrPaymentId: unknown, amount: number, field: string, ctx: CodContext): QrPart {
  const txn = typeof qrPaymentId === 'string' ? ctx.qrPayment(qrPaymentId) : undefined;
  if (!txn) throw usage(`${field}.qrPaymentId: no QR payment ${String(qrPaymentId)} in the QR journal`);
  if (!QR_STANDING_STATES.has(txn.state)) throw qrNotStanding(txn, field);
  if (txn.waybill !== ctx.waybill)
    throw new PosError(
      'CODPOS_USAGE_WAYBILL_EVENT',
      `${field}.qrPaymentId: QR payment ${txn.id} was made for waybill ${txn.waybill}, not ${ctx.waybill}; a QR payment pays only the COD of the waybill it was made for`,
      { details: { qrPaymentId: txn.id, paymentWaybill: txn.waybill, waybill: ctx.waybill } },
    );
  const used = ctx.qrCollectedBy(txn.id);
  if (used) {
    throw new PosError(
      'CODPOS_USAGE_COD_PAYMENT_USED',
      `${field}.qrPaymentId: QR payment ${txn.id} already paid the delivery of ${used.waybill}${used.eventId ? ` (event ${used.eventId})` : ' (being recorded now)'}; one QR payment pays one delivery`,
      {
        details: { qrPaymentId: txn.id, waybill: used.waybill, ...(used.eventId ? { eventId: used.eventId } : {}) },
      },
    );
  }
  if (!sameCurrency(txn.currency, ctx.currency))
    throw usage(
      `${field}.qrPaymentId: QR payment ${txn.id} was paid in ${currencyText(txn.currency)}, not the COD's ${currencyText(ctx.currency)}`,
    );
  if (amount !== txn.amount)
    throw usage(`${field}.amount: QR payment ${txn.id} was for ${groupDigits(txn.amount)}, not ${groupDigits(amount)}`);
  return { method: 'qr', amount: txn.amount, qrPaymentId: txn.id };
}

/** Why a QR payment in `state` cannot pay, in the words the courier acts on. */
const QR_NOT_STANDING: Readonly<Record<Exclude<QrState, 'paid'>, string>> = {
  pending: 'the wallet has not paid yet; wait for its answer',
  unknown: 'the PSP has not said; resolve it first',
  declined: 'the wallet declined it; it paid nothing',
  cancelled: 'it was cancelled; it paid nothing',
  refunded: 'its money was given back',
};

function qrNotStanding(txn: QrTransaction, field: string): PosError {
  const why = QR_NOT_STANDING[txn.state as Exclude<QrState, 'paid'>];
  return new PosError(
    'CODPOS_USAGE_WAYBILL_EVENT',
    `${field}.qrPaymentId: QR payment ${txn.id} is ${txn.state}, not a payment that stands: ${why}`,
    { details: { qrPaymentId: txn.id, state: txn.state } },
  );
}

/** The parts of a recorded delivery's `cod` (one collection or a list), skipping what is not a part. */
export function recordedParts(cod: unknown): RecordedPart[] {
  const raw: unknown[] = Array.isArray(cod) ? cod : cod === undefined || cod === null ? [] : [cod];
  return raw.filter(
    (p): p is RecordedPart =>
      typeof p === 'object' &&
      p !== null &&
      METHOD_ORDER.includes((p as RecordedPart).method) &&
      typeof (p as RecordedPart).amount === 'number',
  );
}

export function codMethod(parts: readonly { method: PaymentMethod }[]): CodMethod {
  const used = METHOD_ORDER.filter((method) => parts.some((p) => p.method === method));
  // No parts reads as cash, as it always has (a delivery recorded with nothing collected).
  return (used.length > 0 ? used.join('+') : 'cash') as CodMethod;
}

/** Minor units with thousands grouped, as the courier reads them in a message: `2,500`. */
export function groupDigits(amount: number): string {
  return String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const HOW_COLLECTED: Readonly<Record<PaymentMethod, string>> = { cash: 'in cash', card: 'by card', qr: 'by QR' };

function howCollected(parts: readonly RecordedPart[]): string {
  const used = METHOD_ORDER.filter((method) => parts.some((p) => p.method === method)).map((m) => HOW_COLLECTED[m]);
  // 'by card and in cash' as the courier has always read it: card before cash in the sentence.
  if (used.length === 2 && used[0] === 'in cash') return `${used[1]} and in cash`;
  return used.length > 1 ? `${used.slice(0, -1).join(', ')} and ${used.at(-1)}` : (used[0] ?? 'in cash');
}

function notCollected(waybill: string, due: number, collected: number, message: string): PosError {
  return new PosError('CODPOS_USAGE_COD_NOT_COLLECTED', message, {
    details: { waybill, due, collected, stillDue: due - collected },
  });
}

function usage(message: string): PosError {
  return new PosError('CODPOS_USAGE_WAYBILL_EVENT', message);
}
