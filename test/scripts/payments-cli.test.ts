/**
 * `codpos pay` (Ctrl-C cancels the payment; --idempotency-key), `codpos payments`,
 * `codpos payment JOURNAL_ID` and `codpos reprint` as processes (the built CLI) against the
 * daemon codposd --sim builds, running in the test's process on a temporary data directory.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { codposBin } from '../helpers/cli.js';
import { call, follow } from '../runtime/daemon-fixtures.js';
import { startDaemonIn, tempDataDir } from '../runtime/payment/payment-fixtures.js';

const PAN = '4761739001010119';

/** Runs `codpos ARGS` without blocking this process (the daemon answering it lives here). */
function codpos(args: string[], dataDir: string) {
  const child = spawn(process.execPath, [codposBin, ...args], {
    env: { ...withoutCodposVariables(), CODPOS_DATA__DIR: dataDir },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = once(child, 'exit').then(([status]) => ({ status: status as number | null, stdout, stderr }));
  return { child, done };
}

function withoutCodposVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS_')));
}

t.test(
  'Ctrl-C on codpos pay while the card is awaited: the daemon cancels the payment, the CLI says so and exits 130; the card inserted after it is not charged',
  async (t) => {
    const dir = tempDataDir();
    const { socketPath } = await startDaemonIn(t, dir);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    const pay = codpos(['pay', '--amount', '2500'], dir);
    await events.until('payment.waiting-card');
    pay.child.kill('SIGINT');
    const run = await pay.done;
    t.equal(run.status, 130, run.stderr);
    t.match(run.stdout, /^CANCELLED: the payment was cancelled on request/m);
    t.match(run.stderr, /cancelling the payment/);
    await events.until('payment.cancelled');
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    t.match(
      await call(socketPath, 'GET', '/v1/payments'),
      { json: { payments: [] } },
      'nothing journaled, nothing charged',
    );
  },
);

t.test(
  'codpos pay --idempotency-key twice: one payment, the second run prints its answer; codpos payments and codpos payment show it masked',
  async (t) => {
    const dir = tempDataDir();
    const { socketPath } = await startDaemonIn(t, dir);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const first = await codpos(
      ['pay', '--amount', '2500', '--waybill', 'RR123456785CH', '--idempotency-key', 'cli-key-1'],
      dir,
    ).done;
    t.equal(first.status, 0, first.stderr);
    t.match(first.stdout, /^APPROVED: /m);
    const journalId = /journal (\S+)/.exec(first.stdout)![1]!;
    const second = await codpos(
      ['pay', '--amount', '2500', '--waybill', 'RR123456785CH', '--idempotency-key', 'cli-key-1'],
      dir,
    ).done;
    t.equal(second.status, 0, second.stderr);
    t.match(second.stdout, /^APPROVED \(answered before\): /m);
    t.match(second.stdout, `journal ${journalId}`);

    const listed = await codpos(['payments'], dir).done;
    t.equal(listed.status, 0, listed.stderr);
    t.match(listed.stdout, /^\d{4}-\d{2}-\d{2}: 1 card payment\(s\)$/m);
    t.match(
      listed.stdout,
      new RegExp(
        `^  \\d\\d:\\d\\d:\\d\\d  ${journalId}  purchase approved  2500  476173\\*{6}0119  RR123456785CH  receipt printed$`,
        'm',
      ),
    );
    const json = await codpos(['payments', '--json'], dir).done;
    t.match(JSON.parse(json.stdout), { payments: [{ journalId, state: 'approved', approvedAmount: 2500 }] });
    t.match(
      (await codpos(['payments', '--date', '2000-01-01'], dir).done).stdout,
      /^2000-01-01: 0 card payment\(s\)$/m,
    );

    const one = await codpos(['payment', journalId], dir).done;
    t.equal(one.status, 0, one.stderr);
    t.match(one.stdout, `${journalId}: purchase approved (approved)`);
    t.match(one.stdout, /card 476173\*{6}0119  entry chip  response 00/);
    t.match(one.stdout, /waybill RR123456785CH/);
    t.notMatch(listed.stdout + json.stdout + one.stdout, PAN, 'no full PAN');
    const missing = await codpos(['payment', 'no-such-row'], dir).done;
    t.equal(missing.status, 2);
    t.match(missing.stderr, /no payment no-such-row/);
  },
);

t.test(
  'codpos reprint: nothing held; a receipt held while the paper was out does not print until the paper is back (exit 3), then prints',
  async (t) => {
    const dir = tempDataDir();
    const { socketPath } = await startDaemonIn(t, dir);
    t.match((await codpos(['reprint'], dir).done).stdout, /^no receipt is held$/m);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/printer', { paper: 'out' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await codpos(['pay', '--amount', '2500'], dir).done;
    t.equal(paid.status, 0, paid.stderr);
    t.match(paid.stdout, /receipt held \(codpos reprint\)/);
    const journalId = /journal (\S+)/.exec(paid.stdout)![1]!;
    const stillOut = await codpos(['reprint'], dir).done;
    t.equal(stillOut.status, 3);
    t.match(stillOut.stdout, new RegExp(`^NOT PRINTED ${journalId}: the printer cannot print: paper out`, 'm'));
    await call(socketPath, 'POST', '/v1/sim/printer', { paper: 'in' });
    const printed = await codpos(['reprint'], dir).done;
    t.equal(printed.status, 0, printed.stderr);
    t.match(printed.stdout, `printed ${journalId}`);
    t.match(
      (await codpos(['reprint', journalId], dir).done).stdout,
      `printed ${journalId}`,
      "one payment's receipt again",
    );
    t.equal(((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as unknown[]).length, 2);
  },
);
