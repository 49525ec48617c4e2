/** `codpos status` against a running `codposd --sim`, and with no daemon. */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { runCodpos, startCodposd, waitForLogLine } from '../helpers/cli.js';

t.test('no daemon: exit 7 naming the socket it tried', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codpos-status-'));
  const run = runCodpos(['status'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.equal(run.status, 7);
  t.match(run.stderr, `no codposd answers on ${join(dataDir, 'codposd.sock')}`);
});

t.test('with codposd --sim running: every service and its health, human and --json', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codpos-status-'));
  const daemon = startCodposd(['--sim'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.teardown(() => daemon.kill('SIGKILL'));
  await waitForLogLine(daemon, 'ready');
  const human = runCodpos(['status'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.equal(human.status, 0, human.stderr);
  t.match(human.stdout, new RegExp(`^codposd \\d+\\.\\d+\\.\\d+, pid ${daemon.pid}, up since `, 'm'));
  for (const service of ['storage', 'spool', 'devices', 'host', 'payments', 'api']) t.match(human.stdout, new RegExp(`^  ${service}\\s+up$`, 'm'), `${service} up`);
  const json = runCodpos(['status', '--json'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.equal(json.status, 0);
  const body = JSON.parse(json.stdout) as { daemon: { pid: number }; services: Record<string, { state: string }> };
  t.equal(body.daemon.pid, daemon.pid);
  t.same(Object.keys(body.services), ['storage', 'spool', 'devices', 'host', 'payments', 'api'], 'in start order');
  const exit = once(daemon, 'exit');
  daemon.kill('SIGTERM');
  t.same(await exit, [0, null]);
  t.equal(runCodpos(['status'], { env: { CODPOS_DATA__DIR: dataDir } }).status, 7, 'gone with the daemon');
});
