/**
 * A card payment as the journal has it, for the screen app that lost an answer
 * (GET /v1/payments/{journalId}, GET /v1/payments?date=) and for `codpos payment(s)`: the
 * journal row (state, amount, codes, waybill, the card masked 6+4), with what the payment's
 * kept receipt adds (the approved amount of a partial approval, how the card was read) and
 * whether that receipt printed or is held.
 */
import type { CardTransaction, TxnState } from '../../spool/index.js';
import type { CardPaymentOutcome, CardPaymentResult } from './card-payment.js';
import type { ReceiptState, StoredReceipt } from './receipt-queue.js';

export interface PaymentView {
  journalId: string;
  kind: CardTransaction['kind'];
  /** The journal's state: approved, declined, reversed, voided, settled, ... (docs/spool.md). */
  state: TxnState;
  /** What the payment stands as: the card charged (`approved`), or not; `pending` while its authorization has no answer. */
  outcome: CardPaymentOutcome | 'pending';
  amount: number;
  /** Standing payments: what the card was charged (less than `amount` for a partial approval). */
  approvedAmount?: number;
  /** Standing payments: what is still due from the consignee (cash or another card). */
  remainingDue?: number;
  currency: string;
  waybill: string | null;
  /** First 6 and last 4 digits at most. */
  panMasked: string | null;
  entry?: NonNullable<CardPaymentResult['entry']>;
  responseCode: string | null;
  authCode: string | null;
  approvedOffline: boolean;
  identificationRequired?: boolean;
  reason: string | null;
  stan: number;
  rrn: string;
  invoice: number;
  batch: number;
  /** The payment this void voids. */
  originalId: string | null;
  /** `none`: no receipt is kept for it (a void, or a row not journaled by a payment). */
  receipt: ReceiptState | 'none';
  createdAt: string;
  updatedAt: string;
}

/** Journal states in which the card was charged (voided: charged, then given back). */
const STANDING: ReadonlySet<TxnState> = new Set(['approved', 'offline_approved', 'advised', 'settled']);

/** The outcome a journal state stands for (a voided payment had been approved; a reversed one failed). */
export function outcomeOfState(state: TxnState): CardPaymentOutcome | 'pending' {
  if (STANDING.has(state) || state === 'voided') return 'approved';
  if (state === 'declined') return 'declined';
  if (state === 'pending') return 'pending';
  return 'failed';
}

export function paymentView(
  txn: CardTransaction,
  receipt: { state: ReceiptState; content: StoredReceipt } | undefined,
): PaymentView {
  const payment = receipt?.content.payment;
  const standing = STANDING.has(txn.state);
  const approvedAmount = standing ? txn.approvedAmount : undefined;
  return {
    journalId: txn.id,
    kind: txn.kind,
    state: txn.state,
    outcome: outcomeOfState(txn.state),
    amount: txn.amount,
    ...(approvedAmount !== undefined ? { approvedAmount, remainingDue: txn.amount - approvedAmount } : {}),
    currency: txn.currency,
    waybill: txn.waybill,
    panMasked: txn.panMasked,
    ...(payment?.entry ? { entry: payment.entry } : {}),
    responseCode: txn.responseCode,
    authCode: txn.authCode,
    approvedOffline: txn.offline && outcomeOfState(txn.state) === 'approved',
    ...(payment?.identificationRequired ? { identificationRequired: true } : {}),
    reason: txn.reason,
    stan: txn.stan,
    rrn: txn.rrn,
    invoice: txn.invoice,
    batch: txn.batch,
    originalId: txn.originalId,
    receipt: receipt?.state ?? 'none',
    createdAt: new Date(txn.createdAt).toISOString(),
    updatedAt: new Date(txn.updatedAt).toISOString(),
  };
}
