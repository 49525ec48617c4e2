/**
 * `codpos status [--config FILE] [--json]`: asks the running daemon, over its local API
 * socket, how it and each of its services are (up, degraded with why, down). Exit 0 when
 * the daemon answered, whatever its services say; 7 when no daemon answers.
 */
import type { Command } from 'commander';
import { request } from 'node:http';
import { PosError } from '../../../config/errors.js';
import { action, printJson, printLines } from '../output.js';

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
    .description("ask the running daemon (over its local API socket) how it and each service are")
    .option('--config <file>', 'config file, for data.dir and api.socket (default: CODPOS_CONFIG or the simulated config)')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: StatusOptions) => runStatus(opts)));
}

async function runStatus(opts: StatusOptions): Promise<void> {
  // Loaded here, not at the top: every `codpos` run imports this module.
  const { loadConfig } = await import('../../../config/load.js');
  const { apiSocketPath } = await import('../../../runtime/api/server.js');
  const socketPath = apiSocketPath(loadConfig({ file: opts.config }).config);
  const body = await getJson<StatusBody>(socketPath, '/v1/status');
  if (opts.json) {
    printJson(body);
    return;
  }
  const width = Math.max(...Object.keys(body.services).map((name) => name.length));
  printLines([
    `codposd ${body.daemon.version}, pid ${body.daemon.pid}, up since ${body.daemon.startedAt}`,
    ...Object.entries(body.services).map(([name, health]) => `  ${name.padEnd(width)}  ${health.state}${health.reason ? `: ${health.reason}` : ''}`),
  ]);
}

function getJson<T>(socketPath: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          const body = JSON.parse(text) as T & { error?: { code: string; message: string } };
          if (res.statusCode !== 200) reject(new PosError('CODPOS_DAEMON_API', `the daemon answered ${res.statusCode ?? '?'}: ${body.error?.message ?? text}`));
          else resolve(body);
        } catch {
          reject(new PosError('CODPOS_DAEMON_API', `the daemon's answer on ${socketPath} is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PosError('CODPOS_DAEMON_NOT_RUNNING', `no codposd answers on ${socketPath} (${error.code ?? error.message}): is it running? (systemctl status codposd)`, {
          cause: error,
          details: { socket: socketPath },
        }),
      ),
    );
    req.end();
  });
}
