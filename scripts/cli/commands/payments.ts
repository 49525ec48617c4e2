/**
 * `codpos payments [list] [--date D | --from D --to D] [--state S] [--waybill W]`, `codpos payment JOURNAL_ID` and `codpos reprint
 * [JOURNAL_ID]`: the card payments as the running daemon's journal has them (to find an approval
 * the courier never heard about, and void it with `codpos void`), and the payment receipts held
 * because the printer could not print, printed again. Through the local API; the card shows
 * as its first 6 and last 4 digits at most.
 */
import type { Command } from 'commander';
import { ERROR_AREAS, PosError } from '../../../config/errors.js';
import { localTimeText } from '../../../runtime/payment/receipt.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import type { PaymentView } from '../../../runtime/payment/payment-view.js';
import type { ReprintOutcome } from '../../../runtime/payment/receipt-queue.js';
import type { PaymentList } from '../../../runtime/payment/service.js';

export const order = 12;

interface DaemonOptions {
  config?: string;
  json?: boolean;
}

interface PaymentsOptions extends DaemonOptions {
  date?: string;
  from?: string;
  to?: string;
  state?: string;
  waybill?: string;
}

export function register(program: Command): void {
  program
    .command('payments')
    .description(
      "card payments as the running daemon's journal has them: a day's, a range of days', a state's, a waybill's (`codpos payments` and `codpos payments list` are the same)",
    )
    .argument('[list]', 'list them (the default)')
    .option('--date <YYYY-MM-DD>', "the terminal's local day (default: today, or every kept day with --waybill)")
    .option('--from <YYYY-MM-DD>', 'the first day of a range (with --to, or alone: up to today)')
    .option('--to <YYYY-MM-DD>', 'the last day of a range')
    .option(
      '--state <state>',
      'only payments in this journal state: approved, declined, voided, settled, reversed, ... (docs/spool.md)',
    )
    .option('--waybill <id>', "only this waybill's payments")
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (verb: string | undefined, opts: PaymentsOptions) => runPayments(verb, opts)));
  program
    .command('payment')
    .description('one card payment as the journal has it: state, amounts, codes, waybill, the card masked, the receipt')
    .argument('<journal-id>', 'the journal id of the payment (codpos pay and codpos payments print it)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (journalId: string, opts: DaemonOptions) => runPayment(journalId, opts)));
  program
    .command('reprint')
    .description(
      'print a payment receipt again; without a journal id, every receipt held because the printer could not print',
    )
    .argument('[journal-id]', 'the journal id of the payment whose receipt to print again (a reprint says REPRINT)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (journalId: string | undefined, opts: DaemonOptions) => runReprint(journalId, opts)));
}

async function runPayments(verb: string | undefined, opts: PaymentsOptions): Promise<void> {
  if (verb !== undefined && verb !== 'list')
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `codpos payments ${verb}: expected "list" or nothing (one payment: codpos payment JOURNAL_ID)`,
    );
  const query = new URLSearchParams();
  for (const name of ['date', 'from', 'to', 'state', 'waybill'] as const)
    if (opts[name] !== undefined) query.set(name, opts[name]!);
  const text = query.toString();
  const answer = await callDaemon<PaymentList>(opts, 'GET', `/v1/payments${text === '' ? '' : `?${text}`}`);
  if (opts.json) {
    printJson(answer);
    return;
  }
  printLines([`${selection(answer)}: ${answer.payments.length} card payment(s)`, ...answer.payments.map(summary)]);
}

/** What the daemon says it selected: `2026-11-29`, `2026-11-01 to 2026-11-29, approved`, `waybill RR123456785CH`. */
function selection(answer: PaymentList): string {
  const days =
    answer.date ??
    (answer.from !== undefined || answer.to !== undefined
      ? `${answer.from ?? '...'} to ${answer.to ?? 'today'}`
      : 'every kept day');
  return [
    days,
    ...(answer.state !== undefined ? [answer.state] : []),
    ...(answer.waybill !== undefined ? [`waybill ${answer.waybill}`] : []),
  ].join(', ');
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
  const answer = await callDaemon<ReprintOutcome>(
    opts,
    'POST',
    '/v1/receipts/reprint',
    journalId !== undefined ? { journalId } : {},
    60_000,
  );
  if (opts.json) {
    printJson(answer);
    return;
  }
  if (answer.printed.length === 0 && answer.held.length === 0) {
    printLines(['no receipt is held']);
    return;
  }
  printLines([
    ...answer.printed.map((id) => `printed ${id}`),
    ...answer.held.map((held) => `NOT PRINTED ${held.journalId}: ${held.reason}`),
  ]);
  // Receipts that still did not print: the printer is the problem (a device error).
  if (answer.held.length > 0) process.exitCode = ERROR_AREAS.DEVICE.exitCode;
}

function summary(view: PaymentView): string {
  const time = localTimeText(new Date(view.createdAt));
  const approved =
    view.approvedAmount !== undefined && view.approvedAmount !== view.amount
      ? ` (approved ${view.approvedAmount})`
      : '';
  return `  ${time}  ${view.journalId}  ${view.kind} ${view.state}  ${view.amount}${approved}  ${view.panMasked ?? '-'}  ${view.waybill ?? '-'}  receipt ${view.receipt}`;
}
