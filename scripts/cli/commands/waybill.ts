/**
 * `codpos decode waybill TEXT [--pattern REGEX] [--json]`: checks a waybill number as the
 * scanner read it: a UPU S10 number and its check digit, or the operator's own format.
 * A number that does not check exits 2 with why.
 *
 * `codpos waybill show ID [--json]`: where a waybill stands on the running daemon (`GET
 * /v1/waybills/{id}`): its status, its task, its events in order, its card payments (masked).
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';
import type { WaybillHistory } from '../../../runtime/workflow/service.js';
import type { PaymentView } from '../../../runtime/payment/payment-view.js';

export const order = 41;

export function register(program: Command): void {
  const decode = groupCommand(program, 'decode', 'decode captured ISO 8583, TLV or track data (card data masked)');
  decode
    .command('waybill')
    .description('check a waybill number: UPU S10 with its check digit, or the operator format given with --pattern')
    .argument('<text>', 'the waybill number as scanned or typed')
    .option('--pattern <regex>', "the operator's own waybill format, a regular expression the whole number must match")
    .option('--json', 'machine-readable output')
    .action(action(async (text: string, opts: { pattern?: string; json?: boolean }) => runDecodeWaybill(text, opts)));
  groupCommand(program, 'waybill', 'a waybill on the running daemon')
    .command('show')
    .description("a waybill's status, task, events in order and card payments (card masked), from the running daemon")
    .argument('<id>', 'the waybill number')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'machine-readable output')
    .action(action(async (id: string, opts: { config?: string; json?: boolean }) => runShowWaybill(id, opts)));
}

async function runShowWaybill(id: string, opts: { config?: string; json?: boolean }): Promise<void> {
  const { callDaemon } = await import('../daemon-api.js');
  const shown = await callDaemon<WaybillHistory & { payments: PaymentView[] }>(
    opts,
    'GET',
    `/v1/waybills/${encodeURIComponent(id)}`,
  );
  if (opts.json) {
    printJson(shown);
    return;
  }
  printLines([
    `${shown.waybill}: ${shown.status}${shown.reason ? ` (${shown.reason})` : ''}`,
    ...shown.tasks.map(
      (task) => `  task ${task.id}  ${task.kind}  COD ${task.codAmount}  ${task.consignee ?? '-'}  ${task.state}`,
    ),
    ...(shown.tasks.length === 0 ? ['  not on the task list'] : []),
    `  events (${shown.events.length}):`,
    ...shown.events.map(
      (event) =>
        `    ${event.at}  ${event.kind}${event.reason ? ` ${event.reason}` : ''}${event.codDue !== undefined ? `  COD ${event.codDue}` : ''}${event.signed ? '  signed' : ''}  ${event.uplink === 'forwarded' ? 'sent' : `uplink ${event.uplink}`}`,
    ),
    `  card payments (${shown.payments.length}):`,
    ...shown.payments.map(
      (payment) =>
        `    ${payment.journalId}  ${payment.state}  ${payment.amount}${payment.approvedAmount !== undefined && payment.approvedAmount !== payment.amount ? ` (approved ${payment.approvedAmount})` : ''}  ${payment.panMasked ?? '-'}`,
    ),
  ]);
}

async function runDecodeWaybill(text: string, opts: { pattern?: string; json?: boolean }): Promise<void> {
  const { checkWaybill } = await import('../../../runtime/workflow/waybill.js');
  let operatorPattern: RegExp | undefined;
  if (opts.pattern !== undefined) {
    try {
      operatorPattern = new RegExp(`^(?:${opts.pattern})$`);
    } catch (error) {
      throw new PosError('CODPOS_USAGE_BAD_OPTION', `--pattern: ${(error as Error).message}`, {
        details: { option: '--pattern' },
      });
    }
  }
  const check = checkWaybill(text, operatorPattern ? { operatorPattern } : {});
  if (opts.json) printJson(check);
  else if (check.valid && check.kind === 's10')
    printLines([
      `${check.waybill}: UPU S10, service ${check.serviceIndicator}, serial ${check.serial}, check digit ${check.checkDigit} ok, country ${check.country}`,
    ]);
  else if (check.valid) printLines([`${check.waybill}: the operator's format`]);
  if (!check.valid)
    throw new PosError('CODPOS_USAGE_WAYBILL', `${check.waybill}: ${check.reason}`, {
      details: { waybill: check.waybill },
    });
}
