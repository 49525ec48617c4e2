/**
 * The local API's price quote (docs/api.md):
 *
 *   GET /v1/quote?destination=&weightGrams=&service=&codAmount=
 *       a parcel priced offline with the tariff cached from the back-end, as a pickup quotes it:
 *       { zone, band, service, price, codFee, total, currency, tariffVersion, ... }
 *
 * The query's numbers are checked here (whole digits only: `1e3` or `12.5` are not grams); what
 * does not price (no zone, too heavy, unknown service, no tariff yet) is a 400 naming it.
 */
import { PosError } from '../../config/errors.js';
import type { Quote } from '../workflow/tariff.js';
import type { QuoteQuery } from '../workflow/service.js';
import type { ApiRoutes } from './server.js';
import { z } from 'zod';

/** Every query value is text; quoteQuery checks the numbers are whole digits and names what is wrong. */
const QUOTE_QUERY = z.object({
  destination: z
    .string({ error: 'give the postcode or area code the parcel goes to (?destination=10115)' })
    .meta({ description: 'the postcode or area code the parcel goes to', examples: ['10001'] }),
  weightGrams: z
    .string({ error: "give the parcel's weight in whole grams (?weightGrams=1500)" })
    .meta({ description: 'whole grams', examples: ['1500'] }),
  service: z
    .string()
    .optional()
    .meta({ examples: ['express'] }),
  codAmount: z
    .string()
    .optional()
    .meta({ description: 'whole minor units (2500 = 25.00)', examples: ['2350'] }),
});

export interface QuoteApi {
  quote(query: QuoteQuery): Quote;
}

export function quoteRoutes(workflow: QuoteApi | undefined): ApiRoutes {
  return {
    '/v1/quote': {
      GET: {
        summary: 'a parcel priced offline with the cached tariff, as a pickup is priced',
        query: QUOTE_QUERY,
        refusal: 'CODPOS_USAGE_QUOTE',
        handler: async (_body, request) => {
          if (!workflow)
            throw new PosError('CODPOS_DEVICE_WORKFLOW_UNAVAILABLE', 'price quotes are not available in this daemon');
          return workflow.quote(quoteQuery(request.query));
        },
      },
    },
  };
}

/** `destination`, `weightGrams`, and the optional `service` and `codAmount` from a query string. */
export function quoteQuery(query: URLSearchParams): QuoteQuery {
  const destination = query.get('destination');
  if (destination === null || destination.trim() === '')
    throw usage('destination: give the postcode or area code the parcel goes to (?destination=10115)');
  const weightGrams = wholeNumber(query, 'weightGrams', 'a whole number of grams (?weightGrams=1500)');
  if (weightGrams === undefined)
    throw usage("weightGrams: give the parcel's weight in whole grams (?weightGrams=1500)");
  const service = query.get('service');
  const codAmount = wholeNumber(query, 'codAmount', 'a whole number of minor units (?codAmount=2500 is 25.00)');
  return {
    destination,
    weightGrams,
    ...(service !== null && service !== '' ? { service } : {}),
    ...(codAmount !== undefined ? { codAmount } : {}),
  };
}

function wholeNumber(query: URLSearchParams, name: string, expected: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(text))
    throw usage(`${name}: expected ${expected}, not ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

function usage(message: string): PosError {
  return new PosError('CODPOS_USAGE_QUOTE', message);
}
