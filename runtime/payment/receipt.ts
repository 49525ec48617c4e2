/**
 * The card payment receipt, as ESC/POS bytes for the printer driver: merchant and
 * terminal, date, waybill, amount, the card as its label and last four digits (never
 * more: PCI DSS), how it was read, the EMV data an acquirer's helpdesk asks for (AID,
 * TVR, TSI), the authorization (auth code, response code, STAN, RRN, invoice, batch),
 * the outcome, and a signature line when the CVM wants one (else "no signature required"; a
 * phone that verified its owner itself, "verified on device").
 * A partial approval prints what was asked, what the card paid and the balance still due; an
 * approval with identification (08) asks the courier to check the cardholder's ID.
 * One copy per call: the merchant's (with the signature line) or the customer's; a copy printed
 * again says REPRINT.
 */
import { EscPosBuilder } from '../../drivers/printer/escpos.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import type { CardTransaction } from '../../spool/index.js';
import type { CardPaymentResult } from './card-payment.js';

export interface ReceiptInput {
  profile: PrinterProfile;
  /** `header`: a parameter package's lines, printed in place of the name. */
  merchant: { name: string; terminalId: string; merchantId: string; header?: string[] };
  /** When the payment ended (the terminal clock). */
  at: Date;
  amount: number;
  /** ISO 4217 numeric. */
  currency: string;
  waybill?: string;
  payment: CardPaymentResult;
  /** The payment's journal row, for STAN, RRN, invoice and batch. */
  transaction?: CardTransaction;
  copy: 'merchant' | 'customer';
  /** The receipt was printed before: this copy says REPRINT. */
  reprint?: boolean;
}

/** ISO 4217: alphabetic code and minor-unit exponent of the currencies couriers meet most. */
const CURRENCIES: Record<string, { code: string; exponent: number }> = {
  '036': { code: 'AUD', exponent: 2 },
  '124': { code: 'CAD', exponent: 2 },
  '156': { code: 'CNY', exponent: 2 },
  '356': { code: 'INR', exponent: 2 },
  '360': { code: 'IDR', exponent: 2 },
  '392': { code: 'JPY', exponent: 0 },
  '410': { code: 'KRW', exponent: 0 },
  '458': { code: 'MYR', exponent: 2 },
  '608': { code: 'PHP', exponent: 2 },
  '702': { code: 'SGD', exponent: 2 },
  '704': { code: 'VND', exponent: 0 },
  '764': { code: 'THB', exponent: 2 },
  '784': { code: 'AED', exponent: 2 },
  '826': { code: 'GBP', exponent: 2 },
  '840': { code: 'USD', exponent: 2 },
  '978': { code: 'EUR', exponent: 2 },
};

/** Whether `currency` (numeric, or a known alphabetic code such as `USD`) names the numeric `code`. */
export function sameCurrency(currency: string, code: string): boolean {
  return currency === code || CURRENCIES[code]?.code === currency.toUpperCase();
}

/** `USD (840)` for a currency the receipt knows, else the numeric code alone: for messages. */
export function currencyText(currency: string): string {
  const known = CURRENCIES[currency];
  return known ? `${known.code} (${currency})` : currency;
}

/** Minor units as the amount a customer reads: `USD 25.00`, `JPY 2500`; an unknown currency keeps its number. */
export function formatAmount(amount: number, currency: string): string {
  const known = CURRENCIES[currency];
  const exponent = known?.exponent ?? 2;
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${known?.code ?? currency} ${amount < 0 ? '-' : ''}${major}`;
}

const ENTRY_LABEL: Record<NonNullable<CardPaymentResult['entry']>, string> = {
  chip: 'CHIP',
  stripe: 'SWIPE',
  fallback: 'SWIPE (CHIP FALLBACK)',
  contactless: 'CONTACTLESS',
};

export function buildPaymentReceipt(input: ReceiptInput): Buffer {
  const { payment, transaction: txn } = input;
  const columns = input.profile.columns;
  const b = new EscPosBuilder(input.profile).init().align('center').bold();
  for (const line of input.merchant.header ?? [input.merchant.name]) b.wrap(line);
  b.bold(false);
  b.wrap(`TID ${input.merchant.terminalId} MID ${input.merchant.merchantId}`);
  if (input.reprint) b.bold().line('*** REPRINT ***').bold(false);
  b.align('left');
  const pair = (left: string, right: string) => labelledLine(columns, left, right);
  b.line(pair(localDateText(input.at), localTimeText(input.at)));
  if (input.waybill !== undefined) b.line(pair('WAYBILL', input.waybill));
  b.line('SALE (CASH ON DELIVERY)');
  const approved = payment.outcome === 'approved' ? (payment.approvedAmount ?? input.amount) : input.amount;
  if (approved !== input.amount) {
    // A partial approval: the card paid part, the rest is still due in cash or by another card.
    b.line(pair('REQUESTED', formatAmount(input.amount, input.currency)));
    b.bold()
      .line(pair('AMOUNT', formatAmount(approved, input.currency)))
      .bold(false);
    b.bold()
      .line(pair('BALANCE DUE', formatAmount(input.amount - approved, input.currency)))
      .bold(false);
  } else {
    b.bold()
      .line(pair('AMOUNT', formatAmount(input.amount, input.currency)))
      .bold(false);
  }
  if (payment.receipt) {
    b.line(pair(payment.receipt.label ?? 'CARD', `**** ${payment.receipt.panLast4}`));
    if (payment.entry) b.line(pair('ENTRY', ENTRY_LABEL[payment.entry]));
    if (payment.receipt.aid) b.line(pair('AID', payment.receipt.aid));
    if (payment.receipt.tvr && payment.receipt.tsi)
      b.line(pair(`TVR ${payment.receipt.tvr}`, `TSI ${payment.receipt.tsi}`));
  }
  if (payment.authCode !== undefined || payment.responseCode !== undefined)
    b.line(pair(`AUTH ${payment.authCode ?? '-'}`, `RC ${payment.responseCode ?? '-'}`));
  if (txn) {
    b.line(pair(`STAN ${String(txn.stan).padStart(6, '0')}`, `RRN ${txn.rrn}`));
    b.line(pair(`INVOICE ${String(txn.invoice).padStart(6, '0')}`, `BATCH ${String(txn.batch).padStart(6, '0')}`));
  }
  b.align('center').bold().doubleSize().line(outcomeText(payment)).doubleSize(false).bold(false);
  if (payment.outcome !== 'approved') b.wrap(payment.reason);
  if (payment.outcome === 'approved') {
    if (payment.identificationRequired) b.line('CARDHOLDER ID CHECKED');
    // A phone that verified its owner (consumer device CVM): that is the verification, no PIN or signature line.
    if (payment.verifiedOnDevice) b.line('VERIFIED ON DEVICE');
    else if (payment.signatureRequired && input.copy === 'merchant')
      b.feed(2)
        .align('left')
        .line(`X${'_'.repeat(columns - 1)}`)
        .align('center')
        .line('CARDHOLDER SIGNATURE');
    else if (!payment.signatureRequired) b.line('NO SIGNATURE REQUIRED');
  }
  b.line(input.copy === 'merchant' ? '-- MERCHANT COPY --' : '-- CUSTOMER COPY --');
  return b.feed(3).cut().build();
}

function outcomeText(payment: CardPaymentResult): string {
  if (payment.outcome === 'approved') return payment.approvedOffline ? 'APPROVED OFFLINE' : 'APPROVED';
  if (payment.outcome === 'declined') return 'DECLINED';
  return 'NOT COMPLETED';
}

/** A label on the left and its value on the right of one line of `columns`; two lines when they do not fit. */
export function labelledLine(columns: number, left: string, right: string): string {
  return left.length + 1 + right.length <= columns
    ? `${left}${' '.repeat(columns - left.length - right.length)}${right}`
    : `${left}\n${right.padStart(columns)}`;
}

/** `YYYY-MM-DD` in the terminal's local time zone. */
export function localDateText(at: Date): string {
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`;
}

/** `HH:MM:SS` in the terminal's local time zone. */
export function localTimeText(at: Date): string {
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}
