/**
 * A QR payment holds a parameter package back (runtime/params/service.ts, the safe moment) from
 * its start until it ends: its answer when it has its outcome at once, else the end of its wait
 * for the wallet.
 */
import t from 'tap';
import { qrHarness, WAYBILLS } from './qr-fixtures.js';
import { until } from '../host/fixtures.js';

function hook() {
  const counts = { started: 0, ended: 0 };
  return {
    counts,
    paymentStarted: () => {
      counts.started++;
      return () => void counts.ended++;
    },
  };
}

t.test(
  'a code shown: in progress until the wallet paid and the wait ended, not when the code was answered',
  async (t) => {
    const { counts, paymentStarted } = hook();
    const h = await qrHarness(t, { paymentStarted });
    const answer = await h.service.pay({ mode: 'merchant', amount: 2350, waybill: WAYBILLS[0] });
    t.equal(answer.state, 'pending');
    t.same(counts, { started: 1, ended: 0 }, 'answered pending: still in progress');
    t.equal(h.sim.wallet.scan(answer.payload!, { outcome: 'pay' }).outcome, 'paid');
    await h.reaches(answer.id, 'paid');
    await until(() => counts.ended === 1, 'the payment to end');
    t.same(counts, { started: 1, ended: 1 });
  },
);

t.test('a consumer code declined at once ends with its answer; a refused request ends too', async (t) => {
  const { counts, paymentStarted } = hook();
  const h = await qrHarness(t, { paymentStarted });
  const code = h.sim.wallet.consumerCode({ kind: 'token', outcome: 'decline' });
  const answer = await h.service.pay({ mode: 'consumer', amount: 900, waybill: WAYBILLS[1], consumerCode: code });
  t.equal(answer.state, 'declined');
  t.same(counts, { started: 1, ended: 1 });
  const paid = await h.service.pay({ mode: 'merchant', amount: 500, waybill: WAYBILLS[2] });
  h.sim.wallet.scan(paid.payload!, { outcome: 'pay' });
  await h.reaches(paid.id, 'paid');
  await until(() => counts.ended === 2, 'the second payment to end');
  await t.rejects(h.service.pay({ mode: 'merchant', amount: 500, waybill: WAYBILLS[2] }), {
    code: 'CODPOS_USAGE_QR_ALREADY_PAID',
  });
  t.same(counts, { started: 3, ended: 3 }, 'a payment refused before its row was written ends at once');
});
