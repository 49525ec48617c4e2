/**
 * The local API's QR payment paths (docs/api.md, docs/payment.md "QR payments"):
 *
 *   POST /v1/payments/qr                { mode, amount, waybill, consumerCode?, print? }: a merchant-
 *                                       presented code is answered 202 pending with its payload at once
 *                                       (the wait goes on; events payment.qr tell the screen); a consumer-
 *                                       presented code with its outcome (202 while the wallet asks its user)
 *   GET  /v1/payments/qr?date=          the QR payments begun on a day (default today)
 *   GET  /v1/payments/qr/{id}           one QR payment and its moves
 *   POST /v1/payments/qr/{id}/cancel    the courier gives up: the order is cancelled at the PSP
 *   POST /v1/payments/qr/{id}/refund    { amount? }: a paid one refunded (full by default)
 *   POST /v1/payments/qr/{id}/receipt   prints a paid or refunded one's receipt again (REPRINT)
 *   POST /v1/psp/notifications          the PSP's signed notification of an order's status
 */
import { PosError } from '../../config/errors.js';
import type { QrPaymentAnswer, QrPaymentService } from '../payment/qr-service.js';
import { JsonAnswer, type ApiRoutes } from './server.js';
import { z } from 'zod';

const QR_PAYMENT_BODY = z.object({
  mode: z.enum(['merchant', 'consumer']).meta({
    description: 'merchant: the terminal shows a code the wallet scans; consumer: the scanner read the wallet code',
  }),
  amount: z.number().meta({ description: 'minor units, a whole number above 0 (2500 = 25.00)', examples: [2500] }),
  waybill: z
    .string()
    .min(1)
    .max(64)
    .meta({ description: 'the waybill the payment collects for', examples: ['RR123456785CH'] }),
  consumerCode: z
    .string()
    .optional()
    .meta({ description: "consumer mode: what the scanner read from the consignee's wallet (never logged or stored)" }),
  print: z.boolean().optional().meta({ description: 'merchant mode: print the scan-to-pay slip too' }),
});
const REFUND_BODY = z.object({
  amount: z.number().optional().meta({ description: 'minor units; default the whole amount paid' }),
});
const ID_PARAMS = z.object({ id: z.string() });
const DAY_QUERY = z.object({
  date: z.string().optional().meta({ description: "YYYY-MM-DD, the terminal's local day (default today)" }),
});

export type QrApi = Pick<QrPaymentService, 'pay' | 'cancel' | 'refund' | 'payment' | 'payments' | 'notify' | 'reprint'>;

export function qrRoutes(qr: QrApi | undefined): ApiRoutes {
  const service = (): QrApi => {
    if (!qr) throw new PosError('CODPOS_DEVICE_QR_UNAVAILABLE', 'QR payments are not available in this daemon');
    return qr;
  };
  return {
    '/v1/payments/qr': {
      POST: {
        summary:
          'one QR payment: a code shown (answered 202 pending at once) or a consumer code presented (optional Idempotency-Key header)',
        body: QR_PAYMENT_BODY,
        handler: async (body, http) => {
          const request = body as z.infer<typeof QR_PAYMENT_BODY>;
          const key = http.headers['idempotency-key'];
          const answer: QrPaymentAnswer = await service().pay(
            {
              mode: request.mode,
              amount: request.amount,
              waybill: request.waybill,
              ...(request.consumerCode !== undefined ? { consumerCode: request.consumerCode } : {}),
              ...(request.print !== undefined ? { print: request.print } : {}),
            },
            key === undefined ? {} : { idempotencyKey: Array.isArray(key) ? key.join(',') : key },
          );
          // Pending: accepted, not done; the outcome comes as payment.qr events.
          return answer.state === 'pending' ? new JsonAnswer(202, answer) : answer;
        },
      },
      GET: {
        summary: 'the QR payments begun on a day (default today), oldest first',
        query: DAY_QUERY,
        handler: async (_body, request) => service().payments(request.query.get('date') ?? undefined),
      },
    },
    '/v1/payments/qr/{id}': {
      GET: {
        summary: 'one QR payment as the journal has it, with its moves',
        params: ID_PARAMS,
        handler: async (_body, request) => service().payment(request.params.id!),
      },
    },
    '/v1/payments/qr/{id}/cancel': {
      POST: {
        summary: 'the courier gives up: the order is cancelled at the PSP and its answer decides',
        params: ID_PARAMS,
        handler: async (_body, request) => service().cancel(request.params.id!),
      },
    },
    '/v1/payments/qr/{id}/refund': {
      POST: {
        summary: 'refunds a paid QR payment at the PSP (the whole amount by default)',
        params: ID_PARAMS,
        body: REFUND_BODY,
        handler: async (body, request) =>
          service().refund(request.params.id!, (body as z.infer<typeof REFUND_BODY>).amount),
      },
    },
    '/v1/payments/qr/{id}/receipt': {
      POST: {
        summary: "prints a paid or refunded QR payment's receipt again, marked REPRINT ({ printed })",
        params: ID_PARAMS,
        handler: async (_body, request) => service().reprint(request.params.id!),
      },
    },
    '/v1/psp/notifications': {
      POST: {
        summary: "the PSP's signed notification of an order's status (checked, then applied as a query's answer)",
        handler: async (_body, request) => service().notify(request.headers, request.rawBody ?? Buffer.alloc(0)),
      },
    },
  };
}
