/**
 * `codpos waybill show`, `codpos payments list` with filters and `codpos tasks` as processes
 * (the built CLI) against the daemon codposd --sim builds, running in the test's process.
 */
import t from 'tap';
import { codposAgainst } from '../helpers/cli.js';
import { call } from '../runtime/daemon-fixtures.js';
import { startDaemonIn, tempDataDir } from '../runtime/payment/payment-fixtures.js';

const PAN = '4761739001010119';

t.test(
  'codpos waybill show, codpos payments list with filters, codpos tasks: what the day recorded, the card masked',
  async (t) => {
    const dir = tempDataDir();
    const { socketPath } = await startDaemonIn(t, dir);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR003000000CH' });
    const journalId = paid.json.journalId as string;
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'exception',
      waybill: 'RR003000000CH',
      reason: 'not-home',
    });
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR003000000CH',
      cod: { method: 'card', amount: 2500, journalId },
    });

    const shown = await codposAgainst(['waybill', 'show', 'RR003000000CH'], dir);
    t.equal(shown.status, 0, shown.stderr);
    t.match(shown.stdout, /^RR003000000CH: delivered$/m);
    t.match(shown.stdout, /^  task T2  delivery  COD 2500  .*  done$/m);
    t.match(shown.stdout, /^  events \(2\):\n    \S+  exception not-home  .*\n    \S+  delivery  COD 2500/m);
    t.match(shown.stdout, new RegExp(`^    ${journalId}  approved  2500  476173\\*{6}0119$`, 'm'));
    const shownJson = await codposAgainst(['waybill', 'show', 'RR003000000CH', '--json'], dir);
    t.match(JSON.parse(shownJson.stdout), { waybill: 'RR003000000CH', status: 'delivered', payments: [{ journalId }] });
    const unknown = await codposAgainst(['waybill', 'show', 'RR333333335CH'], dir);
    t.equal(unknown.status, 2);
    t.match(unknown.stderr, /RR333333335CH: no task, no recorded event and no card payment/);

    const listed = await codposAgainst(['payments', 'list', '--state', 'approved', '--waybill', 'RR003000000CH'], dir);
    t.equal(listed.status, 0, listed.stderr);
    t.match(listed.stdout, /^every kept day, approved, waybill RR003000000CH: 1 card payment\(s\)$/m);
    t.match(listed.stdout, journalId);
    t.match(
      (await codposAgainst(['payments', 'list', '--state', 'voided'], dir)).stdout,
      /^\d{4}-\d{2}-\d{2}, voided: 0 card payment\(s\)$/m,
    );
    t.match(
      (await codposAgainst(['payments', 'list', '--from', '2000-01-01', '--to', '2000-01-31'], dir)).stdout,
      /^2000-01-01 to 2000-01-31: 0 card payment\(s\)$/m,
    );
    t.match(
      (await codposAgainst(['payments'], dir)).stdout,
      /^\d{4}-\d{2}-\d{2}: 1 card payment\(s\)$/m,
      'codpos payments still lists the day',
    );
    const badState = await codposAgainst(['payments', 'list', '--state', 'paid'], dir);
    t.equal(badState.status, 2);
    t.match(badState.stderr, /state: expected one of pending, approved/);
    const badVerb = await codposAgainst(['payments', 'show'], dir);
    t.equal(badVerb.status, 2);
    t.match(badVerb.stderr, /expected "list" or nothing/);

    const tasks = await codposAgainst(['tasks'], dir);
    t.equal(tasks.status, 0, tasks.stderr);
    t.match(tasks.stdout, /^4 task\(s\): 3 open, 1 done, 0 exception\(s\); COD still to collect 2350 /m);
    t.match(tasks.stdout, /^  T2 +delivery +RR003000000CH +2500  done/m);
    t.match(JSON.parse((await codposAgainst(['tasks', '--json'], dir)).stdout), {
      summary: { open: 3, codToCollect: 2350 },
    });
    t.notMatch(shown.stdout + shownJson.stdout + listed.stdout + tasks.stdout, PAN, 'no full PAN');
  },
);
