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
  for (const service of [
    'storage',
    'spool',
    'events',
    'params',
    'devices',
    'host',
    'uplink',
    'payments',
    'qr',
    'workflow',
    'api',
  ])
    t.match(human.stdout, new RegExp(`^  ${service}\\s+up$`, 'm'), `${service} up`);
  const json = runCodpos(['status', '--json'], { env: { CODPOS_DATA__DIR: dataDir } });
  t.equal(json.status, 0);
  const body = JSON.parse(json.stdout) as { daemon: { pid: number }; services: Record<string, { state: string }> };
  t.equal(body.daemon.pid, daemon.pid);
  t.same(
    Object.keys(body.services),
    ['storage', 'spool', 'events', 'params', 'devices', 'host', 'uplink', 'payments', 'qr', 'workflow', 'api'],
    'in start order',
  );
  const exit = once(daemon, 'exit');
  daemon.kill('SIGTERM');
  t.same(await exit, [0, null]);
  t.equal(runCodpos(['status'], { env: { CODPOS_DATA__DIR: dataDir } }).status, 7, 'gone with the daemon');
});

t.test(
  'codpos pay and codpos settle through a running codposd --sim: the card presented through the daemon, the batch settled',
  async (t) => {
    const { request } = await import('node:http');
    const { spawn } = await import('node:child_process');
    const { codposBin } = await import('../helpers/cli.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'codpos-pay-'));
    const env = { ...process.env, CODPOS_DATA__DIR: dataDir };
    const daemon = startCodposd(['--sim'], { env: { CODPOS_DATA__DIR: dataDir } });
    t.teardown(() => daemon.kill('SIGKILL'));
    await waitForLogLine(daemon, 'ready');
    const socketPath = join(dataDir, 'codposd.sock');
    const post = (path: string, body: unknown) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ socketPath, path, method: 'POST' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    t.equal(await post('/v1/sim/pinpad', { pin: '1234' }), 200);
    t.equal(await post('/v1/sim/card', { action: 'insert', card: 'mc-cda' }), 200);
    // Spawned (not spawnSync): the test's own event loop keeps serving nothing, the daemon does the work.
    const pay = spawn(process.execPath, [codposBin, 'pay', '--amount', '4200', '--waybill', 'RR123456785CH'], { env });
    let out = '';
    pay.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = await once(pay, 'exit');
    t.equal(code, 0);
    t.match(out, /^APPROVED: /m);
    t.match(out, /card \*\*\*\* 0434  entry chip  response 00/);
    t.match(out, /receipt printed/);
    t.notMatch(out, '5413330089010434');
    const journalId = /journal (\S+)/.exec(out)![1]!;
    const unknownVoid = runCodpos(['void', 'no-such-payment'], { env: { CODPOS_DATA__DIR: dataDir } });
    t.equal(unknownVoid.status, 2, 'a payment that is not there: a usage error');
    t.match(unknownVoid.stderr, /no payment no-such-payment/);
    t.ok(journalId.length > 10);
    const settle = runCodpos(['settle'], { env: { CODPOS_DATA__DIR: dataDir } });
    t.equal(settle.status, 0, settle.stderr);
    t.match(settle.stdout, /^batch 1 settled: 1 payments; batch 2 is open$/m);
    t.match(settle.stdout, 'debits 1 / 4200');
    const report = runCodpos(['report', 'day'], { env: { CODPOS_DATA__DIR: dataDir } });
    t.equal(report.status, 0, report.stderr);
    t.match(report.stdout, /^day \d{4}-\d{2}-\d{2}: 0 pickups, 0 deliveries$/m);
    t.match(
      report.stdout,
      /does not reconcile \(1\):\n  card payment \S+ \(4200, waybill RR123456785CH\): no delivery collected with it/,
    );
    const bad = runCodpos(['pay', '--amount', '12.50'], { env: { CODPOS_DATA__DIR: dataDir } });
    t.equal(bad.status, 2);
    t.match(bad.stderr, /--amount 12\.50/);
  },
);
