/**
 * `codpos pay --amount MINOR [--waybill ID] [--json]`, `codpos void JOURNAL_ID` and
 * `codpos settle [--json]`: a card payment, its void, and the end-of-day settlement through
 * the running daemon's local API (the same
 * calls the screen app makes). `pay` waits while the customer presents the card and enters
 * the PIN; a decline is an outcome (exit 0). Card data shows as the last four digits at most.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import type { PaymentOutcome, SettlementOutcome } from '../../../runtime/payment/service.js';

export const order = 11;

interface PayOptions {
  amount: string;
  waybill?: string;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('pay')
    .description('take a card payment through the running daemon: the customer inserts or swipes the card and enters the PIN on the PIN pad')
    .requiredOption('--amount <minor>', 'amount in minor units of terminal.currency (2500 = 25.00)')
    .option('--waybill <id>', 'the waybill the payment is for')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: PayOptions) => runPay(opts)));
  program
    .command('void')
    .description('void an approved card payment of the open batch through the running daemon (the card not present)')
    .argument('<journal-id>', 'the journal id of the payment (codpos pay prints it)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (journalId: string, opts: { config?: string; json?: boolean }) => runVoid(journalId, opts)));
  program
    .command('settle')
    .description("end of day: send the open card batch's totals to the acquirer through the running daemon (0500)")
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { config?: string; json?: boolean }) => runSettle(opts)));
}

async function runPay(opts: PayOptions): Promise<void> {
  if (!/^[0-9]{1,12}$/.test(opts.amount) || Number(opts.amount) === 0) {
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `--amount ${opts.amount}: expected a whole number of minor units above 0 (2500 = 25.00)`, { details: { option: '--amount' } });
  }
  // The customer has emv.cardWaitMs to present the card, then the PIN entry and the host: wait long.
  const answer = await callDaemon<PaymentOutcome>(opts, 'POST', '/v1/payments/card', { amount: Number(opts.amount), ...(opts.waybill !== undefined ? { waybill: opts.waybill } : {}) }, 300_000);
  if (opts.json) {
    printJson(answer);
    return;
  }
  printLines([
    `${answer.outcome.toUpperCase()}${answer.approvedOffline ? ' (offline)' : ''}: ${answer.reason}`,
    `  card ${answer.receipt ? `**** ${answer.receipt.panLast4}` : '-'}  entry ${answer.entry ?? '-'}  response ${answer.responseCode ?? '-'}  auth ${answer.authCode ?? '-'}`,
    `  journal ${answer.journalId ?? '(nothing journaled)'}  receipt ${answer.receiptPrinted ? 'printed' : 'not printed'}${answer.signatureRequired ? '  signature required' : ''}`,
  ]);
}

async function runVoid(journalId: string, opts: { config?: string; json?: boolean }): Promise<void> {
  const answer = await callDaemon<{ journalId: string; originalId: string; outcome: string; responseCode: string }>(opts, 'POST', '/v1/payments/void', { journalId }, 120_000);
  if (opts.json) printJson(answer);
  else printLines([`${answer.outcome === 'approved' ? 'VOIDED' : 'VOID DECLINED'} (${answer.responseCode}): payment ${answer.originalId}; void journal ${answer.journalId}`]);
}

async function runSettle(opts: { config?: string; json?: boolean }): Promise<void> {
  const answer = await callDaemon<SettlementOutcome>(opts, 'POST', '/v1/settlement', {}, 120_000);
  if (opts.json) {
    printJson(answer);
    return;
  }
  const t = answer.totals;
  printLines([
    answer.inBalance ? `batch ${answer.batch} settled: ${answer.settled ?? 0} payments; batch ${answer.nextBatch ?? '?'} is open` : `batch ${answer.batch} OUT OF BALANCE (${answer.responseCode ?? '?'}): ${answer.reason ?? ''}`,
    `  debits ${t.debitCount} / ${t.debitAmount}  credits ${t.creditCount} / ${t.creditAmount} (minor units)`,
  ]);
}
