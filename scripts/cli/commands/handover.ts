/**
 * `codpos handover --counted MINOR --clerk ID [--reason TEXT] [--json]`: the courier's cash
 * handed to the depot clerk through the running daemon (POST /v1/handover): what was expected,
 * what was counted, the difference; the slip prints and the day closes.
 * `codpos handover show [--date YYYY-MM-DD] [--json]`: that day's handovers and whether it is closed.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import type { Handover } from '../../../runtime/workflow/handover.js';
import type { DayHandovers, RecordedHandover } from '../../../runtime/workflow/service.js';

export const order = 13;

interface CommonOptions {
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const handover = program
    .command('handover')
    .description("hand the courier's cash to the depot clerk: record the count, print the slip, close the day")
    .option('--counted <minor>', 'the cash the clerk counted, in minor units (2500 = 25.00)')
    .option('--clerk <id>', "the depot clerk's id")
    .option('--reason <text>', 'why the count differs from the cash expected (needed when it does)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: CommonOptions & { counted?: string; clerk?: string; reason?: string }) => runHandover(opts)),
    );
  handover
    .command('show')
    .description("a day's cash handovers and whether the day is closed")
    .option('--date <yyyy-mm-dd>', "the day (the terminal's local date; default today)")
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    // `handover show --json`: commander may hand --json and --config to `handover` itself.
    .action(
      action(async (_opts: unknown, command: Command) =>
        runShow(command.optsWithGlobals<CommonOptions & { date?: string }>()),
      ),
    );
}

async function runHandover(opts: CommonOptions & { counted?: string; clerk?: string; reason?: string }): Promise<void> {
  if (opts.counted === undefined || !/^[0-9]{1,15}$/.test(opts.counted))
    throw new PosError(
      'CODPOS_USAGE_HANDOVER',
      '--counted: expected the cash counted in minor units, a whole number (2500 = 25.00)',
    );
  if (opts.clerk === undefined) throw new PosError('CODPOS_USAGE_HANDOVER', "--clerk: expected the depot clerk's id");
  const body = {
    counted: Number(opts.counted),
    clerkId: opts.clerk,
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
  };
  // The slip prints before the answer: give a slow printer its time.
  const recorded = await callDaemon<RecordedHandover>(opts, 'POST', '/v1/handover', body, 30_000);
  if (opts.json) {
    printJson(recorded);
    return;
  }
  printLines([
    `HANDED OVER: day ${recorded.day} closed, courier ${recorded.courierId} checked out`,
    ...handoverLines(recorded),
    recorded.slipPrinted
      ? 'slip printed: both sign it'
      : 'slip NOT printed (no printer, or it failed): reprint it from the record',
  ]);
}

async function runShow(opts: CommonOptions & { date?: string }): Promise<void> {
  const query = opts.date !== undefined ? `?date=${encodeURIComponent(opts.date)}` : '';
  const day = await callDaemon<DayHandovers & { day: string }>(opts, 'GET', `/v1/handover${query}`);
  if (opts.json) {
    printJson(day);
    return;
  }
  printLines([
    `day ${day.day}: ${day.closed ? 'closed by its cash handover (a check-in opens a new day)' : 'open'}`,
    ...(day.handovers.length === 0
      ? ['  no handover']
      : day.handovers.flatMap((h) => [
          `handover ${h.id} at ${h.at}${h.reopenedAt ? ` (new day opened ${h.reopenedAt})` : ''}`,
          ...handoverLines(h),
        ])),
  ]);
}

function handoverLines(h: Handover): string[] {
  return [
    `  courier ${h.courierId}, depot clerk ${h.clerkId}`,
    `  expected    ${h.expected}`,
    `  counted     ${h.counted}`,
    `  difference  ${h.difference}${h.reason !== undefined ? ` (${h.reason})` : ''}`,
  ];
}
