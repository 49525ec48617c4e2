/**
 * A lost answer is recovered: the same Idempotency-Key answers with the first payment's answer
 * (no second payment), across a daemon restart too; GET /v1/payments/{journalId} and the day's
 * listing show a payment as the journal has it; keys are pruned after a day or past 1000.
 */
import t from 'tap';
import { validateConfig } from '../../../config/load.js';
import type { BuiltDevices } from '../../../drivers/factory.js';
import { EventBus } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { PaymentService } from '../../../runtime/payment/service.js';
import { PaymentRequests } from '../../../runtime/payment/payment-requests.js';
import type { HostClient } from '../../../runtime/host/client.js';
import { call, follow } from '../daemon-fixtures.js';
import { openSpool } from '../host/fixtures.js';
import { callWithHeaders, startDaemonIn, tempDataDir } from './payment-fixtures.js';

const PAN = '4761739001010119';

t.test(
  "the same Idempotency-Key again: the first payment's answer, no second payment; another request under it is refused; a bad key is a 400",
  async (t) => {
    const { socketPath } = await startDaemonIn(t, tempDataDir());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const key = { 'Idempotency-Key': 'f0e1d2c3-0001' };
    const first = await callWithHeaders(
      socketPath,
      'POST',
      '/v1/payments/card',
      { amount: 2500, waybill: 'RR123456785CH' },
      key,
    );
    t.match(first, { status: 200, json: { outcome: 'approved', journalId: /./ } });
    t.equal(first.json.replayed, undefined);
    const again = await callWithHeaders(
      socketPath,
      'POST',
      '/v1/payments/card',
      { amount: 2500, waybill: 'RR123456785CH' },
      key,
    );
    t.match(again, {
      status: 200,
      json: {
        outcome: 'approved',
        journalId: first.json.journalId,
        authCode: first.json.authCode,
        replayed: true,
        receiptPrinted: true,
      },
    });
    const listed = (await call(socketPath, 'GET', '/v1/payments')).json.payments as unknown[];
    t.equal(listed.length, 1, 'one payment in the journal');
    t.equal(((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as unknown[]).length, 1, 'one receipt');
    t.match(
      await callWithHeaders(socketPath, 'POST', '/v1/payments/card', { amount: 9900, waybill: 'RR123456785CH' }, key),
      {
        status: 422,
        json: {
          error: {
            code: 'CODPOS_USAGE_IDEMPOTENCY_KEY_REUSED',
            message: /was used for a payment of 2500 \(waybill RR123456785CH\), not this one/,
            journalId: first.json.journalId,
          },
        },
      },
    );
    t.match(
      await callWithHeaders(
        socketPath,
        'POST',
        '/v1/payments/card',
        { amount: 2500 },
        { 'Idempotency-Key': 'has space' },
      ),
      { status: 400, json: { error: { code: 'CODPOS_USAGE_IDEMPOTENCY_KEY' } } },
    );
  },
);

t.test('the key again while its payment runs: 409, told it is still running; once it ended, its answer', async (t) => {
  const { socketPath } = await startDaemonIn(t, tempDataDir());
  const events = follow(socketPath);
  t.teardown(() => events.close());
  await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  const key = { 'Idempotency-Key': 'screen-app-17' };
  const paying = callWithHeaders(socketPath, 'POST', '/v1/payments/card', { amount: 2500 }, key);
  await events.until('payment.waiting-card');
  t.match(await callWithHeaders(socketPath, 'POST', '/v1/payments/card', { amount: 2500 }, key), {
    status: 409,
    json: { error: { code: 'CODPOS_USAGE_PAYMENT_RUNNING', message: /still running \(no card has answered yet\)/ } },
  });
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = await paying;
  t.match(paid.json, { outcome: 'approved' });
  t.match(await callWithHeaders(socketPath, 'POST', '/v1/payments/card', { amount: 2500 }, key), {
    status: 200,
    json: { journalId: paid.json.journalId, replayed: true },
  });
});

t.test('keys survive a restart: the new daemon answers the key with the payment the old one made', async (t) => {
  const dir = tempDataDir();
  const first = await startDaemonIn(t, dir);
  await call(first.socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  await call(first.socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'mc-cda' });
  const key = { 'Idempotency-Key': 'lost-answer-1' };
  const paid = await callWithHeaders(first.socketPath, 'POST', '/v1/payments/card', { amount: 4200 }, key);
  t.match(paid.json, { outcome: 'approved' });
  await first.stop();
  const second = await startDaemonIn(t, dir);
  t.match(await callWithHeaders(second.socketPath, 'POST', '/v1/payments/card', { amount: 4200 }, key), {
    status: 200,
    json: { outcome: 'approved', journalId: paid.json.journalId, replayed: true, receipt: { panLast4: '0434' } },
  });
  t.equal(
    ((await call(second.socketPath, 'GET', '/v1/payments')).json.payments as unknown[]).length,
    1,
    'nothing paid again',
  );
});

t.test(
  "GET /v1/payments/{journalId} and the day's listing: the payment as the journal has it, the card masked, the receipt printed",
  async (t) => {
    const { socketPath } = await startDaemonIn(t, tempDataDir());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'rr 123456785 ch' });
    const journalId = paid.json.journalId as string;
    const one = await call(socketPath, 'GET', `/v1/payments/${journalId}`);
    t.equal(one.status, 200);
    t.match(one.json, {
      journalId,
      kind: 'purchase',
      state: 'approved',
      outcome: 'approved',
      amount: 2500,
      approvedAmount: 2500,
      remainingDue: 0,
      currency: '840',
      waybill: 'RR123456785CH',
      panMasked: '476173******0119',
      entry: 'chip',
      responseCode: '00',
      authCode: paid.json.authCode,
      receipt: 'printed',
    });
    t.notMatch(JSON.stringify(one.json), PAN);
    const day = await call(socketPath, 'GET', '/v1/payments');
    t.match(day.json, { date: /^\d{4}-\d{2}-\d{2}$/, payments: [{ journalId, state: 'approved' }] });
    t.match(await call(socketPath, 'GET', `/v1/payments?date=${day.json.date as string}`), {
      json: { payments: [{ journalId }] },
    });
    t.match(await call(socketPath, 'GET', '/v1/payments?date=2000-01-01'), { status: 200, json: { payments: [] } });
    t.match(await call(socketPath, 'GET', '/v1/payments?date=yesterday'), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_BAD_DATE' } },
    });
    t.match(await call(socketPath, 'GET', '/v1/payments/no-such-row'), {
      status: 404,
      json: { error: { code: 'CODPOS_USAGE_NO_SUCH_PAYMENT', message: /no payment no-such-row/ } },
    });
    // Found, it can be voided: the approval the courier never heard about is given back.
    t.match(await call(socketPath, 'POST', '/v1/payments/void', { journalId }), {
      status: 200,
      json: { outcome: 'approved' },
    });
    t.match(await call(socketPath, 'GET', `/v1/payments/${journalId}`), {
      json: { state: 'voided', outcome: 'approved' },
    });
  },
);

/** The payment service alone on a spool, with no devices: what the spool says of a key. */
async function serviceOn(spool: Awaited<ReturnType<typeof openSpool>>) {
  const service = new PaymentService(validateConfig({}), createLogger({ level: 'silent' }), {
    devices: () => ({}) as BuiltDevices,
    host: () => ({}) as HostClient,
    spool: () => spool,
    events: new EventBus(),
  });
  await service.start();
  return service;
}

t.test(
  'a key whose payment was running when the daemon died: answered from the journal, never paid again',
  async (t) => {
    const spool = await openSpool(t);
    const requests = new PaymentRequests(spool.db);
    // Died after the approval was journaled, before the answer was: the key names the row (one commit).
    requests.start('approved-then-died', { amount: 2500 });
    const row = spool.db.transaction(() => {
      const begun = spool.journal.begin({ amount: 2500, currency: '840', pan: PAN });
      requests.attachJournal('approved-then-died', begun.id);
      return begun;
    })();
    spool.journal.transition(row.id, 'approved', { responseCode: '00', authCode: '654321' });
    // Died while waiting for the card: no row.
    requests.start('died-waiting', { amount: 1800 });
    const service = await serviceOn(spool);
    t.match(await service.pay({ amount: 2500 }, { idempotencyKey: 'approved-then-died' }), {
      outcome: 'approved',
      journalId: row.id,
      journalState: 'approved',
      authCode: '654321',
      approvedAmount: 2500,
      remainingDue: 0,
      replayed: true,
      receipt: { panLast4: '0119' },
    });
    t.match(await service.pay({ amount: 1800 }, { idempotencyKey: 'died-waiting' }), {
      outcome: 'cancelled',
      reason: /nothing was charged/,
      replayed: true,
    });
    t.equal(
      spool.journal.list().length,
      1,
      'no payment was made by asking again (there are no devices to make one with)',
    );
  },
);

t.test('keys are kept a day, and the newest 1000 at most', async (t) => {
  const spool = await openSpool(t);
  let now = Date.parse('2026-12-01T08:00:00Z');
  const requests = new PaymentRequests(spool.db, () => now, { ttlMs: 24 * 3600_000, kept: 3 });
  requests.start('monday', { amount: 100 });
  now += 23 * 3600_000;
  requests.start('a', { amount: 100 });
  t.ok(requests.find('monday'), 'kept within the day');
  now += 2 * 3600_000;
  requests.start('b', { amount: 100 });
  t.equal(requests.find('monday'), undefined, 'older than a day: dropped');
  requests.start('c', { amount: 100 });
  requests.start('d', { amount: 100 });
  t.same(
    ['a', 'b', 'c', 'd'].map((key) => requests.find(key) !== undefined),
    [false, true, true, true],
    'past the count: the oldest dropped',
  );
});
