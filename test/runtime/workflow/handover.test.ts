/**
 * The cash handover through the daemon's local API: after a day of cash (and card) deliveries
 * the courier hands the cash to the depot clerk; the handover expects the cash collected,
 * prints its slip, goes to the back-end, and closes the day until the next check-in.
 */
import t from 'tap';
import { call, follow, startDaemon } from '../daemon-fixtures.js';

type Json = Record<string, unknown>;

async function backendRecords(
  socketPath: string,
  stream: string,
  count: number,
): Promise<Array<{ id: string; stream: string; payload: Json }>> {
  for (let i = 0; i < 500; i++) {
    const records = (
      (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as Array<{
        id: string;
        stream: string;
        payload: Json;
      }>
    ).filter((r) => r.stream === stream);
    if (records.length >= count) return records;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the back-end did not get ${count} ${stream} records`);
}

async function deliver(socketPath: string, waybill: string, cod?: unknown) {
  return call(socketPath, 'POST', '/v1/waybills/events', {
    kind: 'delivery',
    waybill,
    ...(cod !== undefined ? { cod } : {}),
  });
}

t.test(
  'after a day of cash deliveries: the handover expects the cash collected, prints its slip, reaches the back-end and closes the day',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    t.equal((await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' })).status, 200);
    t.equal((await deliver(socketPath, 'RR123456785CH', { method: 'cash', amount: 2350, tendered: 5000 })).status, 200);
    t.equal((await deliver(socketPath, 'RR222222225CH', { method: 'cash', amount: 1000, tendered: 1000 })).status, 200);
    // A card delivery brings no cash to hand over.
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR003000000CH' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
    t.equal(
      (await deliver(socketPath, 'RR003000000CH', { method: 'card', amount: 2500, journalId: paid.json.journalId }))
        .status,
      200,
    );
    t.match((await call(socketPath, 'GET', '/v1/reports/day')).json, {
      cash: { amount: 3350 },
      closed: false,
      handovers: [],
    });

    const handover = await call(socketPath, 'POST', '/v1/handover', { counted: 3350, clerkId: 'D-17' });
    t.equal(handover.status, 200, JSON.stringify(handover.json));
    t.match(handover.json, {
      id: /./,
      courierId: 'C001',
      clerkId: 'D-17',
      currency: '840',
      expected: 3350,
      counted: 3350,
      difference: 0,
      slipPrinted: true,
    });
    t.notOk('reason' in handover.json, 'no difference, no reason');

    const page = ((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][]).at(-1)!;
    t.ok(
      page.some((line) => line.includes('CASH HANDOVER')),
      page.join('\n'),
    );
    const has = (label: string, value: string) =>
      t.ok(
        page.some((line) => line.startsWith(label) && line.trimEnd().endsWith(value)),
        `${label} ... ${value}`,
      );
    has('COURIER', 'C001');
    has('DEPOT CLERK', 'D-17');
    has('EXPECTED', 'USD 33.50');
    has('COUNTED', 'USD 33.50');
    has('DIFFERENCE', 'USD 0.00');
    t.ok(page.includes('COURIER SIGNATURE') && page.includes('DEPOT CLERK SIGNATURE'), 'a line for each signature');
    const afterRef = page.slice(page.indexOf('HANDOVER REF') + 1).join('');
    t.ok(afterRef.startsWith(handover.json.id as string), "the handover's id (wrapped), as the back-end knows it");

    const [record] = await backendRecords(socketPath, 'handover', 1);
    t.equal(record!.id, handover.json.id, 'the back-end keys it by the handover id');
    t.match(record!.payload, {
      courierId: 'C001',
      clerkId: 'D-17',
      expected: 3350,
      counted: 3350,
      difference: 0,
      terminalId: /./,
      day: handover.json.day,
    });

    await events.until('day.closed');
    t.ok(events.types().includes('handover.recorded'));
    t.match((await call(socketPath, 'GET', '/v1/tasks')).json, { courier: null }, 'the courier is checked out');
    t.match((await call(socketPath, 'GET', '/v1/reports/day')).json, {
      closed: true,
      handovers: [{ id: handover.json.id, expected: 3350, counted: 3350 }],
    });
    t.match((await call(socketPath, 'GET', '/v1/handover')).json, {
      day: handover.json.day,
      closed: true,
      handovers: [{ id: handover.json.id }],
    });
    t.match(
      (await call(socketPath, 'GET', '/v1/handover?date=2001-01-01')).json,
      { day: '2001-01-01', closed: false, handovers: [] },
      'another day is open and empty',
    );

    // The day is closed: a delivery and a second handover are refused.
    t.match(await deliver(socketPath, 'RR000000005CH'), {
      status: 409,
      json: {
        error: {
          code: 'CODPOS_USAGE_DAY_CLOSED',
          message: /delivery of RR000000005CH: the day .* is closed.*a check-in opens a new day/,
        },
      },
    });
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: 0, clerkId: 'D-17' }), {
      status: 409,
      json: { error: { code: 'CODPOS_USAGE_HANDOVER_DONE', message: /already handed over .* to clerk D-17/ } },
    });
    t.equal((await backendRecords(socketPath, 'handover', 1)).length, 1, 'nothing more queued');

    // A check-in opens a new day: deliveries again, and its own handover of only its own cash.
    t.equal((await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' })).status, 200);
    await events.until('day.opened');
    t.equal((await deliver(socketPath, 'RR000000005CH')).status, 200);
    t.equal((await deliver(socketPath, 'RR111111115CH', { method: 'cash', amount: 700, tendered: 1000 })).status, 200);
    t.match((await call(socketPath, 'GET', '/v1/reports/day')).json, {
      closed: false,
      handovers: [{ id: handover.json.id, reopenedAt: /./ }],
    });
    const second = await call(socketPath, 'POST', '/v1/handover', {
      counted: 600,
      clerkId: 'D-18',
      reason: 'one note missing, courier to repay',
    });
    t.match(second, {
      status: 200,
      json: { expected: 700, counted: 600, difference: -100, reason: 'one note missing, courier to repay' },
    });
    const secondPage = ((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][]).at(-1)!;
    t.ok(
      secondPage.some((line) => line.startsWith('DIFFERENCE') && line.trimEnd().endsWith('USD -1.00')),
      secondPage.join('\n'),
    );
    t.ok(secondPage.some((line) => line.startsWith('REASON: one note missing')));
    t.match((await call(socketPath, 'GET', '/v1/reports/day')).json, {
      cash: { amount: 4050 },
      closed: true,
      handovers: [{ expected: 3350 }, { expected: 700, difference: -100 }],
    });
    const records = await backendRecords(socketPath, 'handover', 2);
    t.same(
      records.map((r) => r.payload.counted),
      [3350, 600],
    );
  },
);

t.test(
  'a count that differs needs a reason; the clerk and the count are checked; the courier must be checked in',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: 0, clerkId: 'D-17' }), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_NOT_CHECKED_IN' } },
    });
    await call(socketPath, 'POST', '/v1/courier/check-in', { courierId: 'C001', pin: '1234' });
    t.equal((await deliver(socketPath, 'RR123456785CH', { method: 'cash', amount: 2350, tendered: 2350 })).status, 200);
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: 2000, clerkId: 'D-17' }), {
      status: 400,
      json: {
        error: {
          code: 'CODPOS_USAGE_HANDOVER_REASON',
          message:
            'reason: the count (2000) differs from the cash expected (2350) by -350; a handover with a difference needs the reason for it',
        },
      },
    });
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: 2000, clerkId: 'D-17', reason: '   ' }), {
      status: 400,
      json: { error: { message: /reason: expected text/ } },
    });
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: -1, clerkId: 'D-17' }), {
      status: 400,
      json: { error: { message: /counted: expected/ } },
    });
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: 23.5, clerkId: 'D-17' }), {
      status: 400,
      json: { error: { message: /counted: expected/ } },
    });
    t.match(await call(socketPath, 'POST', '/v1/handover', { counted: 2350 }), {
      status: 400,
      json: { error: { message: /clerkId/ } },
    });
    t.match(
      (await call(socketPath, 'GET', '/v1/handover')).json,
      { closed: false, handovers: [] },
      'nothing recorded by a refused handover',
    );
    t.match(await call(socketPath, 'GET', '/v1/handover?date=today'), {
      status: 400,
      json: { error: { message: /YYYY-MM-DD/ } },
    });
    t.match((await call(socketPath, 'GET', '/v1/tasks')).json, { courier: { id: 'C001' } }, 'still checked in');
    t.equal((await deliver(socketPath, 'RR000000005CH')).status, 200, 'the day is still open');
  },
);
