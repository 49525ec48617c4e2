/**
 * Parameter packages over a real mosquitto (through the fleet link only; the local API's side is params-apply.test.ts): one
 * daemon as codposd --sim builds it, with a fleet section, and a back-end client that publishes
 * packages on {prefix}/t/T/params or {prefix}/g/G/params and reads the reports on
 * {prefix}/t/T/params/report and the running version on the retained health topic. What each
 * card payment used is read back from its TVR.
 */
import t from 'tap';
import { call, follow } from '../daemon-fixtures.js';
import { startDaemonIn, tempDataDir } from '../payment/payment-fixtures.js';
import {
  VISA,
  exceedsFloorLimit,
  odaFailed,
  parameterSet,
  pay,
  refusedPackages,
  signed,
} from '../params/params-fixtures.js';
import { daemonFleetSection, fleetBroker, fleetMessage, mqttClient, until, GROUP, PREFIX } from './fixtures.js';
import type { ParamsEnvelope } from '../../../runtime/params/types.js';

const TERMINAL = 'TERM0001';
const T = `${PREFIX}/t/${TERMINAL}`;
const G = `${PREFIX}/g/${GROUP}`;

t.test('parameter packages through the broker: refused, pending then applied, revocations, repeats', async (t) => {
  const broker = await fleetBroker(t);
  const dir = tempDataDir();
  const backend = await mqttClient(t, broker, { subscribe: [`${T}/params/report`, `${T}/health`, `${T}/state`] });
  const { socketPath } = await startDaemonIn(t, dir, {
    terminal: { id: TERMINAL },
    params: { trustLabKey: true },
    fleet: daemonFleetSection(broker, dir, TERMINAL),
  });
  await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  await until(() => backend.on(`${T}/state`).some((s) => s.online === true), 'the terminal online at the broker');

  const reports = () => backend.on(`${T}/params/report`).map((m) => m.data as Record<string, unknown>);
  /** The reports that have arrived, once there are `count` of them (none lost, none extra so far). */
  const reportsUntil = async (count: number, what: string) => {
    await until(() => reports().length >= count, what);
    return reports();
  };
  const healthParams = () => backend.on(`${T}/health`).map((h) => (h.versions as { params: number | null }).params);
  let sequence = 0;
  const publish = async (topic: string, envelope: ParamsEnvelope, id = `p-${++sequence}`) => {
    await backend.client.publishAsync(topic, fleetMessage(id, 'params.package', { ...envelope }), { qos: 1 });
    return id;
  };

  // Version 2 (the configured floor limit 0) runs, from the terminal's own topic.
  await publish(`${T}/params`, signed(parameterSet(2)));
  t.match(await reportsUntil(1, 'the report of version 2'), [
    { outcome: 'applied', version: 2, runningVersion: 2, source: 'fleet' },
  ]);
  await until(() => healthParams().at(-1) === 2, 'version 2 in the health');

  await t.test('a bad signature, an older version and a malformed CA key are refused and reported', async (t) => {
    const refusals = refusedPackages(2);
    for (const [envelope] of refusals) await publish(`${T}/params`, envelope);
    const refused = (await reportsUntil(4, 'three refusals')).slice(1);
    t.match(
      refused,
      refusals.map(([, code, version]) => ({ outcome: 'refused', code, version, runningVersion: 2, source: 'fleet' })),
    );
    t.match((await call(socketPath, 'GET', '/v1/params')).json, {
      version: 2,
      pendingVersion: null,
      applications: [{ aid: VISA, floorLimit: 0 }, {}],
    });
    t.equal(healthParams().at(-1), 2, 'the health still shows version 2');
    const tvr = await pay(socketPath, 'visa-dda');
    t.ok(exceedsFloorLimit(tvr), 'the next payment still runs under floor limit 0 (TVR byte 4 bit 8)');
    t.equal(odaFailed(tvr), 0, 'and its ODA passes');
  });

  await t.test('a package on the group topic during a payment is pending until that payment ends', async (t) => {
    const events = follow(socketPath);
    t.teardown(() => events.close());
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    await publish(`${G}/params`, signed(parameterSet(3, { visaFloorLimit: 10_000 })));
    t.match((await reportsUntil(5, 'the pending report')).slice(4), [
      { outcome: 'pending', version: 3, runningVersion: 2, source: 'fleet' },
    ]);
    t.match((await call(socketPath, 'GET', '/v1/params')).json, { version: 2, pendingVersion: 3 });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await paying;
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
    const tvrDuring = Buffer.from((paid.json.receipt as { tvr: string }).tvr, 'hex');
    t.ok(exceedsFloorLimit(tvrDuring), 'the payment in progress ran under the old floor limit 0');
    t.match((await reportsUntil(6, 'the applied report')).slice(5), [
      { outcome: 'applied', version: 3, runningVersion: 3, source: 'fleet' },
    ]);
    await until(() => healthParams().at(-1) === 3, 'version 3 in the health');
    t.match((await call(socketPath, 'GET', '/v1/params')).json, {
      version: 3,
      pendingVersion: null,
      applications: [{ aid: VISA, floorLimit: 10_000 }, {}],
    });
    t.notOk(exceedsFloorLimit(await pay(socketPath, 'visa-dda')), 'the next payment: 2500 is under the floor limit');
  });

  await t.test(
    "a revoked issuer certificate makes ODA fail for that card; another scheme's card is unaffected",
    async (t) => {
      t.equal(odaFailed(await pay(socketPath, 'mc-cda')), 0, 'before: the Mastercard card passes ODA');
      // The contact virtual cards' issuer certificates: CA index C1, serial C0D901 (emv/card/make-profiles.ts).
      const revoking = parameterSet(4, { revocations: [{ rid: 'A000000003', index: 'C1', serial: 'C0D901' }] });
      await publish(`${T}/params`, signed(revoking));
      t.match((await reportsUntil(7, 'the revocation list applied')).slice(6), [{ outcome: 'applied', version: 4 }]);
      t.equal(odaFailed(await pay(socketPath, 'visa-dda')), 0x08, 'TVR byte 1 bit 4: DDA failed');
      t.equal(odaFailed(await pay(socketPath, 'mc-cda')), 0, 'the Mastercard card (RID A000000004) is not revoked');
    },
  );

  await t.test('the same package message delivered twice is acted on once', async (t) => {
    const id = await publish(`${T}/params`, signed(parameterSet(5)));
    await publish(`${T}/params`, signed(parameterSet(5)), id);
    // A different message after both: its report is the signal the repeat was handled (ignored).
    await publish(`${T}/params`, signed(parameterSet(6)));
    const after = (await reportsUntil(9, 'the reports of versions 5 and 6')).slice(7);
    t.match(after, [
      { outcome: 'applied', version: 5 },
      { outcome: 'applied', version: 6 },
    ]);
    t.equal(reports().length, 9, 'one report for the repeated message');
    t.equal(reports().filter((r) => r.version === 5).length, 1);
  });

  await t.test('the params-rollback command brings the previous version back, without a visit', async (t) => {
    await backend.client.publishAsync(`${T}/cmd`, fleetMessage('rb-1', 'cmd.params-rollback', {}), { qos: 1 });
    t.match((await reportsUntil(10, 'the rollback report')).slice(9), [
      { outcome: 'rolled-back', version: 5, runningVersion: 5, source: 'fleet' },
    ]);
    t.match((await call(socketPath, 'GET', '/v1/params')).json, { version: 5, previousVersion: 6 });
  });
});
