/**
 * `codpos handover` and `codpos handover show` as processes (the built CLI) against the daemon
 * codposd --sim builds, running in the test's process on a temporary data directory.
 */
import t from 'tap';
import { codposAgainst } from '../helpers/cli.js';
import { call } from '../runtime/daemon-fixtures.js';
import { startDaemonIn, tempDataDir } from '../runtime/payment/payment-fixtures.js';

t.test(
  'codpos handover: a difference without a reason exits 2 naming it; with one it hands over and closes the day; a second exits 2; show lists it',
  async (t) => {
    const dir = tempDataDir();
    const { socketPath } = await startDaemonIn(t, dir);
    await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' });
    t.equal(
      (
        await call(socketPath, 'POST', '/v1/waybills/events', {
          kind: 'delivery',
          waybill: 'RR123456785CH',
          cod: { method: 'cash', amount: 2350, tendered: 2500 },
        })
      ).status,
      200,
    );

    const noReason = await codposAgainst(['handover', '--counted', '2300', '--clerk', 'D-17'], dir);
    t.equal(noReason.status, 2);
    t.match(
      noReason.stderr,
      /differs from the cash expected \(2350\) by -50; a handover with a difference needs the reason/,
    );

    const handed = await codposAgainst(
      ['handover', '--counted', '2300', '--clerk', 'D-17', '--reason', 'coins short'],
      dir,
    );
    t.equal(handed.status, 0, handed.stderr);
    t.match(handed.stdout, /^HANDED OVER: day \d{4}-\d{2}-\d{2} closed, courier C001 checked out$/m);
    t.match(handed.stdout, /expected +2350\n +counted +2300\n +difference +-50 \(coins short\)/);
    t.match(handed.stdout, /slip printed/);

    const again = await codposAgainst(['handover', '--counted', '0', '--clerk', 'D-17', '--json'], dir);
    t.equal(again.status, 2);
    t.match(again.stderr, /CODPOS_USAGE_HANDOVER_DONE|already handed over/);

    const shown = await codposAgainst(['handover', 'show', '--json'], dir);
    t.equal(shown.status, 0, shown.stderr);
    t.match(JSON.parse(shown.stdout), {
      closed: true,
      handovers: [{ clerkId: 'D-17', expected: 2350, counted: 2300, difference: -50, reason: 'coins short' }],
    });
    const text = await codposAgainst(['handover', 'show'], dir);
    t.match(text.stdout, /closed by its cash handover/);
  },
);
