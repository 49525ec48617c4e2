/**
 * The daemon as codposd --sim builds it (every device, the acquirer and the back-end
 * simulated, a temporary data directory), started in the test's process, and a client for
 * its local API: JSON calls and the event stream.
 */
import type { Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { validateConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import { createDaemon, simulateEverything } from '../../runtime/daemon.js';
import { apiSocketPath } from '../../runtime/api/server.js';
import { createLogger } from '../../runtime/log.js';

export function call(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Follows /v1/events; `types()` lists the event types seen so far, `text()` the raw stream. */
export function follow(socketPath: string) {
  let raw = '';
  const req = request({ socketPath, path: '/v1/events' }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (raw += chunk));
  });
  req.on('error', () => undefined);
  req.end();
  return {
    types: () => [...raw.matchAll(/^event: (.+)$/gm)].map((m) => m[1]!),
    text: () => raw,
    async until(type: string) {
      for (let i = 0; i < 1000 && !raw.includes(`event: ${type}\n`); i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      if (!raw.includes(`event: ${type}\n`)) throw new Error(`no ${type} event`);
    },
    close: () => req.destroy(),
  };
}

export async function startDaemon(t: Test, input: ConfigInput = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-daemon-pay-'));
  const config = simulateEverything(
    validateConfig({ ...input, data: { dir }, emv: { cardWaitMs: 20_000, ...input.emv } }),
  );
  const daemon = createDaemon(config, createLogger({ level: 'silent' }), '0.0.0-test');
  await daemon.start();
  t.teardown(() => daemon.stop());
  await downloadTaskList(apiSocketPath(config));
  return { socketPath: apiSocketPath(config), daemon };
}

/**
 * Ready does not wait for the task list download (the cached list serves), and a fresh data
 * directory has none cached: the day's list is fetched through the API, as the screen app's
 * refresh does, so a test begins with courier C001 and the simulator's tasks and tariff.
 */
export async function downloadTaskList(socketPath: string): Promise<void> {
  const refreshed = await call(socketPath, 'POST', '/v1/tasks/refresh');
  if (refreshed.status !== 200) throw new Error(`the task list did not download: ${JSON.stringify(refreshed.json)}`);
}
