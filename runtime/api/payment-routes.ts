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
import { z } from 'zod';

/** The payment's shape; its amount's range and the waybill's check are paymentRequest's and the service's. */
const CARD_PAYMENT_BODY = z.object({
  amount: z.number().meta({ description: 'minor units, a whole number above 0 (2500 = 25.00)', examples: [2500] }),
  waybill: z
    .string()
    .optional()
    .meta({ description: 'the waybill the payment collects for', examples: ['RR123456785CH'] }),
});
/** A journal id is text; whether it names a payment the service says. */
const REPRINT_BODY = z.object({
  journalId: z
    .string({ error: 'expected the journal id of a payment, or nothing to print every held receipt' })
    .optional(),
});
const VOID_BODY = z.object({ journalId: z.string({ error: 'expected the journal id of the payment to void' }) });
const PAYMENTS_QUERY = z.object({
  date: z.string().optional().meta({ description: 'YYYY-MM-DD: one day (default today)' }),
  from: z.string().optional().meta({ description: 'YYYY-MM-DD: the first day of a range' }),
  to: z.string().optional().meta({ description: 'YYYY-MM-DD: the last day of a range' }),
  state: z.string().optional().meta({ description: 'a journal state: approved, declined, voided, settled, ...' }),
  waybill: z.string().optional(),
});

export type PaymentApi = Pick<
  PaymentService,
  'pay' | 'cancel' | 'payment' | 'payments' | 'reprint' | 'settle' | 'voidPayment' | 'cancelWaiting'
>;

export function paymentRoutes(payments: PaymentApi | undefined): ApiRoutes {
  const service = (what = 'card payments'): PaymentApi => {
    if (!payments) throw new PosError('CODPOS_DEVICE_PAYMENT_UNAVAILABLE', `${what} are not available in this daemon`);
    return payments;
  };
  return {
    '/v1/payments/card': {
      POST: {
        summary: 'one card payment, answered with its outcome (optional Idempotency-Key header)',
        body: CARD_PAYMENT_BODY,
        handler: async (body, request) => {
          const key = request.headers['idempotency-key'];
          return service().pay(paymentRequest(body), {
            signal: request.signal,
            ...(key !== undefined ? { idempotencyKey: Array.isArray(key) ? key.join(',') : key } : {}),
          });
        },
      },
    },
    '/v1/payments/cancel': {
      POST: {
        summary: 'cancels the payment in progress while it can still be cancelled',
        handler: async () => service().cancel(),
      },
    },
    '/v1/payments': {
      GET: {
        summary: 'the card transactions of a day, a range of days, a state or a waybill',
        query: PAYMENTS_QUERY,
        handler: async (_body, request) => service().payments(paymentQueryOf(request.query)),
      },
    },
    '/v1/payments/{journalId}': {
      GET: {
        summary: 'one payment as the journal has it',
        params: z.object({ journalId: z.string() }),
        handler: async (_body, request) => service().payment(request.params.journalId),
      },
    },
    '/v1/payments/void': {
      POST: {
        summary: 'voids an approved payment of the open batch, the card not present',
        body: VOID_BODY,
        refusal: 'CODPOS_USAGE_VOID',
        handler: async (body) => service().voidPayment(((body ?? {}) as { journalId?: unknown }).journalId),
      },
    },
    '/v1/receipts/reprint': {
      POST: {
        summary: "that payment's receipt again, or every held receipt ({})",
        body: REPRINT_BODY,
        refusal: 'CODPOS_USAGE_REPRINT',
        handler: async (body) => service('receipts').reprint(((body ?? {}) as { journalId?: unknown }).journalId),
      },
    },
    '/v1/settlement': {
      POST: {
        summary: "end of day: the open batch's totals to the acquirer (0500)",
        handler: async () => service('settlement').settle(),
      },
    },
  };
}

/** `{ amount, waybill? }` from a request body, its shape checked (the payment service checks the rest). */
function paymentRequest(body: unknown): { amount: number; waybill?: string } {
  const { amount, waybill } = (body ?? {}) as { amount?: unknown; waybill?: unknown };
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
    throw new PosError('CODPOS_USAGE_AMOUNT', 'amount: expected a positive whole number of minor units (2500 = 25.00)');
  }
  if (waybill !== undefined && (typeof waybill !== 'string' || waybill.length === 0 || waybill.length > 64))
    throw new PosError('CODPOS_USAGE_WAYBILL', 'waybill: expected a string of 1 to 64 characters');
  return { amount, ...(waybill !== undefined ? { waybill: waybill as string } : {}) };
}
