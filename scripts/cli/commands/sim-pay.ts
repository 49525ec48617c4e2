/**
 * `codpos sim pay --card NAME --amount MINOR [--pin PIN | --cancel-pin] [--swipe [--chip-failed] | --tap]
 * [--floor-limit MINOR] [--waybill ID] [--config FILE] [--json]`: one card payment end to end on
 * simulated devices and a simulated acquirer, with the real drivers, kernel, host link and a
 * spool in a temporary directory (runtime/payment/sim-pay.ts). Prints the exchanges with the
 * acquirer (masked), the outcome and the receipt as printed. A decline is an outcome: exit 0.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

export const order = 62;

interface SimPayOptions {
  card: string;
  amount: string;
  pin?: string;
  cancelPin?: boolean;
  swipe?: boolean;
  tap?: boolean;
  chipFailed?: boolean;
  floorLimit?: string;
  waybill?: string;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const group = groupCommand(
    program,
    'sim',
    'run simulators (devices, acquirer host, back-end, PSP) for a box-less setup',
  );
  group
    .command('pay')
    .description(
      'run one card payment end to end on simulated devices and a simulated acquirer (a temporary spool; the box journal is not touched) and print the outcome and the receipt',
    )
    .requiredOption(
      '--card <profile>',
      'virtual card: visa-dda, mc-cda, sda, magstripe-only, expired, mute-chip; with --tap: cl-visa-fdda, cl-mc-cda-rrp, cl-mc-phone, ...',
    )
    .requiredOption('--amount <minor>', 'amount in minor units of terminal.currency (2500 = 25.00)')
    .option('--pin <digits>', 'the PIN the customer types when asked (default 1234)')
    .option('--cancel-pin', 'the customer presses CANCEL instead of entering the PIN')
    .option('--swipe', "swipe the card's stripe instead of inserting its chip")
    .option('--tap', 'tap a virtual contactless card on the reader (Entry Point and its kernels, emv.contactless)')
    .option('--chip-failed', 'with --swipe: the chip of this card just failed (a fallback swipe)')
    .option(
      '--floor-limit <minor>',
      'kernel floor limit for the configured AIDs (emv.applications), minor units (default 0: every chip payment goes online)',
    )
    .option('--waybill <id>', 'the waybill the payment is for')
    .option('--config <file>', `config file (default: ${CONFIG_FILE_DEFAULT_HELP})`)
    .option('--json', 'machine-readable output: one JSON object per line')
    .action(action(async (opts: SimPayOptions) => runSimPay(opts)));
}

function minorUnits(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,12}$/.test(text))
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `${option} ${text}: expected a whole number of minor units (2500 = 25.00)`,
      { details: { option } },
    );
  return Number(text);
}

async function runSimPay(opts: SimPayOptions): Promise<void> {
  // Loaded here, not at the top: every `codpos` run imports this module.
  const { loadConfig } = await import('../../../config/load.js');
  const { listCardProfiles } = await import('../../../emv/card/index.js');
  const { listContactlessProfiles } = await import('../../../emv/card/contactless-profiles.js');
  const { runSimPay } = await import('../../../runtime/payment/sim-pay.js');
  const amount = minorUnits('--amount', opts.amount, 0);
  if (amount === 0)
    throw new PosError('CODPOS_USAGE_BAD_OPTION', '--amount must be more than 0', { details: { option: '--amount' } });
  if (opts.tap && opts.swipe)
    throw new PosError('CODPOS_USAGE_BAD_OPTION', '--tap and --swipe: a card is either tapped or swiped', {
      details: { option: '--tap' },
    });
  const cards = opts.tap ? listContactlessProfiles() : listCardProfiles();
  if (!cards.includes(opts.card)) {
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `--card ${opts.card}: no such virtual ${opts.tap ? 'contactless ' : ''}card; there are ${cards.join(', ')}`,
      { details: { option: '--card' } },
    );
  }
  if (opts.pin !== undefined && !/^[0-9]{4,12}$/.test(opts.pin))
    throw new PosError('CODPOS_USAGE_BAD_OPTION', '--pin: expected 4 to 12 digits', { details: { option: '--pin' } });
  if (opts.chipFailed && !opts.swipe)
    throw new PosError('CODPOS_USAGE_BAD_OPTION', '--chip-failed goes with --swipe', {
      details: { option: '--chip-failed' },
    });
  const { config } = loadConfig({ file: opts.config });
  const run = await runSimPay({
    config,
    card: opts.card,
    amount,
    pin: opts.cancelPin ? 'cancel' : (opts.pin ?? '1234'),
    swipe: opts.swipe ?? false,
    tap: opts.tap ?? false,
    chipFailed: opts.chipFailed ?? false,
    floorLimit: minorUnits('--floor-limit', opts.floorLimit, 0),
    ...(opts.waybill !== undefined ? { waybill: opts.waybill } : {}),
    onExchange: (exchange) => {
      if (opts.json) printJson({ event: 'exchange', ...exchange });
      else
        printLines([
          `host| ${exchange.mti} STAN ${exchange.stan ?? '-'} DE22 ${exchange.entryMode ?? '-'}${exchange.arqc ? ` ARQC ${exchange.arqc}` : ''} -> ${exchange.answer}`,
        ]);
    },
  });
  const { result } = run;
  if (opts.json) {
    printJson({ event: 'result', ...result });
    printJson({ event: 'receipt', lines: run.receipt });
    return;
  }
  printLines([
    `${result.outcome.toUpperCase()}${result.approvedOffline ? ' (offline)' : ''}: ${result.reason}`,
    `  response ${result.responseCode ?? '-'}  auth ${result.authCode ?? '-'}  entry ${result.entry ?? '-'}  signature ${result.signatureRequired ? 'required' : 'no'}`,
    `  journal ${result.journalId ?? '(nothing journaled)'}`,
    ...(run.receipt.length > 0
      ? ['receipt:', ...run.receipt.map((line) => `  | ${line}`)]
      : ['receipt: none (nothing was journaled)']),
  ]);
}
