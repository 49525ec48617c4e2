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
import type { ApiRoutes } from './server.js';

export type HandoverApi = Pick<WorkflowService, 'handOver' | 'handoversOf'>;

export function handoverRoutes(handover: HandoverApi | undefined): ApiRoutes {
  const service = (): HandoverApi => {
    if (!handover) throw new PosError('CODPOS_DEVICE_WORKFLOW_UNAVAILABLE', 'the cash handover is not available in this daemon');
    return handover;
  };
  return {
    '/v1/handover': {
      POST: async (body) => service().handOver(body),
      GET: async (_body, request) => service().handoversOf(request.query.get('date') ?? undefined),
    },
  };
}
