/**
 * `codpos report day [--date YYYY-MM-DD] [--json]`: the courier's end of day from the running
 * daemon (GET /v1/reports/day): the cash to hand over, the card and QR collections, the
 * exceptions, and the COD deliveries or card and QR payments that do not match, one by one
 * (with the QR payments whose outcome only the PSP can give).
 */
import type { Command } from 'commander';
import { groupCommand } from '../groups.js';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import type { DayReport } from '../../../runtime/workflow/day-report.js';

export const order = 12;

export function register(program: Command): void {
  const report = groupCommand(program, 'report', "the courier's reports from the running daemon");
  report
    .command('day')
    .description('end of day: the cash to hand over, card and QR collections, exceptions, and what does not reconcile')
    .option('--date <yyyy-mm-dd>', "the day (the terminal's local date; default today)")
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { date?: string; config?: string; json?: boolean }) => runDayReport(opts)));
}

async function runDayReport(opts: { date?: string; config?: string; json?: boolean }): Promise<void> {
  const query = opts.date !== undefined ? `?date=${encodeURIComponent(opts.date)}` : '';
  const r = await callDaemon<DayReport>(opts, 'GET', `/v1/reports/day${query}`);
  if (opts.json) {
    printJson(r);
    return;
  }
  printLines(dayReportLines(r));
}

/** The day report as the courier reads it, one line each. */
export function dayReportLines(r: DayReport): string[] {
  const problems = [
    ...r.collections
      .filter((c) => !c.matched)
      .map((c) => `  ${c.waybill}: ${c.method} ${c.amount}: ${c.problem ?? 'does not match'}`),
    ...r.unmatchedPayments.map(
      (p) =>
        `  card payment ${p.journalId} (${p.amount}${p.waybill ? `, waybill ${p.waybill}` : ''}): no delivery collected with it`,
    ),
    ...r.unmatchedQrPayments.map(
      (p) => `  QR payment ${p.qrPaymentId} (${p.amount}, waybill ${p.waybill}): no delivery collected with it`,
    ),
    ...r.unknownQrPayments.map((p) => `  ${p.problem}`),
  ];
  return [
    `day ${r.date}: ${r.pickups} pickups, ${r.deliveries} deliveries`,
    `  cash to hand over  ${r.cash.amount} (${r.cash.count} deliveries)`,
    `  card collections   ${r.card.amount} (${r.card.count} deliveries)`,
    `  QR collections     ${r.qr.amount} (${r.qr.count} deliveries)`,
    `  exceptions         ${
      Object.entries(r.exceptions)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ') || 'none'
    }`,
    ...(r.codDue.length > 0
      ? [
          'cash on delivery due:',
          ...r.codDue.map(
            (c) =>
              `  ${c.waybill}  ${String(c.amount).padStart(8)}  ${c.status}${c.method ? ` (${c.method})` : ''}${c.reason ? ` (${c.reason})` : ''}`,
          ),
        ]
      : []),
    problems.length > 0 ? `does not reconcile (${problems.length}):` : 'every COD delivery matches its payment',
    ...problems,
  ];
}
