/**
 * `codpos decode waybill TEXT [--pattern REGEX] [--json]`: checks a waybill number as the
 * scanner read it: a UPU S10 number and its check digit, or the operator's own format.
 * A number that does not check exits 2 with why.
 */
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';

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
}

async function runDecodeWaybill(text: string, opts: { pattern?: string; json?: boolean }): Promise<void> {
  const { checkWaybill } = await import('../../../runtime/workflow/waybill.js');
  let operatorPattern: RegExp | undefined;
  if (opts.pattern !== undefined) {
    try {
      operatorPattern = new RegExp(`^(?:${opts.pattern})$`);
    } catch (error) {
      throw new PosError('CODPOS_USAGE_BAD_OPTION', `--pattern: ${(error as Error).message}`, { details: { option: '--pattern' } });
    }
  }
  const check = checkWaybill(text, operatorPattern ? { operatorPattern } : {});
  if (opts.json) printJson(check);
  else if (check.valid && check.kind === 's10') printLines([`${check.waybill}: UPU S10, service ${check.serviceIndicator}, serial ${check.serial}, check digit ${check.checkDigit} ok, country ${check.country}`]);
  else if (check.valid) printLines([`${check.waybill}: the operator's format`]);
  if (!check.valid) throw new PosError('CODPOS_USAGE_WAYBILL', `${check.waybill}: ${check.reason}`, { details: { waybill: check.waybill } });
}
