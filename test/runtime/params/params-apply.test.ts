/**
 * Applying a parameter package in the daemon (through the local API; the fleet link's side is daemon-params.test.ts): the daemon
 * as codposd --sim builds it, packages signed with the lab operator key, card payments on the
 * simulated reader and acquirer, and what each payment used read back from its TVR.
 */
import t, { type Test } from 'tap';
import { call, follow } from '../daemon-fixtures.js';
import { eventually, startDaemonIn, tempDataDir } from '../payment/payment-fixtures.js';
import { VISA, exceedsFloorLimit, odaFailed, parameterSet, pay, refusedPackages, signed } from './params-fixtures.js';

async function start(t: Test, dir = tempDataDir()) {
  const daemon = await startDaemonIn(t, dir, { params: { trustLabKey: true } });
  await call(daemon.socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  return { ...daemon, dir };
}

async function backendReports(socketPath: string): Promise<Array<Record<string, unknown>>> {
  const records = (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as Array<{
    stream: string;
    payload: Record<string, unknown>;
  }>;
  return records.filter((r) => r.stream === 'params-report').map((r) => r.payload);
}

t.test(
  'a bad signature, an older version and a CA key with a bad checksum are refused and reported; nothing running changes',
  async (t) => {
    const { socketPath } = await start(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    t.match(await call(socketPath, 'POST', '/v1/params', signed(parameterSet(2))), {
      status: 200,
      json: { outcome: 'applied', version: 2, runningVersion: 2, source: 'api' },
    });
    t.ok(exceedsFloorLimit(await pay(socketPath, 'visa-dda')), 'floor limit 0: 2500 exceeds it');

    const refusals = refusedPackages(2);
    for (const [envelope, code, version] of refusals) {
      const answer = await call(socketPath, 'POST', '/v1/params', envelope);
      t.equal(answer.status, 422, code);
      t.match(answer.json, {
        error: { code, message: /./ },
        report: { outcome: 'refused', code, version, runningVersion: 2, source: 'api' },
      });
    }
    t.match((await call(socketPath, 'GET', '/v1/params')).json, {
      version: 2,
      pendingVersion: null,
      applications: [{ aid: VISA, floorLimit: 0 }, {}],
    });
    t.ok(exceedsFloorLimit(await pay(socketPath, 'visa-dda')), 'the next payment still runs under version 2');
    await events.until('params.refused');
    await eventually(
      () => events.types().filter((type) => type === 'params.refused').length === 3,
      'three params.refused events',
    );
    let reports: Array<Record<string, unknown>> = [];
    await eventually(
      async () => (reports = await backendReports(socketPath)).length === 4,
      'four reports at the back-end',
    );
    t.same(
      reports.map((r) => [r.outcome, r.code ?? null]),
      [
        ['applied', null],
        ['refused', 'CODPOS_PARAMS_SIGNATURE'],
        ['refused', 'CODPOS_PARAMS_VERSION'],
        ['refused', 'CODPOS_PARAMS_CA_KEY'],
      ],
    );
  },
);

t.test(
  'a package offered during a payment is pending until it ends (that payment keeps the old floor limit); the next payment uses it; rollback and a restart',
  async (t) => {
    const { socketPath, stop, dir } = await start(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    t.match(await call(socketPath, 'POST', '/v1/params', signed(parameterSet(2, { visaFloorLimit: 10_000 }))), {
      status: 200,
      json: { outcome: 'pending', version: 2, runningVersion: null },
    });
    t.match((await call(socketPath, 'GET', '/v1/params')).json, { version: null, pendingVersion: 2 });
    t.notOk(events.types().includes('params.applied'), 'not applied while the payment waits for its card');
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await paying;
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
    const tvrDuring = Buffer.from((paid.json.receipt as { tvr: string }).tvr, 'hex');
    t.ok(exceedsFloorLimit(tvrDuring), 'the payment in progress ran under the configured floor limit 0');
    await events.until('params.applied');
    t.match((await call(socketPath, 'GET', '/v1/params')).json, {
      version: 2,
      pendingVersion: null,
      applications: [{ aid: VISA, floorLimit: 10_000 }, {}],
    });
    t.notOk(
      exceedsFloorLimit(await pay(socketPath, 'visa-dda')),
      'the next payment: 2500 is under the floor limit 10000',
    );

    t.match(await call(socketPath, 'POST', '/v1/params', signed(parameterSet(3))), {
      status: 200,
      json: { outcome: 'applied', version: 3 },
    });
    t.ok(exceedsFloorLimit(await pay(socketPath, 'visa-dda')), 'version 3: floor limit 0 again');
    t.match(await call(socketPath, 'POST', '/v1/params/rollback'), {
      status: 200,
      json: { outcome: 'rolled-back', version: 2, runningVersion: 2 },
    });
    t.match((await call(socketPath, 'GET', '/v1/params')).json, { version: 2, previousVersion: 3 });
    t.notOk(exceedsFloorLimit(await pay(socketPath, 'visa-dda')), 'rolled back to version 2');

    await stop();
    const again = await start(t, dir);
    t.match((await call(again.socketPath, 'GET', '/v1/params')).json, { version: 2, previousVersion: 3 });
    t.notOk(exceedsFloorLimit(await pay(again.socketPath, 'visa-dda')), 'after a restart: still version 2');
  },
);

t.test(
  "a revoked issuer certificate makes ODA fail for the card under it; another scheme's card is unaffected",
  async (t) => {
    const { socketPath } = await start(t);
    t.equal(odaFailed(await pay(socketPath, 'visa-dda')), 0, 'before: ODA passes');
    t.equal(odaFailed(await pay(socketPath, 'mc-cda')), 0);
    // The contact virtual cards' issuer certificates: CA index C1, serial C0D901 (emv/card/make-profiles.ts).
    const revoking = parameterSet(2, { revocations: [{ rid: 'A000000003', index: 'C1', serial: 'C0D901' }] });
    t.match(await call(socketPath, 'POST', '/v1/params', signed(revoking)), { json: { outcome: 'applied' } });
    t.match((await call(socketPath, 'GET', '/v1/params')).json, { revocations: 1 });
    t.equal(odaFailed(await pay(socketPath, 'visa-dda')), 0x08, 'TVR byte 1 bit 4: DDA failed');
    t.equal(odaFailed(await pay(socketPath, 'mc-cda')), 0, 'the Mastercard card (RID A000000004) is not revoked');
  },
);

t.test(
  'a package with a lower contactless transaction limit: the next tap over it is asked for the chip',
  async (t) => {
    const { socketPath } = await start(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    const lowLimit = parameterSet(2, {
      contactless: {
        combinations: [
          { aid: VISA, kernelId: 3, transactionLimit: 2000, floorLimit: 0, cvmRequiredLimit: 1000, ttq: '36004000' },
        ],
      },
    });
    t.match(await call(socketPath, 'POST', '/v1/params', signed(lowLimit)), { json: { outcome: 'applied' } });
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'tap', card: 'cl-visa-fdda' });
    await events.until('payment.use-chip');
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    t.match((await paying).json, { outcome: 'approved', entry: 'chip' }, 'over the package limit 2000: paid by chip');
  },
);
