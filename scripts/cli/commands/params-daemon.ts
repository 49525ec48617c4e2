/**
 * `codpos params show|apply|rollback`: the parameter package of the running daemon, through its
 * local API (docs/params.md, "Applying a package"). `apply FILE` sends a signed package (the
 * envelope `codpos params sign` writes) and prints its report: applied, or pending while a
 * payment is in progress; a refused package exits with its CODPOS_PARAMS_* code (exit 8) and
 * changes nothing. `verify` and `sign` (params.ts) work on files, without a daemon.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';
import type { ParamsReport, RunningParams } from '../../../runtime/params/types.js';
import { callDaemon } from '../daemon-api.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';

export const order = 46;

interface DaemonOptions {
  config?: string;
  json?: boolean;
}

const CONFIG_HELP = `config file, for data.dir and api.socket (default: ${CONFIG_FILE_DEFAULT_HELP})`;

export function register(program: Command): void {
  const params = groupCommand(program, 'params', 'signed parameter packages: verify, sign, apply, show, roll back');
  params
    .command('show')
    .description('the parameter package the running daemon uses (version, applications, CA keys)')
    .option('--config <file>', CONFIG_HELP)
    .option('--json', 'machine-readable output')
    .action(action(async (opts: DaemonOptions) => showParams(opts)));
  params
    .command('apply <file>')
    .description('sends a signed package to the running daemon: applied, or pending until the payment in progress ends')
    .option('--config <file>', CONFIG_HELP)
    .option('--json', 'machine-readable output')
    .action(action(async (file: string, opts: DaemonOptions) => applyParams(file, opts)));
  params
    .command('rollback')
    .description('returns the running daemon to the previous parameter package')
    .option('--config <file>', CONFIG_HELP)
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: DaemonOptions) =>
        printReport(await callDaemon<ParamsReport>(opts, 'POST', '/v1/params/rollback'), opts),
      ),
    );
}

async function showParams(opts: DaemonOptions): Promise<void> {
  const running = await callDaemon<RunningParams>(opts, 'GET', '/v1/params');
  if (opts.json) return printJson(running);
  printLines([
    running.version === null
      ? 'parameters: as configured (no package applied)'
      : `parameters: package version ${running.version}${running.description !== undefined ? ` (${running.description})` : ''}, applied ${running.appliedAt ?? '?'} from ${running.source ?? '?'}`,
    ...(running.previousVersion !== null ? [`previous version: ${running.previousVersion}`] : []),
    ...(running.pendingVersion !== null
      ? [`pending: version ${running.pendingVersion}, applied when the payment in progress ends`]
      : []),
    ...running.applications.map(
      (app) =>
        `  ${app.aid}  floor limit ${app.floorLimit}  TAC denial ${app.tacDenial} online ${app.tacOnline} default ${app.tacDefault}`,
    ),
    `CA keys: ${running.caKeys.map((key) => `${key.rid}/${key.index}`).join(' ')}`,
    `revoked issuer certificates: ${running.revocations}`,
    `contactless: ${running.contactless ? 'on' : 'off'}`,
    ...(running.tariffVersion !== undefined ? [`tariff: ${running.tariffVersion}`] : []),
    ...(running.receiptHeader ? [`receipt header: ${running.receiptHeader.join(' / ')}`] : []),
  ]);
}

async function applyParams(file: string, opts: DaemonOptions): Promise<void> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PosError('CODPOS_PARAMS_FORMAT', `${file}: not a readable JSON package (${(error as Error).message})`, {
      cause: error,
    });
  }
  printReport(await callDaemon<ParamsReport>(opts, 'POST', '/v1/params', envelope), opts);
}

function printReport(report: ParamsReport, opts: DaemonOptions): void {
  if (opts.json) return printJson(report);
  const running = report.runningVersion === null ? 'the configured parameters' : `version ${report.runningVersion}`;
  const lines: Record<ParamsReport['outcome'], string> = {
    applied: `package version ${report.version ?? '?'} applied`,
    pending: `package version ${report.version ?? '?'} pending: applied when the payment in progress ends; ${running} runs until then`,
    'rolled-back': `rolled back to package version ${report.version ?? '?'}`,
    refused: `package refused (${report.code ?? '?'}): ${report.reason ?? ''}; ${running} runs`,
  };
  printLines([lines[report.outcome]]);
}
