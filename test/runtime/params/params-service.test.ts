/**
 * The params service on its own (runtime/params/service.ts), on a test spool: what it does at
 * start with a stored package, the safe moment with two payments in progress, the package's
 * tariff, receipt header and contactless combinations, a refused package's report record, and
 * a package that comes with the uplink's task list.
 */
import t, { type Test } from 'tap';
import { validateConfig } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { EventBus } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { ParamsService } from '../../../runtime/params/service.js';
import { labOperatorKey } from '../../../runtime/params/lab-operator-key.js';
import { caKeyChecksum } from '../../../runtime/params/ca-key.js';
import type { OperatorKey, ParameterSet } from '../../../runtime/params/types.js';
import { testCaPublicKeys } from '../../../emv/card/test-ca.js';
import { UplinkService } from '../../../runtime/uplink/service.js';
import { BackendSimulator, defaultSimTariff } from '../../../runtime/uplink/simulator.js';
import { buildPaymentReceipt } from '../../../runtime/payment/receipt.js';
import { STREAMS } from '../../../spool/index.js';
import { Spool } from '../../../spool/spool.js';
import { openTestSpool } from '../../spool/helpers.js';
import { parameterSet, signed } from './params-fixtures.js';

const silent = createLogger({ level: 'silent' });

/** The fixture's set with the Visa AID's floor limit 1000 x the version, so each version shows in the terminal. */
const setOf = (version: number, extra: Partial<ParameterSet> = {}): ParameterSet =>
  parameterSet(version, { visaFloorLimit: 1000 * version, ...extra });

function service(t: Test, spool: Spool, options: { keys?: OperatorKey[]; config?: Config; now?: Date } = {}) {
  const events = new EventBus();
  const params = new ParamsService(options.config ?? validateConfig({}), silent, {
    spool: () => spool,
    events,
    operatorKeys: () => options.keys ?? [labOperatorKey()],
    ...(options.now ? { now: () => options.now! } : {}),
  });
  t.teardown(() => params.stop());
  return { params, events };
}

t.test(
  'a stored package is verified again at start; one whose key was removed is logged and the configured parameters run',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const first = service(t, spool);
    await first.params.start();
    t.match(await first.params.offer(signed(setOf(4)), 'api'), { outcome: 'applied', version: 4 });

    const trusted = service(t, spool);
    await trusted.params.start();
    t.equal(trusted.params.running().version, 4, 'the same keys: version 4 runs after a restart');
    t.equal(trusted.params.terminal().applications[0]!.floorLimit, 4000);
    t.equal(trusted.params.health().state, 'up');

    const keyRemoved = service(t, spool, { keys: [] });
    await keyRemoved.params.start();
    t.equal(keyRemoved.params.running().version, null);
    t.equal(keyRemoved.params.terminal().applications[0]!.floorLimit, 0, 'the configured floor limit');
    t.match(keyRemoved.params.health(), { state: 'degraded', reason: /version 4 no longer verifies/ });
    t.equal(spool.params.running()?.version, 4, 'the stored package is kept (a key put back makes it run again)');
  },
);

t.test(
  'a CA key that expires after its package was applied does not drop the package at the next start; a new offer with it is refused',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const endingThisYear = testCaPublicKeys().map((key) => ({
      ...key,
      expiry: '261231',
      checksum: caKeyChecksum(key),
    }));
    const set = (version: number) => setOf(version, { caKeys: endingThisYear });
    const before = service(t, spool, { now: new Date('2026-06-01T00:00:00Z') });
    await before.params.start();
    t.match(await before.params.offer(signed(set(5)), 'api'), { outcome: 'applied', version: 5 });

    const after = service(t, spool, { now: new Date('2027-03-01T00:00:00Z') });
    await after.params.start();
    t.equal(after.params.running().version, 5, 'checked as of when it was applied: version 5 still runs');
    t.equal(after.params.health().state, 'up');
    t.match(
      await after.params.offer(signed(set(6)), 'api'),
      { outcome: 'refused', code: 'CODPOS_PARAMS_CA_KEY' },
      'a package offered now with a key already expired is refused',
    );
  },
);

t.test('pending while any of two payments runs; applied when the last one ends, once', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const { params, events } = service(t, spool);
  await params.start();
  const endCard = params.paymentStarted();
  const endQr = params.paymentStarted();
  t.match(await params.offer(signed(setOf(2)), 'fleet'), {
    outcome: 'pending',
    version: 2,
    runningVersion: null,
  });
  t.match(
    await params.offer(signed(setOf(2)), 'fleet'),
    { outcome: 'refused', code: 'CODPOS_PARAMS_VERSION' },
    'the pending version counts as the newest',
  );
  t.match(
    await params.offer(signed(setOf(3)), 'fleet'),
    { outcome: 'pending', version: 3 },
    'a newer one replaces the pending one',
  );
  t.match(params.running(), { version: null, pendingVersion: 3 });
  endCard();
  endCard();
  t.equal(params.running().version, null, 'the QR payment still runs (ending the card payment twice counts once)');
  t.equal(spool.params.running(), undefined);
  endQr();
  t.match(params.running(), { version: 3, pendingVersion: null, source: 'fleet' });
  t.equal(spool.params.running()?.version, 3, 'stored at once, with no await');
  t.equal(params.terminal().applications[0]!.floorLimit, 3000);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(
    events.since(0).map((e) => [e.type, e.data.version]),
    [
      ['params.pending', 2],
      ['params.refused', 2],
      ['params.pending', 3],
      ['params.applied', 3],
    ],
  );
});

t.test(
  'the tariff goes to the task cache, the receipt header to receipts, the contactless combinations to Entry Point',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const { params } = service(t, spool);
    await params.start();
    const configured = params.contactless();
    t.equal(params.receiptHeader(), undefined);
    const tariff = { ...defaultSimTariff(), version: 'T-PARAMS-2' };
    const set = setOf(2, {
      tariff,
      receiptHeader: ['CODPOS COURIER', '12 HARBOUR ROAD'],
      contactless: {
        combinations: [{ aid: 'A0000000031010', kernelId: 3, transactionLimit: 20000, floorLimit: 0, ttq: '36004000' }],
      },
    });
    t.match(await params.offer(signed(set), 'api'), { outcome: 'applied' });
    t.match(spool.tasks.tariff(), { version: 'T-PARAMS-2', body: tariff });
    t.match(params.running(), { tariffVersion: 'T-PARAMS-2', receiptHeader: ['CODPOS COURIER', '12 HARBOUR ROAD'] });
    const combinations = params.contactless();
    t.not(combinations, configured, 'a new array: the payment service rebuilds Entry Point');
    t.match(combinations, [
      { aid: 'A0000000031010', kernelId: 3, transactionLimit: 20000, statusCheckSupported: false, ttq: '36004000' },
    ]);
    t.equal(combinations.length, 1);
    t.equal(params.contactless(), combinations, 'the same array until the next package');
    const receipt = buildPaymentReceipt({
      profile: { columns: 32 } as never,
      merchant: { name: 'CONFIGURED NAME', terminalId: 'T1', merchantId: 'M1', header: params.receiptHeader()! },
      at: new Date('2026-06-01T08:00:00Z'),
      amount: 2500,
      currency: '840',
      payment: { outcome: 'approved', approvedOffline: false, signatureRequired: false } as never,
      copy: 'customer',
      reprint: false,
    }).toString('latin1');
    t.match(receipt, 'CODPOS COURIER');
    t.match(receipt, '12 HARBOUR ROAD');
    t.notMatch(receipt, 'CONFIGURED NAME');

    const broken = setOf(3, { tariff: { version: 'BROKEN' } });
    t.match(await params.offer(signed(broken), 'api'), {
      outcome: 'refused',
      code: 'CODPOS_PARAMS_CONTENT',
      reason: /tariff/,
    });
    t.match(spool.tasks.tariff(), { version: 'T-PARAMS-2' }, 'a refused package leaves the tariff');
  },
);

t.test('every report is queued in params-report with its id; rollback needs a previous version', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const { params } = service(t, spool);
  await params.start();
  const refused = await params.offer('not json', 'uplink');
  t.match(refused, { outcome: 'refused', code: 'CODPOS_PARAMS_FORMAT', version: null, source: 'uplink' });
  await t.rejects(params.rollback('api'), { code: 'CODPOS_PARAMS_NO_PREVIOUS' });
  const applied = await params.offer(signed(setOf(2)), 'api');
  await params.offer(signed(setOf(5)), 'api');
  const back = await params.rollback('fleet');
  t.match(back, { outcome: 'rolled-back', version: 2, runningVersion: 2, source: 'fleet' });
  t.equal(params.terminal().applications[0]!.floorLimit, 2000);
  const queued = spool.outbox.list({ stream: STREAMS.paramsReport, limit: 10 });
  t.same(
    queued.map((r) => [r.id, (r.payload as { outcome: string }).outcome]),
    [
      [refused.id, 'refused'],
      [applied.id, 'applied'],
      [queued[2]!.id, 'applied'],
      [back.id, 'rolled-back'],
    ],
  );
  const during = params.paymentStarted();
  await t.rejects(params.rollback('api'), { code: 'CODPOS_USAGE_BUSY' });
  during();
});

t.test(
  'a package that comes with the task list is offered (source uplink) and its outcome is in the download answer',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const backend = new BackendSimulator({ basePath: '/api/v1' });
    const { url } = await backend.start();
    t.teardown(() => backend.stop());
    const config = validateConfig({
      uplink: { mode: 'http', url, intervalMs: 3_600_000, probeIntervalMs: 3_600_000, networkWatchMs: 0 },
    });
    const { params } = service(t, spool, { config });
    await params.start();
    const uplink = new UplinkService(config, silent, {
      spool: () => spool,
      requestTimeoutMs: 5000,
      offerParams: (envelope) => params.offer(envelope, 'uplink'),
    });
    await uplink.start();
    t.teardown(() => uplink.stop());
    await uplink.tasksReady();
    t.equal(params.running().version, null, 'no package served: none applied');
    backend.serveParams(signed(setOf(6)));
    t.match(await uplink.downloadTasks(), { tasks: 4, params: { outcome: 'applied', version: 6 } });
    t.match(params.running(), { version: 6, source: 'uplink' });
    t.match(await uplink.downloadTasks(), {
      params: { outcome: 'refused', version: 6, code: 'CODPOS_PARAMS_VERSION' },
    });
    await uplink.sendNow();
    const reports = [...backend.records.values()].filter((r) => r.stream === STREAMS.paramsReport);
    t.same(
      reports.map((r) => (r.payload as { outcome: string }).outcome),
      ['applied', 'refused'],
      'no fleet link: the uplink sends the reports',
    );
  },
);

t.test(
  'a pending package the spool refuses to store is logged at the payment end, never thrown into it; nothing changes',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const { params } = service(t, spool);
    await params.start();
    const end = params.paymentStarted();
    t.match(await params.offer(signed(setOf(2)), 'api'), { outcome: 'pending' });
    spool.params.apply = () => {
      throw new Error('disk I/O error');
    };
    t.doesNotThrow(() => end());
    t.match(params.running(), { version: null, pendingVersion: null });
    t.equal(params.terminal().applications[0]!.floorLimit, 0);
  },
);
