/**
 * A QR payment as the journal keeps it (spool/qr-journal.ts holds the rows): the shape the
 * payment flow, the delivery's COD collection, receipts, the day report and reconciliation read.
 *
 *   pending ──> paid ──> refunded
 *      ├──> declined
 *      ├──> cancelled
 *      └──> unknown ──> paid | declined | cancelled     (resolved by query, never guessed)
 *
 * `unknown`: the wait ended (or the daemon stopped) and the PSP had not said the order was
 * final, or could not be asked; a resolver queries it until it is.
 */
import type { QrMode } from '../runtime/psp/types.js';

export type QrState = 'pending' | 'paid' | 'declined' | 'cancelled' | 'unknown' | 'refunded';

export const QR_STATES: readonly QrState[] = ['pending', 'paid', 'declined', 'cancelled', 'unknown', 'refunded'];

/** The legal moves; anything else is refused. */
export const QR_TRANSITIONS: Readonly<Record<QrState, readonly QrState[]>> = {
  pending: ['paid', 'declined', 'cancelled', 'unknown'],
  unknown: ['paid', 'declined', 'cancelled'],
  paid: ['refunded'],
  declined: [],
  cancelled: [],
  refunded: [],
};

/** States in which a QR payment's money is in (it may pay a delivery's COD). */
export const QR_STANDING_STATES: ReadonlySet<QrState> = new Set(['paid']);

export interface QrTransaction {
  /** The journal id; also the PSP orderRef and the idempotency key of the order's creation. */
  id: string;
  mode: QrMode;
  state: QrState;
  /** Minor units. */
  amount: number;
  /** ISO 4217 numeric. */
  currency: string;
  waybill: string;
  /** The PSP's order id, once it has answered. */
  pspOrderId?: string;
  /** The wallet that paid or declined. */
  wallet?: string;
  /** Merchant-presented: the EMV MPM payload shown and printed (no card data in it). */
  payload?: string;
  /** Why it was declined, cancelled or is unknown (the PSP's words or the terminal's). */
  reason?: string;
  /** Minor units refunded. */
  refundedAmount: number;
  /** Epoch ms, like the card journal's rows. */
  createdAt: number;
  updatedAt: number;
  /** When it reached paid, declined or cancelled (epoch ms). */
  finalAt?: number;
}
