/**
 * `codpos quote --destination X --weight GRAMS [--service S] [--cod MINOR] [--json]`: what the
 * running daemon would charge for a parcel (GET /v1/quote), priced offline with the tariff that
 * came with the task list, as a pickup is priced: the zone, the weight band, the price, the COD
 * fee and the total.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { formatAmount } from '../../../runtime/payment/receipt.js';
import type { Quote } from '../../../runtime/workflow/tariff.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';

export const order = 13;

interface QuoteOptions {
  destination: string;
  weight: string;
  service?: string;
  cod?: string;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('quote')
    .description("a parcel's price from the tariff cached with the task list, as a pickup quotes it")
    .requiredOption('--destination <postcode-or-area>', 'the postcode or area code the parcel goes to')
    .requiredOption('--weight <grams>', "the parcel's weight in whole grams")
    .option('--service <name>', "the service (default: the tariff's first, e.g. standard)")
    .option('--cod <minor-units>', 'cash to collect on delivery, minor units (2500 = 25.00): adds the COD fee')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: QuoteOptions) => runQuote(opts)));
}

async function runQuote(opts: QuoteOptions): Promise<void> {
  const query = new URLSearchParams({
    destination: opts.destination,
    weightGrams: whole(opts.weight, '--weight', 'grams'),
  });
  if (opts.service !== undefined) query.set('service', opts.service);
  if (opts.cod !== undefined) query.set('codAmount', whole(opts.cod, '--cod', 'minor units'));
  const q = await callDaemon<Quote>(opts, 'GET', `/v1/quote?${query.toString()}`);
  if (opts.json) {
    printJson(q);
    return;
  }
  const money = (amount: number) => formatAmount(amount, q.currency);
  const matched =
    'areaCode' in q.matchedBy ? `area code ${q.matchedBy.areaCode}` : `postcode prefix ${q.matchedBy.postcodePrefix}`;
  printLines([
    `zone     ${q.zone} (${q.zoneName}), by ${matched}`,
    `band     ${q.band} (up to ${q.bandUpToGrams} g) for ${q.weightGrams} g, ${q.service}`,
    `price    ${money(q.price)}`,
    ...(q.codAmount > 0 ? [`COD fee  ${money(q.codFee)} on ${money(q.codAmount)}`] : []),
    `total    ${money(q.total)}`,
    `tariff   ${q.tariffVersion}`,
  ]);
}

/** The option's digits, checked here so the error names the option the technician typed. */
function whole(text: string, option: string, unit: string): string {
  if (!/^[0-9]{1,15}$/.test(text))
    throw new PosError('CODPOS_USAGE_QUOTE', `${option}: expected a whole number of ${unit}, not ${text}`);
  return text;
}
