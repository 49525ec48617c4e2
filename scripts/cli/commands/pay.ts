/**
 * `codpos pay --amount MINOR [--waybill ID] [--idempotency-key KEY] [--json]`,
 * `codpos void JOURNAL_ID` and `codpos settle [--json]`: a card payment, its void, and the
 * end-of-day settlement through the running daemon's local API (the same calls the screen app
 * makes). `pay` waits while the customer presents the card and enters the PIN; a decline is an
 * outcome (exit 0). Ctrl-C (SIGINT) or SIGTERM while it waits asks the daemon to cancel the
 * payment (POST /v1/payments/cancel): cancelled, it exits 130 (143 for SIGTERM); too late (the
 * card has answered), it says so and waits for the outcome; a second signal leaves at once.
 * Card data shows as the last four digits at most.
 */
import type { Command } from 'commander';
import { constants } from 'node:os';
import { PosError } from '../../../config/errors.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import type { PaymentOutcome, SettlementOutcome } from '../../../runtime/payment/service.js';

export const order = 11;

interface PayOptions {
  amount: string;
  waybill?: string;
  idempotencyKey?: string;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('pay')
    .description(
      'take a card payment through the running daemon: the customer inserts or swipes the card and enters the PIN on the PIN pad',
    )
    .requiredOption('--amount <minor>', 'amount in minor units of terminal.currency (2500 = 25.00)')
    .option('--waybill <id>', 'the waybill the payment is for')
    .option(
      '--idempotency-key <key>',
      'a key of your own for this payment: the same key again answers with its outcome, never a second payment',
    )
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nCtrl-C while the customer has not presented the card or entered the PIN cancels the payment (exit 130);\nonce the card has answered, the payment runs to its end and its outcome is printed.',
    )
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
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `--amount ${opts.amount}: expected a whole number of minor units above 0 (2500 = 25.00)`,
      { details: { option: '--amount' } },
    );
  }
  const headers: Record<string, string> =
    opts.idempotencyKey !== undefined ? { 'Idempotency-Key': opts.idempotencyKey } : {};
  // The customer has emv.cardWaitMs to present the card, then the PIN entry and the host: wait long.
  const paying = callDaemon<PaymentOutcome>(
    opts,
    'POST',
    '/v1/payments/card',
    { amount: Number(opts.amount), ...(opts.waybill !== undefined ? { waybill: opts.waybill } : {}) },
    300_000,
    headers,
  );
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted !== undefined) process.exit(128 + constants.signals[signal]);
    interrupted = signal;
    process.stderr.write('codpos: cancelling the payment (again to leave at once)\n');
    // Cancelled, the payment's own answer comes next and says so; too late, the outcome is still to come.
    callDaemon(opts, 'POST', '/v1/payments/cancel', {}, 10_000).catch((error: unknown) =>
      process.stderr.write(`codpos: ${(error as Error).message}; waiting for its outcome\n`),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let answer: PaymentOutcome;
  try {
    answer = await paying;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (opts.json) printJson(answer);
  else printLines(paymentLines(answer));
  if (interrupted !== undefined && answer.outcome === 'cancelled')
    process.exitCode = 128 + constants.signals[interrupted];
}

function paymentLines(answer: PaymentOutcome): string[] {
  const partial = answer.approvedAmount !== undefined && answer.remainingDue !== undefined && answer.remainingDue > 0;
  return [
    `${answer.outcome.toUpperCase()}${answer.approvedOffline ? ' (offline)' : ''}${answer.replayed ? ' (answered before)' : ''}: ${answer.reason}`,
    ...(partial
      ? [
          `  approved ${answer.approvedAmount} of ${answer.approvedAmount! + answer.remainingDue!}: ${answer.remainingDue} still due (cash or another card)`,
        ]
      : []),
    ...(answer.identificationRequired ? ["  check the cardholder's ID"] : []),
    `  card ${answer.receipt ? `**** ${answer.receipt.panLast4}` : '-'}  entry ${answer.entry ?? '-'}  response ${answer.responseCode ?? '-'}  auth ${answer.authCode ?? '-'}`,
    `  journal ${answer.journalId ?? '(nothing journaled)'}  receipt ${answer.receiptPrinted ? 'printed' : answer.journalId !== undefined ? 'held (codpos reprint)' : 'none'}${answer.signatureRequired ? '  signature required' : ''}`,
  ];
}

async function runVoid(journalId: string, opts: { config?: string; json?: boolean }): Promise<void> {
  const answer = await callDaemon<{ journalId: string; originalId: string; outcome: string; responseCode: string }>(
    opts,
    'POST',
    '/v1/payments/void',
    { journalId },
    120_000,
  );
  if (opts.json) printJson(answer);
  else
    printLines([
      `${answer.outcome === 'approved' ? 'VOIDED' : 'VOID DECLINED'} (${answer.responseCode}): payment ${answer.originalId}; void journal ${answer.journalId}`,
    ]);
}

async function runSettle(opts: { config?: string; json?: boolean }): Promise<void> {
  const answer = await callDaemon<SettlementOutcome>(opts, 'POST', '/v1/settlement', {}, 120_000);
  if (opts.json) {
    printJson(answer);
    return;
  }
  const t = answer.totals;
  printLines([
    answer.inBalance
      ? `batch ${answer.batch} settled: ${answer.settled ?? 0} payments; batch ${answer.nextBatch ?? '?'} is open`
      : `batch ${answer.batch} OUT OF BALANCE (${answer.responseCode ?? '?'}): ${answer.reason ?? ''}`,
    `  debits ${t.debitCount} / ${t.debitAmount}  credits ${t.creditCount} / ${t.creditAmount} (minor units)`,
  ]);
}
