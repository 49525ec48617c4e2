/**
 * `codpos status [--config FILE] [--json]`: asks the running daemon, over its local API
 * socket, how it and each of its services are (up, degraded with why, down). Exit 0 when
 * the daemon answered, whatever its services say; 7 when no daemon answers.
 */
import type { Command } from 'commander';
import { callDaemon } from '../daemon-api.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

export const order = 10;

interface StatusOptions {
  config?: string;
  json?: boolean;
}

interface StatusBody {
  daemon: { pid: number; version: string; startedAt: string };
  services: Record<string, { state: string; reason?: string }>;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('ask the running daemon (over its local API socket) how it and each service are')
    .option('--config <file>', `config file, for data.dir and api.socket (default: ${CONFIG_FILE_DEFAULT_HELP})`)
    .option('--json', 'machine-readable output')
    .action(action(async (opts: StatusOptions) => runStatus(opts)));
}

async function runStatus(opts: StatusOptions): Promise<void> {
  const body = await callDaemon<StatusBody>(opts, 'GET', '/v1/status');
  if (opts.json) {
    printJson(body);
    return;
  }
  const width = Math.max(...Object.keys(body.services).map((name) => name.length));
  printLines([
    `codposd ${body.daemon.version}, pid ${body.daemon.pid}, up since ${body.daemon.startedAt}`,
    ...Object.entries(body.services).map(
      ([name, health]) => `  ${name.padEnd(width)}  ${health.state}${health.reason ? `: ${health.reason}` : ''}`,
    ),
  ]);
}
