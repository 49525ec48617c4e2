/**
 * The queries of the courier's day through the daemon's local API (codposd --sim): a waybill's
 * status and history, the card payments with filters, and the task list with what is left.
 */
import t from 'tap';
import { call, startDaemon } from '../daemon-fixtures.js';
import { localToday } from '../payment/payment-fixtures.js';

const PAN = '4761739001010119';

async function payByCard(socketPath: string, amount: number, waybill: string): Promise<string> {
  await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount, waybill });
  if (paid.json.outcome !== 'approved') throw new Error(`payment not approved: ${JSON.stringify(paid.json)}`);
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
  return paid.json.journalId as string;
}

function dayBefore(date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const before = new Date(year, month - 1, day - 1);
  return `${before.getFullYear()}-${String(before.getMonth() + 1).padStart(2, '0')}-${String(before.getDate()).padStart(2, '0')}`;
}

t.test(
  "GET /v1/waybills/{id}: the events in order, the task, the card payments masked and the one-word status as the parcel's day goes on",
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const show = async (waybill: string) => call(socketPath, 'GET', `/v1/waybills/${encodeURIComponent(waybill)}`);
    t.match(
      await show('RR003000000CH'),
      {
        status: 200,
        json: {
          waybill: 'RR003000000CH',
          status: 'open',
          tasks: [{ id: 'T2', kind: 'delivery', codAmount: 2500, state: 'open' }],
          events: [],
          payments: [],
        },
      },
      'on the task list, nothing recorded',
    );
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'dispatch', waybill: 'RR003000000CH' });
    t.match((await show('RR003000000CH')).json, { status: 'dispatched' });
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'exception',
      waybill: 'RR003000000CH',
      reason: 'not-home',
      note: 'left a card',
    });
    t.match((await show('RR003000000CH')).json, {
      status: 'exception',
      reason: 'not-home',
      tasks: [{ state: 'exception', reason: 'not-home' }],
    });
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'dispatch', waybill: 'RR003000000CH' });
    t.match(
      (await show('rr 003000000 ch')).json,
      { status: 'dispatched', tasks: [{ state: 'open' }] },
      'dispatched again after the exception; the number read as a scan is',
    );
    const journalId = await payByCard(socketPath, 2500, 'RR003000000CH');
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR003000000CH',
      cod: { method: 'card', amount: 2500, journalId },
    });
    const delivered = await show('RR003000000CH');
    t.equal(delivered.status, 200);
    t.match(delivered.json, {
      waybill: 'RR003000000CH',
      status: 'delivered',
      tasks: [{ id: 'T2', kind: 'delivery', codAmount: 2500, consignee: /./, state: 'done' }],
      payments: [
        { journalId, state: 'approved', approvedAmount: 2500, panMasked: '476173******0119', waybill: 'RR003000000CH' },
      ],
    });
    const events = delivered.json.events as Array<Record<string, unknown>>;
    t.same(
      events.map((event) => event.kind),
      ['dispatch', 'exception', 'dispatch', 'delivery'],
      'every event, in the order recorded',
    );
    t.match(events[1], { reason: 'not-home', note: 'left a card', uplink: /ready|leased|forwarded/ });
    t.match(events[3], { codDue: 2500, cod: { method: 'card', amount: 2500, journalId } });
    t.notMatch(JSON.stringify(delivered.json), PAN, 'no full PAN');
  },
);

t.test(
  'GET /v1/waybills/{id}: forwarded events are still shown; a waybill nothing is known of is a 404, a misread one a 400',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR222222225CH' });
    for (let i = 0; i < 500; i++) {
      const events = (await call(socketPath, 'GET', '/v1/waybills/RR222222225CH')).json.events as Array<{
        uplink: string;
      }>;
      if (events[0]?.uplink === 'forwarded') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    t.match(
      await call(socketPath, 'GET', '/v1/waybills/RR222222225CH'),
      { status: 200, json: { status: 'picked-up', tasks: [], events: [{ kind: 'pickup', uplink: 'forwarded' }] } },
      'sent to the back-end and still there',
    );
    t.match(await call(socketPath, 'GET', '/v1/waybills/RR333333335CH'), {
      status: 404,
      json: {
        error: {
          code: 'CODPOS_USAGE_NO_SUCH_WAYBILL',
          message: /RR333333335CH: no task, no recorded event and no card payment/,
        },
      },
    });
    t.match(await call(socketPath, 'GET', '/v1/waybills/RR123456784CH'), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_WAYBILL', message: /check digit is 4/ } },
    });
  },
);

t.test(
  'GET /v1/payments filters by day, range of days, state and waybill; each bad filter is a 400 naming it',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const first = await payByCard(socketPath, 2350, 'RR123456785CH');
    const second = await payByCard(socketPath, 2500, 'RR003000000CH');
    t.match(await call(socketPath, 'POST', '/v1/payments/void', { journalId: first }), { status: 200 });
    const today = localToday();
    const yesterday = dayBefore(today);
    const ids = async (query: string) => {
      const answer = await call(socketPath, 'GET', `/v1/payments${query}`);
      t.equal(answer.status, 200, query);
      return (answer.json.payments as Array<{ journalId: string; kind: string }>)
        .filter((p) => p.kind === 'purchase')
        .map((p) => p.journalId);
    };
    t.same(await ids(''), [first, second], 'today by default');
    t.same(await ids(`?date=${today}`), [first, second]);
    t.same(await ids(`?date=${yesterday}`), [], 'another day');
    t.same(await ids(`?from=${yesterday}&to=${today}`), [first, second], 'a range including today');
    t.same(await ids(`?from=${yesterday}&to=${yesterday}`), [], 'a range of past days only');
    t.same(await ids(`?from=${today}`), [first, second], 'from alone: up to now');
    t.same(await ids(`?to=${yesterday}`), [], 'to alone: every kept day up to it');
    t.same(await ids('?state=voided'), [first]);
    t.same(await ids('?state=approved'), [second]);
    t.same(await ids('?waybill=RR003000000CH'), [second], "a waybill's payments, whatever the day");
    t.same(await ids(`?waybill=rr123456785ch&date=${yesterday}`), [], 'a waybill on another day');
    t.match(
      (await call(socketPath, 'GET', `/v1/payments?from=${yesterday}&to=${today}&state=approved`)).json,
      { from: yesterday, to: today, state: 'approved' },
      'the answer says what it selected',
    );
    const refused = async (query: string, code: string, message: RegExp) =>
      t.match(
        await call(socketPath, 'GET', `/v1/payments${query}`),
        { status: 400, json: { error: { code, message } } },
        query,
      );
    await refused('?date=2026-02-30', 'CODPOS_USAGE_BAD_DATE', /^date: 2026-02-30 is not a day of the calendar$/);
    await refused('?from=29.11.2026', 'CODPOS_USAGE_BAD_DATE', /^from: expected YYYY-MM-DD, not 29.11.2026$/);
    await refused(
      `?from=${today}&to=${yesterday}`,
      'CODPOS_USAGE_BAD_QUERY',
      new RegExp(`^from: ${today} is after to ${yesterday}$`),
    );
    await refused(
      `?date=${today}&from=${today}`,
      'CODPOS_USAGE_BAD_QUERY',
      /^date: give either date \(one day\) or from\/to/,
    );
    await refused(
      '?state=paid',
      'CODPOS_USAGE_BAD_QUERY',
      /^state: expected one of pending, approved, .*, not "paid"$/,
    );
    await refused('?waybill=RR123456784CH', 'CODPOS_USAGE_WAYBILL', /check digit is 4/);
    await refused(
      '?stat=approved',
      'CODPOS_USAGE_BAD_QUERY',
      /^stat: unknown parameter; GET \/v1\/payments takes date, from, to, state, waybill$/,
    );
    await refused('?state=approved&state=voided', 'CODPOS_USAGE_BAD_QUERY', /^state: given more than once$/);
  },
);

t.test(
  'GET /v1/tasks: each task with its state and a summary of what is left (open tasks, COD still to collect)',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    t.match((await call(socketPath, 'GET', '/v1/tasks')).json, {
      tasks: [
        { id: 'T1', state: 'open', done: false },
        { id: 'T2', state: 'open' },
        { id: 'T3', state: 'open' },
        { id: 'T4', state: 'open' },
      ],
      summary: { total: 4, open: 4, done: 0, exceptions: 0, codToCollect: 2350 + 2500, currency: /./ },
    });
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'delivery',
      waybill: 'RR123456785CH',
      cod: { method: 'cash', amount: 2350, tendered: 2350 },
    });
    await call(socketPath, 'POST', '/v1/waybills/events', {
      kind: 'exception',
      waybill: 'RR003000000CH',
      reason: 'refused',
    });
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'delivery', waybill: 'RR111111115CH' });
    const after = (await call(socketPath, 'GET', '/v1/tasks')).json;
    t.match(
      after,
      {
        tasks: [
          { id: 'T1', state: 'done', done: true },
          { id: 'T2', state: 'exception', reason: 'refused', done: false },
          { id: 'T3', state: 'open' },
          { id: 'T4', kind: 'pickup', state: 'open' },
        ],
        summary: { total: 4, open: 2, done: 1, exceptions: 1, codToCollect: 0 },
      },
      'a delivery does not do a pickup task; a refused COD is not left to collect',
    );
    await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR111111115CH' });
    t.match((await call(socketPath, 'GET', '/v1/tasks')).json, {
      tasks: [{}, {}, {}, { id: 'T4', state: 'done' }],
      summary: { open: 1, done: 2 },
    });
  },
);
