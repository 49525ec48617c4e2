/**
 * `codpos payments [--date YYYY-MM-DD]`, `codpos payment JOURNAL_ID` and `codpos reprint
 * [JOURNAL_ID]`: the card payments as the running daemon's journal has them (to find an approval
 * the courier never heard about, and void it with `codpos void`), and the payment receipts held
 * because the printer could not print, printed again. Through the local API; the card shows
 * as its first 6 and last 4 digits at most.
 */
import type { Command } from 'commander';
import { ERROR_AREAS } from '../../../config/errors.js';
import { localTimeText } from '../../../runtime/payment/receipt.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import type { PaymentView } from '../../../runtime/payment/payment-view.js';
import type { ReprintOutcome } from '../../../runtime/payment/receipt-queue.js';

export const order = 12;

interface DaemonOptions {
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('payments')
    .description("the day's card payments as the running daemon's journal has them")
    .option('--date <YYYY-MM-DD>', "the terminal's local day (default: today)")
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: DaemonOptions & { date?: string }) => runPayments(opts)));
  program
    .command('payment')
    .description('one card payment as the journal has it: state, amounts, codes, waybill, the card masked, the receipt')
    .argument('<journal-id>', 'the journal id of the payment (codpos pay and codpos payments print it)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (journalId: string, opts: DaemonOptions) => runPayment(journalId, opts)));
  program
    .command('reprint')
    .description('print a payment receipt again; without a journal id, every receipt held because the printer could not print')
    .argument('[journal-id]', 'the journal id of the payment whose receipt to print again (a reprint says REPRINT)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (journalId: string | undefined, opts: DaemonOptions) => runReprint(journalId, opts)));
}

async function runPayments(opts: DaemonOptions & { date?: string }): Promise<void> {
  const query = opts.date !== undefined ? `?date=${encodeURIComponent(opts.date)}` : '';
  const answer = await callDaemon<{ date: string; payments: PaymentView[] }>(opts, 'GET', `/v1/payments${query}`);
  if (opts.json) {
    printJson(answer);
    return;
  }
  printLines([`${answer.date}: ${answer.payments.length} card payment(s)`, ...answer.payments.map(summary)]);
}

async function runPayment(journalId: string, opts: DaemonOptions): Promise<void> {
  const view = await callDaemon<PaymentView>(opts, 'GET', `/v1/payments/${encodeURIComponent(journalId)}`);
  if (opts.json) {
    printJson(view);
    return;
  }
  printLines([
    `${view.journalId}: ${view.kind} ${view.state} (${view.outcome})${view.reason ? `: ${view.reason}` : ''}`,
    `  amount ${view.amount}${view.approvedAmount !== undefined ? `  approved ${view.approvedAmount}  still due ${view.remainingDue ?? 0}` : ''}  currency ${view.currency}`,
    `  card ${view.panMasked ?? '-'}  entry ${view.entry ?? '-'}  response ${view.responseCode ?? '-'}  auth ${view.authCode ?? '-'}${view.approvedOffline ? '  offline' : ''}`,
    `  waybill ${view.waybill ?? '-'}  STAN ${view.stan}  RRN ${view.rrn}  invoice ${view.invoice}  batch ${view.batch}`,
    `  receipt ${view.receipt}  at ${view.createdAt}${view.originalId ? `  voids ${view.originalId}` : ''}`,
  ]);
}

async function runReprint(journalId: string | undefined, opts: DaemonOptions): Promise<void> {
  const answer = await callDaemon<ReprintOutcome>(opts, 'POST', '/v1/receipts/reprint', journalId !== undefined ? { journalId } : {}, 60_000);
  if (opts.json) {
    printJson(answer);
    return;
  }
  if (answer.printed.length === 0 && answer.held.length === 0) {
    printLines(['no receipt is held']);
    return;
  }
  printLines([...answer.printed.map((id) => `printed ${id}`), ...answer.held.map((held) => `NOT PRINTED ${held.journalId}: ${held.reason}`)]);
  // Receipts that still did not print: the printer is the problem (a device error).
  if (answer.held.length > 0) process.exitCode = ERROR_AREAS.DEVICE.exitCode;
}

function summary(view: PaymentView): string {
  const time = localTimeText(new Date(view.createdAt));
  const approved = view.approvedAmount !== undefined && view.approvedAmount !== view.amount ? ` (approved ${view.approvedAmount})` : '';
  return `  ${time}  ${view.journalId}  ${view.kind} ${view.state}  ${view.amount}${approved}  ${view.panMasked ?? '-'}  ${view.waybill ?? '-'}  receipt ${view.receipt}`;
}
