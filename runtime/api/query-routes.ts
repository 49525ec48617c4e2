/**
 * The local API's queries of the courier's day, answered at any time from what the terminal
 * recorded (docs/api.md):
 *
 *   GET /v1/waybills/{id}   a waybill's status, its task, its events in order (those sent to the
 *                           back-end too, while kept) and its card payments (the card masked)
 *
 * (The payments with filters are GET /v1/payments, payment-routes.ts; the task list with what is
 * left is GET /v1/tasks.)
 */
import { PosError } from '../../config/errors.js';
import type { PaymentList } from '../payment/service.js';
import type { WaybillHistory } from '../workflow/service.js';
import type { ApiRoutes } from './server.js';
import { z } from 'zod';

export interface QueryApi {
  workflow?: { waybill(scanned: unknown): WaybillHistory };
  payments?: { payments(query: { waybill: string }): PaymentList };
}

export function queryRoutes(deps: QueryApi): ApiRoutes {
  return {
    '/v1/waybills/{id}': {
      GET: {
        summary: 'where a waybill stands: its status, task, events and card payments',
        params: z.object({ id: z.string().meta({ description: 'the waybill number', examples: ['RR123456785CH'] }) }),
        handler: async (_body, request) => {
          if (!deps.workflow)
            throw new PosError(
              'CODPOS_DEVICE_WORKFLOW_UNAVAILABLE',
              'waybill queries are not available in this daemon',
            );
          const history = deps.workflow.waybill(request.params.id);
          const payments = deps.payments?.payments({ waybill: history.waybill }).payments ?? [];
          if (history.tasks.length === 0 && history.events.length === 0 && payments.length === 0) {
            throw new PosError(
              'CODPOS_USAGE_NO_SUCH_WAYBILL',
              `waybill ${history.waybill}: no task, no recorded event and no card payment on this terminal`,
              { details: { waybill: history.waybill } },
            );
          }
          return { ...history, payments };
        },
      },
    },
  };
}
