/**
 * What the terminal and its payment service provider (PSP) say to each other for QR payments:
 * the orders, their states, and the client the payment flow talks through. The wire format
 * (HTTPS JSON, signed both ways, idempotency keys) is client.ts's and docs/psp.md's; the
 * simulator (simulator.ts) answers the same API.
 *
 * An order is named by the terminal's `orderRef` (the QR journal row's id): the terminal
 * can ask for it by that name even when the answer that would have told it the PSP's own
 * `orderId` was lost.
 */

/**
 * Where an order stands at the PSP:
 *   created ──> waiting ──> paid ──> refunded
 *      │           ├──> declined
 *      ├───────────┴──> cancelled   (by the terminal, or expired unpaid)
 * `created`: a merchant-presented order no wallet has scanned yet; `waiting`: a wallet has it
 * (scanned, or a consumer code presented) and the consignee has not confirmed.
 */
export type PspOrderStatus = 'created' | 'waiting' | 'paid' | 'declined' | 'cancelled' | 'refunded';

/** The statuses after which the order never changes again, except paid -> refunded. */
export const FINAL_PSP_STATUSES: ReadonlySet<PspOrderStatus> = new Set(['paid', 'declined', 'cancelled', 'refunded']);

export type QrMode = 'merchant' | 'consumer';

export interface PspOrder {
  /** The terminal's name for the order (the QR journal row's id). */
  orderRef: string;
  /** The PSP's own id for it. */
  orderId: string;
  mode: QrMode;
  status: PspOrderStatus;
  /** Minor units. */
  amount: number;
  /** ISO 4217 numeric, 3 digits ("978"). */
  currency: string;
  waybill: string;
  /** The wallet or scheme that paid or is paying ("simwallet"), once one has the order. */
  wallet?: string;
  /** Why the PSP or the wallet declined (its own words and code). */
  declineReason?: string;
  /** ISO 8601, once paid. */
  paidAt?: string;
  /** Minor units refunded so far. */
  refundedAmount?: number;
}

export interface CreateOrderRequest {
  orderRef: string;
  amount: number;
  currency: string;
  waybill: string;
  /** The terminal's label (also in the MPM payload's additional data). */
  terminalLabel: string;
  /**
   * Where the PSP POSTs the order's new state (paid, declined), signed like an answer; absent:
   * no notifications, the terminal queries.
   */
  notifyUrl?: string;
}

export interface ConsumerPaymentRequest extends CreateOrderRequest {
  /** What the scanner read from the consignee's wallet: an EMV CPM payload (base64) or a wallet token. Card data: never logged. */
  consumerCode: string;
}

export interface RefundRequest {
  /** The terminal's name for the refund (idempotency: the same refundRef refunds once). */
  refundRef: string;
  amount: number;
  reason?: string;
}

export interface PspRefund {
  refundRef: string;
  orderRef: string;
  status: 'refunded' | 'refused';
  amount: number;
  refusedReason?: string;
}

/**
 * The PSP link as the payment flow sees it. Every call either answers what the PSP said, or
 * throws a PosError of area PSP whose `details.sent` says whether the request may have reached
 * the PSP (then its effect is unknown and only a query can tell; never guess).
 */
export interface PspClient {
  createOrder(request: CreateOrderRequest): Promise<PspOrder>;
  payWithConsumerCode(request: ConsumerPaymentRequest): Promise<PspOrder>;
  query(orderRef: string): Promise<PspOrder>;
  /** Cancels an unpaid order; a paid one is answered as it stands (status paid), not cancelled. */
  cancel(orderRef: string): Promise<PspOrder>;
  refund(orderRef: string, request: RefundRequest): Promise<PspRefund>;
  /**
   * Checks a notification the PSP sent (its signature, its freshness) and returns the order it
   * reports; throws a PSP PosError naming what was wrong.
   */
  verifyNotification(headers: Record<string, string | string[] | undefined>, body: Buffer): PspOrder;
}
