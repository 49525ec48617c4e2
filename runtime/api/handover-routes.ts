/**
 * The local API's cash handover paths (docs/api.md):
 *
 *   POST /v1/handover        { counted, clerkId, reason? }: the courier's cash handed to the depot
 *                            clerk; recorded, queued for the back-end, its slip printed; the day
 *                            is closed (409 CODPOS_USAGE_HANDOVER_DONE when it already is)
 *   GET  /v1/handover?date=  that day's handovers (default today) and whether the day is closed
 */
import { PosError } from '../../config/errors.js';
import type { WorkflowService } from '../workflow/service.js';
import { DAY_QUERY, type ApiRoutes } from './server.js';
import { z } from 'zod';

/** The handover's shape; checkHandoverInput checks the count is whole and 0 or more, the clerk id printable. */
const HANDOVER_BODY = z.object({
  counted: z.number().meta({ description: 'the cash counted, whole minor units (2500 = 25.00)', examples: [3350] }),
  clerkId: z.string().meta({ description: "the depot clerk's id", examples: ['D-17'] }),
  reason: z.string().optional().meta({ description: 'why the count differs from what was expected' }),
});

export type HandoverApi = Pick<WorkflowService, 'handOver' | 'handoversOf'>;

export function handoverRoutes(handover: HandoverApi | undefined): ApiRoutes {
  const service = (): HandoverApi => {
    if (!handover)
      throw new PosError('CODPOS_DEVICE_WORKFLOW_UNAVAILABLE', 'the cash handover is not available in this daemon');
    return handover;
  };
  return {
    '/v1/handover': {
      POST: {
        summary: "the courier's cash handed to the depot clerk; closes the day",
        body: HANDOVER_BODY,
        refusal: 'CODPOS_USAGE_HANDOVER',
        handler: async (body) => service().handOver(body),
      },
      GET: {
        summary: "that day's handovers and whether the day is closed",
        query: DAY_QUERY,
        handler: async (_body, request) => service().handoversOf(request.query.get('date') ?? undefined),
      },
    },
  };
}
