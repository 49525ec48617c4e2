/**
 * Waybill events through the daemon's local API: checked, durable, sent to the back-end,
 * published; cash-on-delivery collected in cash (change computed) or by a card payment
 * that stands. Bad input is a 400 naming what was wrong, and nothing is stored.
 */
import t from 'tap';
import { call, follow, startDaemon } from '../daemon-fixtures.js';

async function backendRecords(
  socketPath: string,
  count: number,
): Promise<Array<{ id: string; stream: string; payload: Record<string, unknown> }>> {
  for (let i = 0; i < 300; i++) {
    const records = (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as Array<{
      id: string;
      stream: string;
      payload: Record<string, unknown>;
    }>;
    if (records.length >= count) return records;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the back-end did not get ${count} records`);
}

t.test(
  "a parcel's day: pickup, dispatch, an exception, then delivery against cash; each on the back-end and the event stream",
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    const pickup = await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'pickup',
      waybill: 'rr 123456785 ch',
    });
    t.match(pickup, { status: 200, json: { kind: 'pickup', waybill: 'RR123456785CH', id: /./ } });
    t.equal(
      (await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'dispatch', waybill: 'RR123456785CH' })).status,
      200,
    );
    t.equal(
      (
        await call(socketPath, 'POST', '/v1/waybills/events', {
          kind: 'exception',
          waybill: 'RR123456785CH',
          reason: 'not-home',
          note: 'left a card',
        })
      ).status,
      200,
    );
    const delivered = await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR123456785CH',
      cod: { method: 'cash', amount: 2350, tendered: 5000 },
    });
    t.match(delivered.json, { kind: 'delivery', change: 2650 });
    const records = await backendRecords(socketPath, 4);
    t.same(
      records.map((r) => `${r.stream}:${String(r.payload.kind)}`),
      ['waybill-event:pickup', 'waybill-event:dispatch', 'waybill-event:exception', 'waybill-event:delivery'],
    );
    t.match(records[2]!.payload, { reason: 'not-home', note: 'left a card', waybill: 'RR123456785CH' });
    t.match(records[3]!.payload, { cod: { method: 'cash', amount: 2350, tendered: 5000, change: 2650 } });
    t.equal(records[0]!.id, pickup.json.id, 'the back-end keys it by the id the terminal made');
    await events.until('waybill.delivery');
    t.same(
      events.types().filter((type) => type.startsWith('waybill.')),
      ['waybill.pickup', 'waybill.dispatch', 'waybill.exception', 'waybill.delivery'],
    );
  },
);

t.test('delivery paid by card: the journal row must be a standing payment of the same amount', async (t) => {
  const { socketPath } = await startDaemon(t);
  await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR003000000CH' });
  t.match(paid.json, { outcome: 'approved' });
  const journalId = paid.json.journalId as string;
  t.match(
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR222222225CH',
      cod: { method: 'card', amount: 2000, journalId },
    }),
    {
      status: 400,
      json: { error: { message: /the card payment was for 2500, not 2000/ } },
    },
    'a waybill not on the task list: the card payment itself must match',
  );
  t.match(
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR003000000CH',
      cod: { method: 'card', amount: 2500, journalId },
    }),
    { status: 200 },
  );
  t.match(
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR003000000CH',
      cod: { method: 'card', amount: 2500, journalId: 'no-such-row' },
    }),
    {
      status: 400,
      json: { error: { message: /no card payment no-such-row/ } },
    },
  );
});

t.test(
  'through the API, a COD in parts: part by card, the rest in cash, one list on the back-end and one reconciled delivery',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 1500, waybill: 'RR003000000CH' });
    const journalId = paid.json.journalId as string;
    const card = { method: 'card', amount: 1500, journalId };
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'delivery', waybill: 'RR003000000CH', cod: card }),
      {
        status: 400,
        json: {
          error: {
            code: 'CODPOS_USAGE_COD_NOT_COLLECTED',
            message:
              'cod: 1,500 of 2,500 collected by card; 1,000 still due on RR003000000CH: collect it in cash or by another card',
          },
        },
      },
    );
    const delivered = await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR003000000CH',
      cod: [card, { method: 'cash', amount: 1000, tendered: 2000 }],
    });
    t.match(delivered, { status: 200, json: { change: 1000 } });
    const records = await backendRecords(socketPath, 2);
    const record = records.find((r) => r.stream === 'waybill-event');
    t.match(record?.payload, {
      codDue: 2500,
      cod: [
        { method: 'card', amount: 1500, journalId },
        { method: 'cash', amount: 1000, change: 1000 },
      ],
    });
    t.match((await call(socketPath, 'GET', '/v1/reports/day')).json, {
      cash: { amount: 1000 },
      card: { amount: 1500 },
      collections: [{ method: 'cash+card', amount: 2500, collected: 2500, matched: true }],
      unmatchedPayments: [],
    });
  },
);

t.test('bad input is refused naming what was wrong, and nothing reaches the back-end', async (t) => {
  const { socketPath } = await startDaemon(t, { workflow: { waybillPattern: 'JNE-[0-9]{7}' } });
  const refuse = async (body: unknown, message: RegExp) =>
    t.match(await call(socketPath, 'POST', '/v1/waybills/events', body), { status: 400, json: { error: { message } } });
  await refuse({ kind: 'pickup', waybill: 'RR123456784CH' }, /check digit is 4, the serial 12345678 gives 5/);
  await refuse({ kind: 'pickup', waybill: 'ABC' }, /nor the operator's format/);
  await refuse(
    { kind: 'exception', waybill: 'RR123456785CH' },
    /an exception needs one of refused, not-home, wrong-address, damaged/,
  );
  await refuse({ kind: 'pickup', waybill: 'RR123456785CH', reason: 'damaged' }, /only an exception has a reason/);
  for (const inherited of ['__proto__', 'toString', 'constructor']) {
    await refuse(
      { kind: 'exception', waybill: 'RR123456785CH', reason: inherited },
      /an exception needs one of refused, not-home, wrong-address, damaged/,
    );
  }
  await refuse(
    { kind: 'delivery', waybill: 'RR111111115CH', cod: { method: 'cash', amount: 5000, tendered: 2000 } },
    /must cover the amount/,
  );
  await refuse({ kind: 'lost', waybill: 'RR123456785CH' }, /kind: expected pickup, dispatch, delivery, exception/);
  t.match(
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'JNE-0012345' }),
    { status: 200, json: { waybill: 'JNE-0012345' } },
    "the operator's own format",
  );
  const records = (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as unknown[];
  t.ok(records.length <= 1, 'only the good one can have gone');
});

t.test(
  'a signed delivery: the back-end gets the strokes with their times and the PNG; a signature on a pickup is refused',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const strokes = [Array.from({ length: 12 }, (_, i) => ({ x: 10 + i * 15, y: 40 + (i % 3) * 10, t: i * 16 }))];
    const signature = { canvas: { width: 300, height: 100 }, strokes };
    const delivered = await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR123456785CH',
      cod: { method: 'cash', amount: 2350, tendered: 2350 },
      signature,
    });
    t.equal(delivered.status, 200);
    const [record] = await backendRecords(socketPath, 1);
    const kept = record!.payload.signature as { strokes: unknown; png: string; canvas: unknown };
    t.same(kept.strokes, strokes, 'the strokes with their times');
    t.same(Buffer.from(kept.png, 'base64').subarray(0, 4), Buffer.from('89504e47', 'hex'), 'and a PNG');
    t.equal(delivered.json.receiptPrinted, true);
    const page = ((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][]).at(-1)!;
    t.ok(page.includes('WAYBILL            RR123456785CH'));
    t.ok(page.includes('CONSIGNEE           A. Consignee'), 'the consignee from the task list');
    t.ok(page.includes('COD CASH               USD 23.50'));
    t.ok(page.includes('CHANGE                  USD 0.00'));
    t.ok(page.includes('DELIVERED'));
    t.ok(
      page.some((line) => /^\[RASTER 384x128\]$/.test(line)),
      'the signature, drawn at the paper width',
    );
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR123456785CH', signature }),
      { status: 400, json: { error: { message: /only a delivery is signed for/ } } },
    );
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'delivery',
        waybill: 'RR123456785CH',
        cod: { method: 'cash', amount: 2350, tendered: 2350 },
        signature: { canvas: { width: 300, height: 100 }, strokes: [] },
      }),
      { status: 400, json: { error: { code: 'CODPOS_USAGE_SIGNATURE' } } },
    );
  },
);

t.test(
  'end of day: the cash to hand over, the card collections, the exceptions, and each COD delivery matched with its payment',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    const pay = async (amount: number, waybill: string) => {
      await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
      const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount, waybill });
      await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
      return paid.json.journalId as string;
    };
    const deliver = async (waybill: string, cod: unknown) => {
      const answer = await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'delivery', waybill, cod });
      t.equal(answer.status, 200, `delivery of ${waybill} recorded`);
    };
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR123456785CH' });
    await deliver('RR123456785CH', { method: 'cash', amount: 2350, tendered: 5000 });
    await deliver('RR222222225CH', { method: 'cash', amount: 1000, tendered: 1000 });
    const card = await pay(2500, 'RR003000000CH');
    await deliver('RR003000000CH', { method: 'card', amount: 2500, journalId: card });
    const notDelivered = await pay(1200, 'RR123456785CH'); // paid, but no delivery collected with it
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'exception',
      waybill: 'RR000000005CH',
      reason: 'not-home',
    });
    const report = await call(socketPath, 'GET', '/v1/reports/day');
    t.equal(report.status, 200);
    t.match(report.json, {
      deliveries: 3,
      pickups: 1,
      cash: { count: 2, amount: 3350 },
      card: { count: 1, amount: 2500 },
      exceptions: { 'not-home': 1 },
      unmatchedPayments: [{ journalId: notDelivered, waybill: 'RR123456785CH', amount: 1200 }],
    });
    t.same(
      (report.json.collections as Array<{ matched: boolean }>).map((c) => c.matched),
      [true, true, true],
    );
    t.same(
      report.json.codDue,
      [
        { waybill: 'RR123456785CH', amount: 2350, status: 'collected', method: 'cash' },
        { waybill: 'RR003000000CH', amount: 2500, status: 'collected', method: 'card' },
      ],
      'each COD waybill on the task list and how it was collected',
    );
    t.match(
      await call(socketPath, 'GET', '/v1/reports/day?date=2001-01-01'),
      { status: 200, json: { deliveries: 0, cash: { count: 0 } } },
      'another day is empty',
    );
    t.match(await call(socketPath, 'GET', '/v1/reports/day?date=yesterday'), {
      status: 400,
      json: { error: { message: /YYYY-MM-DD/ } },
    });
    for (const impossible of ['2026-02-30', '2026-13-01', '2026-04-31', '2026-00-10', '2025-02-29']) {
      t.match(
        await call(socketPath, 'GET', `/v1/reports/day?date=${impossible}`),
        {
          status: 400,
          json: {
            error: { code: 'CODPOS_USAGE_BAD_DATE', message: `date: ${impossible} is not a day of the calendar` },
          },
        },
        `${impossible} is refused`,
      );
    }
    t.match(await call(socketPath, 'GET', '/v1/reports/day?date=2028-02-29'), { status: 200 }, 'a leap day is a day');
  },
);

t.test(
  "the day's task list comes from the back-end; a courier checks in offline with their PIN; deliveries collect exactly what is due",
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const list = await call(socketPath, 'GET', '/v1/tasks');
    t.match(list.json, {
      courier: null,
      tasks: [
        { id: 'T1', waybill: 'RR123456785CH', kind: 'delivery', codAmount: 2350, done: false },
        { id: 'T2' },
        { id: 'T3', codAmount: 0 },
        { id: 'T4', kind: 'pickup' },
      ],
    });
    t.match(await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '9999' }), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_CHECK_IN', message: 'wrong courier id or PIN' } },
    });
    t.match(await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C999', pin: '1234' }), {
      status: 400,
      json: { error: { message: /not on this terminal's list/ } },
    });
    t.match(await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' }), {
      status: 200,
      json: { courier: { id: 'C001', name: 'Sim Courier' } },
    });
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'delivery',
        waybill: 'RR123456785CH',
        cod: { method: 'cash', amount: 2000, tendered: 2000 },
      }),
      {
        status: 400,
        json: {
          error: {
            code: 'CODPOS_USAGE_COD_NOT_COLLECTED',
            message: /2,000 of 2,350 collected in cash; 350 still due on RR123456785CH/,
          },
        },
      },
    );
    t.match(await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'delivery', waybill: 'RR123456785CH' }), {
      status: 400,
      json: { error: { message: /2,350 is due on RR123456785CH; collect it in cash or by card/ } },
    });
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'delivery',
        waybill: 'RR000000005CH',
        cod: { method: 'cash', amount: 100, tendered: 100 },
      }),
      { status: 400, json: { error: { message: /nothing is due on RR000000005CH \(prepaid\)/ } } },
    );
    t.equal(
      (
        await call(socketPath, 'POST', '/v1/waybills/events', {
          kind: 'delivery',
          waybill: 'RR123456785CH',
          cod: { method: 'cash', amount: 2350, tendered: 3000 },
        })
      ).status,
      200,
    );
    const after = await call(socketPath, 'GET', '/v1/tasks');
    t.match(after.json, {
      courier: { id: 'C001' },
      tasks: [
        { id: 'T1', done: true },
        { id: 'T2', done: false },
      ],
    });
    const [record] = await backendRecords(socketPath, 1);
    t.equal(record!.payload.courierId, 'C001', 'recorded under the checked-in courier');
    t.equal(
      (
        await call(socketPath, 'POST', '/v1/waybills/events', {
          kind: 'exception',
          waybill: 'RR003000000CH',
          reason: 'refused',
        })
      ).status,
      200,
    );
    t.same(
      (await call(socketPath, 'GET', '/v1/reports/day')).json.codDue,
      [
        { waybill: 'RR123456785CH', amount: 2350, status: 'collected', method: 'cash' },
        { waybill: 'RR003000000CH', amount: 2500, status: 'exception', reason: 'refused' },
      ],
      'the refused parcel and its COD go back to the depot',
    );
    t.match(await call(socketPath, 'POST', '/v1/tasks/refresh'), { status: 200, json: { tasks: 4, couriers: 1 } });
    t.match(await call(socketPath, 'POST', '/v1/courier/check-out'), { json: { courier: null } });
  },
);
