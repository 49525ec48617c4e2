/**
 * A pickup priced offline: the tariff comes with the task list from the back-end simulator
 * (over real HTTP), is cached in the spool (across a restart), a tariff that does not read is
 * refused and the cached one stays; a pickup with weight and destination carries its quote (the
 * COD fee from the task's COD amount) in the record for the back-end; GET /v1/quote asks the same.
 */
import t, { type Test } from 'tap';
import { validateConfig } from '../../../config/load.js';
import { createLogger } from '../../../runtime/log.js';
import { EventBus } from '../../../runtime/api/events.js';
import { UplinkService } from '../../../runtime/uplink/service.js';
import {
  BackendSimulator,
  defaultSimTaskList,
  defaultSimTariff,
  type SimTaskList,
} from '../../../runtime/uplink/simulator.js';
import { WorkflowService } from '../../../runtime/workflow/service.js';
import { STREAMS, type Spool } from '../../../spool/index.js';
import { tempSpool } from '../host/fixtures.js';
import { call, startDaemon } from '../daemon-fixtures.js';

const silent = createLogger({ level: 'silent' });
/** A pickup on the list whose shipper wants 200.00 collected at delivery: the COD fee is 1.5 % + 0.50 = 3.50. */
const COD_PICKUP = {
  id: 'T9',
  waybill: 'RR444444445CH',
  kind: 'pickup' as const,
  codAmount: 20_000,
  currency: '840',
  consignee: 'F. Shipper',
  address: '9 Side Street',
};

/** The terminal's side with its own back-end simulator handing out `taskList`; `download()` fetches it. */
async function terminalWith(t: Test, spool: () => Spool, taskList: SimTaskList) {
  const backend = new BackendSimulator({ taskList });
  const { url } = await backend.start();
  t.teardown(() => backend.stop());
  const config = validateConfig({ uplink: { mode: 'http', url } });
  const uplink = new UplinkService(config, silent, { spool, requestTimeoutMs: 5000 });
  await uplink.start();
  t.teardown(() => uplink.stop());
  const workflow = new WorkflowService(config, {
    spool,
    events: new EventBus(),
    downloadTasks: () => uplink.downloadTasks(),
  });
  await workflow.start();
  return { workflow, download: () => workflow.refreshTasks() };
}

function recordedPayload(spool: Spool, id: string): Record<string, unknown> {
  const record = spool.outbox.list({ stream: STREAMS.waybillEvent }).find((r) => r.id === id);
  if (!record) throw new Error(`no waybill event ${id} in the spool`);
  return record.payload as Record<string, unknown>;
}

t.test(
  "the tariff comes with the task list; a pickup carries its quote, the COD fee from the task's COD amount",
  async (t) => {
    const store = await tempSpool();
    t.teardown(() => store.remove());
    let spool = await store.open();
    t.teardown(() => spool.close());
    const list = defaultSimTaskList();
    const { workflow, download } = await terminalWith(t, () => spool, { ...list, tasks: [...list.tasks, COD_PICKUP] });
    t.match(await download(), { tasks: 5, couriers: 1, tariffVersion: 'sim-2026.1' });
    t.notOk('tariffRefused' in (await download()), 'nothing refused');

    const listed = await workflow.record({
      kind: 'pickup',
      waybill: COD_PICKUP.waybill,
      weightGrams: 900,
      destination: '112 01',
      service: 'express',
    });
    const quoted = {
      zone: 'metro',
      band: 'S',
      service: 'express',
      price: 1100,
      codAmount: 20_000,
      codFee: 350,
      total: 1450,
      currency: '840',
      tariffVersion: 'sim-2026.1',
    };
    t.match(listed, { kind: 'pickup', quote: quoted });
    t.match(
      recordedPayload(spool, listed.id),
      {
        kind: 'pickup',
        waybill: COD_PICKUP.waybill,
        weightGrams: 900,
        destination: '11201',
        service: 'express',
        quote: quoted,
      },
      'the quote travels in the record for the back-end',
    );

    const unlisted = await workflow.record({
      kind: 'pickup',
      waybill: 'RR333333335CH',
      weightGrams: 900,
      destination: '11201',
    });
    t.match(
      unlisted.quote,
      { service: 'standard', price: 650, codAmount: 0, codFee: 0, total: 650 },
      'not on the list: no COD, the first service',
    );

    const plain = await workflow.record({ kind: 'pickup', waybill: 'RR111111115CH' });
    t.notOk('quote' in plain, 'a pickup without weight and destination is recorded as before');
    t.notOk('quote' in recordedPayload(spool, plain.id));

    // The cached tariff is in the spool: after a restart, offline, the same price.
    spool.close();
    spool = await store.open();
    t.match(workflow.quote({ destination: '11201', weightGrams: 900, service: 'express', codAmount: 20_000 }), quoted);
  },
);

t.test('a tariff that does not read is refused and the cached one stays; the tasks still come', async (t) => {
  const store = await tempSpool();
  t.teardown(() => store.remove());
  const spool = await store.open();
  t.teardown(() => spool.close());
  const good = await terminalWith(t, () => spool, defaultSimTaskList());
  t.match(await good.download(), { tariffVersion: 'sim-2026.1' });

  const broken = { ...defaultSimTariff(), version: 'sim-2026.2', weightBands: [{ id: 'S', upToGrams: 1000 }] };
  const list = defaultSimTaskList();
  const bad = await terminalWith(t, () => spool, { ...list, tasks: [...list.tasks, COD_PICKUP], tariff: broken });
  const answer = await bad.download();
  t.match(answer, {
    tasks: 5,
    tariffRefused: 'tariff.services[0].prices.city: expected 1 prices, one per weight band, not 4',
  });
  t.notOk('tariffVersion' in answer);
  t.equal(spool.tasks.tasks().length, 5, 'the task list was replaced');
  t.equal(spool.tasks.tariff()?.version, 'sim-2026.1', 'the cached tariff stays');
  t.match(bad.workflow.quote({ destination: '10001', weightGrams: 25_000 }), {
    band: 'XL',
    price: 1800,
    tariffVersion: 'sim-2026.1',
  });

  const { tariff: _none, ...withoutTariff } = defaultSimTaskList();
  const silentBackend = await terminalWith(t, () => spool, withoutTariff);
  t.same(
    await silentBackend.download(),
    { tasks: 4, couriers: 1 },
    'a list without a tariff: nothing stored, nothing refused',
  );
  t.equal(spool.tasks.tariff()?.version, 'sim-2026.1');
});

t.test(
  'no tariff downloaded yet: a pickup is recorded unpriced (quote null); a quote asked is refused saying why',
  async (t) => {
    const store = await tempSpool();
    t.teardown(() => store.remove());
    const spool = await store.open();
    t.teardown(() => spool.close());
    const workflow = new WorkflowService(validateConfig({}), { spool: () => spool, events: new EventBus() });
    await workflow.start();
    const recorded = await workflow.record({
      kind: 'pickup',
      waybill: 'RR111111115CH',
      weightGrams: 1200,
      destination: '10001',
    });
    t.equal(recorded.quote, null);
    t.match(recordedPayload(spool, recorded.id), {
      weightGrams: 1200,
      destination: '10001',
      service: null,
      quote: null,
    });
    t.throws(() => workflow.quote({ destination: '10001', weightGrams: 1200 }), {
      code: 'CODPOS_USAGE_NO_TARIFF',
      message: /no tariff has come with a task list yet/,
    });
  },
);

t.test(
  'through the API: GET /v1/quote, and a pickup whose quote reaches the back-end; bad input is a 400 naming it',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    t.match(await call(socketPath, 'GET', '/v1/quote?destination=10001&weightGrams=1500&codAmount=2350'), {
      status: 200,
      json: {
        zone: 'city',
        matchedBy: { postcodePrefix: '100' },
        band: 'M',
        service: 'standard',
        price: 700,
        codFee: 150,
        total: 850,
        currency: '840',
        tariffVersion: 'sim-2026.1',
      },
    });
    t.match(await call(socketPath, 'GET', '/v1/quote?destination=US&weightGrams=25000&service=express'), {
      status: 400,
      json: {
        error: {
          code: 'CODPOS_USAGE_QUOTE_SERVICE',
          message: 'service express is not offered to zone national for band XL (up to 30000 g) in tariff sim-2026.1',
        },
      },
    });
    t.match(await call(socketPath, 'GET', '/v1/quote?destination=10001&weightGrams=1.5'), {
      status: 400,
      json: {
        error: {
          code: 'CODPOS_USAGE_QUOTE',
          message: 'weightGrams: expected a whole number of grams (?weightGrams=1500), not "1.5"',
        },
      },
    });
    t.match(await call(socketPath, 'GET', '/v1/quote?weightGrams=100'), {
      status: 400,
      json: { error: { message: /^destination: give the postcode/ } },
    });
    t.match(await call(socketPath, 'GET', '/v1/quote?destination=10001'), {
      status: 400,
      json: { error: { message: /^weightGrams: give the parcel's weight/ } },
    });
    t.match(await call(socketPath, 'GET', '/v1/quote?destination=ZZ&weightGrams=100'), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_QUOTE_NO_ZONE' } },
    });
    t.match(await call(socketPath, 'GET', '/v1/quote?destination=10001&weightGrams=40000'), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_QUOTE_WEIGHT', message: /over the last weight band/ } },
    });

    const pickup = await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'pickup',
      waybill: 'RR111111115CH',
      weightGrams: 4000,
      destination: 'METRO',
      service: 'express',
    });
    t.match(pickup, {
      status: 200,
      json: {
        kind: 'pickup',
        quote: { zone: 'metro', matchedBy: { areaCode: 'METRO' }, band: 'M', price: 1500, total: 1500 },
      },
    });
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'pickup',
        waybill: 'RR123456785CH',
        weightGrams: 500,
      }),
      {
        status: 400,
        json: {
          error: {
            code: 'CODPOS_USAGE_WAYBILL_EVENT',
            message: 'destination: a pickup is priced from its weightGrams and destination; give both, or neither',
          },
        },
      },
    );
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'delivery',
        waybill: 'RR000000005CH',
        weightGrams: 500,
        destination: '10001',
      }),
      {
        status: 400,
        json: { error: { message: 'weightGrams: only a pickup is weighed and priced, not a delivery' } },
      },
    );
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'pickup',
        waybill: 'RR123456785CH',
        weightGrams: 500,
        destination: '99',
        service: 'overnight',
      }),
      {
        status: 400,
        json: {
          error: {
            code: 'CODPOS_USAGE_QUOTE_SERVICE',
            message: 'service overnight: tariff sim-2026.1 has standard, express',
          },
        },
      },
    );
    let records: Array<{ id: string; payload: Record<string, unknown> }> = [];
    for (let i = 0; i < 300 && records.length === 0; i++) {
      records = (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as typeof records;
      if (records.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    t.equal(records.length, 1, 'only the priced pickup was recorded');
    t.match(records[0], {
      id: pickup.json.id,
      payload: {
        kind: 'pickup',
        weightGrams: 4000,
        destination: 'METRO',
        service: 'express',
        quote: { price: 1500, tariffVersion: 'sim-2026.1' },
      },
    });
  },
);
