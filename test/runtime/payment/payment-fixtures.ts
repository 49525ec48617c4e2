/**
 * The daemon as codposd --sim builds it, in a data directory the test chooses (so a second
 * daemon can start on the first one's spool), with the log it writes read back; and API calls
 * that carry headers or that the client abandons.
 */
import type { Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type ClientRequest } from 'node:http';
import { validateConfig } from '../../../config/load.js';
import type { ConfigInput } from '../../../config/schema.js';
import { createDaemon, simulateEverything } from '../../../runtime/daemon.js';
import { apiSocketPath } from '../../../runtime/api/server.js';
import { createLogger, type Logger } from '../../../runtime/log.js';
import { downloadTaskList } from '../daemon-fixtures.js';

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'codpos-payment-api-'));
}

/** Starts a daemon on `dir`; `stop()` stops it (once; the test's teardown stops it otherwise). */
export async function startDaemonIn(
  t: Test,
  dir: string,
  input: ConfigInput = {},
  log: Logger = createLogger({ level: 'silent' }),
) {
  const config = simulateEverything(
    validateConfig({ ...input, data: { dir }, emv: { cardWaitMs: 20_000, ...input.emv } }),
  );
  const daemon = createDaemon(config, log, '0.0.0-test');
  await daemon.start();
  await downloadTaskList(apiSocketPath(config));
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= daemon.stop());
  t.teardown(stop);
  return { socketPath: apiSocketPath(config), daemon, stop };
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** One JSON call with request headers; `sent` is the request, for a test that abandons it. */
export function callWithHeaders(
  socketPath: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Answer> & { sent: ClientRequest } {
  let sent!: ClientRequest;
  const answer = new Promise<Answer>((resolve, reject) => {
    sent = request({ socketPath, method, path, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    sent.on('error', reject);
    sent.end(body === undefined ? undefined : JSON.stringify(body));
  });
  return Object.assign(answer, { sent });
}

/** Polls `check` until it is true (at most ~10 s): for what the daemon does after it answered. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never: ${what}`);
}

/** Today in the terminal's local time zone, as the API's `date` parameter. */
export function localToday(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}
