/**
 * The local API's card payment paths (docs/api.md):
 *
 *   POST /v1/payments/card          { amount, waybill? } + optional Idempotency-Key: one card payment,
 *                                   answered with its outcome; a client whose connection closes
 *                                   before the answer cancels it while it can still be cancelled
 *   POST /v1/payments/cancel        cancels the payment in progress (404 none, 409 too late)
 *   GET  /v1/payments?date=|from=&to=, &state=, &waybill=
 *                                   the payments of a day, a range of days, a state, a waybill
 *   GET  /v1/payments/{journalId}   one payment as the journal has it
 *   POST /v1/payments/void          { journalId }: voids an approved payment, the card not present
 *   POST /v1/receipts/reprint       { journalId? }: that payment's receipt, or every held one
 *   POST /v1/settlement             end of day: the open batch's totals to the acquirer (0500)
 */
import { PosError } from '../../config/errors.js';
import type { PaymentService } from '../payment/service.js';
import type { ApiRoutes } from './server.js';
import { paymentQueryOf } from '../payment/payment-query.js';

export type PaymentApi = Pick<PaymentService, 'pay' | 'cancel' | 'payment' | 'payments' | 'reprint' | 'settle' | 'voidPayment' | 'cancelWaiting'>;

export function paymentRoutes(payments: PaymentApi | undefined): ApiRoutes {
  const service = (what = 'card payments'): PaymentApi => {
    if (!payments) throw new PosError('CODPOS_DEVICE_PAYMENT_UNAVAILABLE', `${what} are not available in this daemon`);
    return payments;
  };
  return {
    '/v1/payments/card': {
      POST: async (body, request) => {
        const key = request.headers['idempotency-key'];
        return service().pay(paymentRequest(body), { signal: request.signal, ...(key !== undefined ? { idempotencyKey: Array.isArray(key) ? key.join(',') : key } : {}) });
      },
    },
    '/v1/payments/cancel': { POST: async () => service().cancel() },
    '/v1/payments': { GET: async (_body, request) => service().payments(paymentQueryOf(request.query)) },
    '/v1/payments/{journalId}': { GET: async (_body, request) => service().payment(request.params.journalId) },
    '/v1/payments/void': { POST: async (body) => service().voidPayment(((body ?? {}) as { journalId?: unknown }).journalId) },
    '/v1/receipts/reprint': { POST: async (body) => service('receipts').reprint(((body ?? {}) as { journalId?: unknown }).journalId) },
    '/v1/settlement': { POST: async () => service('settlement').settle() },
  };
}

/** `{ amount, waybill? }` from a request body, its shape checked (the payment service checks the rest). */
function paymentRequest(body: unknown): { amount: number; waybill?: string } {
  const { amount, waybill } = (body ?? {}) as { amount?: unknown; waybill?: unknown };
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
    throw new PosError('CODPOS_USAGE_AMOUNT', 'amount: expected a positive whole number of minor units (2500 = 25.00)');
  }
  if (waybill !== undefined && (typeof waybill !== 'string' || waybill.length === 0 || waybill.length > 64)) throw new PosError('CODPOS_USAGE_WAYBILL', 'waybill: expected a string of 1 to 64 characters');
  return { amount, ...(waybill !== undefined ? { waybill: waybill as string } : {}) };
}
