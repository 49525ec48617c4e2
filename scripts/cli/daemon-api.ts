/**
 * `codpos` commands that talk to the running daemon: one JSON request over the local API's
 * Unix socket (docs/api.md). No daemon answering is CODPOS_DAEMON_NOT_RUNNING (exit 7); an
 * error the daemon answers with keeps its code (and so its exit code).
 */
import { request } from 'node:http';
import { PosError, isErrorCode } from '../../config/errors.js';

export async function callDaemon<T>(
  options: { config?: string },
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 3000,
  headers: Record<string, string> = {},
): Promise<T> {
  const { loadConfig } = await import('../../config/load.js');
  const { apiSocketPath } = await import('../../runtime/api/server.js');
  const socketPath = apiSocketPath(loadConfig({ file: options.config }).config);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path,
        method,
        timeout: timeoutMs,
        headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: T & { error?: { code: string; message: string; journalId?: string } };
          try {
            parsed = JSON.parse(text) as T & { error?: { code: string; message: string; journalId?: string } };
          } catch {
            reject(new PosError('CODPOS_DAEMON_API', `the daemon's answer on ${socketPath} is not JSON`));
            return;
          }
          if (res.statusCode === 200) resolve(parsed);
          else if (parsed.error && isErrorCode(parsed.error.code)) {
            reject(
              new PosError(
                parsed.error.code,
                parsed.error.message,
                parsed.error.journalId !== undefined ? { details: { journalId: parsed.error.journalId } } : {},
              ),
            );
          } else reject(new PosError('CODPOS_DAEMON_API', `the daemon answered ${res.statusCode ?? '?'}: ${text}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PosError(
          'CODPOS_DAEMON_NOT_RUNNING',
          `no codposd answers on ${socketPath} (${error.code ?? error.message}): is it running? (systemctl status codposd)`,
          {
            cause: error,
            details: { socket: socketPath },
          },
        ),
      ),
    );
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
