/**
 * The local API's hands on the simulated acquirer and back-end (runtime/api/sim-control.ts):
 * a rule that makes the acquirer approve part of one amount, and a back-end outage that the
 * uplink rides out with its records in the spool.
 */
import t from 'tap';
import { call, startDaemon } from './daemon-fixtures.js';

t.test(
  'POST /v1/sim/host: the next purchase of that amount is partially approved; a bad rule is a 400 naming it',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    t.match(
      await call(socketPath, 'POST', '/v1/sim/host', {
        rule: { mti: '0200', amount: 4000, action: 'partial', approvedAmount: 2500, times: 1 },
      }),
      { status: 200 },
    );
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 4000 });
    t.match(paid.json, { outcome: 'approved', responseCode: '10', approvedAmount: 2500, remainingDue: 1500 });
    t.match(await call(socketPath, 'POST', '/v1/sim/host', { rule: { action: 'explode' } }), { status: 400 });
    t.match(await call(socketPath, 'POST', '/v1/sim/host', { clear: true }), { status: 200, json: { cleared: true } });
  },
);

t.test(
  'POST /v1/sim/backend { outage }: the back-end answers 503 until the outage ends; the record waits in the spool, then arrives',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const uplink = async () =>
      (
        (await call(socketPath, 'GET', '/v1/status')).json.services as Record<
          string,
          { state: string; reason?: string }
        >
      ).uplink;
    const held = async () =>
      (
        (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as Array<{ payload: { waybill?: string } }>
      ).filter((r) => r.payload.waybill === 'RR111111115CH').length;
    t.match(await call(socketPath, 'POST', '/v1/sim/backend', { outage: true }), {
      status: 200,
      json: { outage: true },
    });
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR111111115CH' });
    await until(async () => /503/.test((await uplink())?.reason ?? ''), 'the uplink to meet the 503');
    t.equal(await held(), 0, 'refused during the outage: it waits in the spool');
    t.match(await call(socketPath, 'POST', '/v1/sim/backend', { outage: false }), {
      status: 200,
      json: { outage: false },
    });
    await until(async () => (await held()) === 1, 'the record to arrive once the back-end is back');
    t.match(await call(socketPath, 'POST', '/v1/sim/backend', { outage: 'yes' }), { status: 400 });
  },
);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never: ${what}`);
}
