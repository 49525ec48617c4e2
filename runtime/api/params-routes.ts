/**
 * The local API's parameter package paths (docs/params.md, "Applying a package"; docs/api.md):
 *
 *   GET  /v1/params            the parameters running: package version (null: the configured ones),
 *                              previous and pending versions, applications, CA keys, revocations
 *   POST /v1/params            { format, payload, signature }: a package offered by a technician;
 *                              answered with its report: 200 applied or pending (a payment is in
 *                              progress), 422 refused with the API's error body and the report
 *   POST /v1/params/rollback   back to the previous package (422 CODPOS_PARAMS_NO_PREVIOUS without one)
 */
import { z } from 'zod';
import { PosError } from '../../config/errors.js';
import type { ParamsService } from '../params/service.js';
import { JsonAnswer, type ApiRoutes } from './server.js';

/**
 * Typed loosely on purpose: a malformed envelope is refused by the params service, which reports
 * it (event, params-report record) like any package refused, rather than by the API's gate.
 */
const ENVELOPE_BODY = z.looseObject({
  format: z.unknown().meta({ description: 'codpos-params/1' }),
  payload: z.unknown().meta({ description: 'base64 of the UTF-8 JSON parameter set' }),
  signature: z.unknown().meta({ description: "{ alg: 'Ed25519' | 'ES256', keyId, value (base64) }" }),
});

export type ParamsApi = Pick<ParamsService, 'running' | 'offer' | 'rollback'>;

export function paramsRoutes(params: ParamsApi | undefined): ApiRoutes {
  const service = (): ParamsApi => {
    if (!params)
      throw new PosError('CODPOS_DEVICE_PAYMENT_UNAVAILABLE', 'parameter packages are not available in this daemon');
    return params;
  };
  return {
    '/v1/params': {
      GET: {
        summary:
          'the parameters running: the package version (null: the configured ones), previous and pending versions',
        handler: async () => service().running(),
      },
      POST: {
        summary:
          'applies a signed parameter package (the envelope): 200 applied or pending, 422 refused with its report',
        body: ENVELOPE_BODY,
        handler: async (body) => {
          const report = await service().offer(body, 'api');
          if (report.outcome !== 'refused') return report;
          return new JsonAnswer(422, { error: { code: report.code, message: report.reason }, report });
        },
      },
    },
    '/v1/params/rollback': {
      POST: {
        summary: 'returns to the previous parameter package (422 CODPOS_PARAMS_NO_PREVIOUS without one)',
        handler: async () => service().rollback('api'),
      },
    },
  };
}
