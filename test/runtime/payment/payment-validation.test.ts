/**
 * Bad payment requests stop at the API with a 400 naming what is wrong, before the card is asked
 * for: an amount DE4's 12 digits cannot carry or above payments.maxAmount, a waybill that does
 * not check (S10 or the operator's pattern), and a waybill whose task on the downloaded list is
 * due in another currency than the terminal's (refused for a delivery event too).
 */
import t from 'tap';
import { call, follow } from '../daemon-fixtures.js';
import { startDaemonIn, tempDataDir } from './payment-fixtures.js';

/** Starts a payment for `amount` and cancels it once it waits for the card: proof it got past the checks. */
async function acceptedThenCancelled(
  socketPath: string,
  events: ReturnType<typeof follow>,
  body: Record<string, unknown>,
) {
  const seen = events.types().filter((type) => type === 'payment.waiting-card').length;
  const paying = call(socketPath, 'POST', '/v1/payments/card', body);
  for (let i = 0; i < 1000 && events.types().filter((type) => type === 'payment.waiting-card').length === seen; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  await call(socketPath, 'POST', '/v1/payments/cancel');
  return paying;
}

t.test('an amount past DE4 or above payments.maxAmount: a 400 naming it, and no payment starts', async (t) => {
  const { socketPath } = await startDaemonIn(t, tempDataDir(), { payments: { maxAmount: 100_000 } });
  const events = follow(socketPath);
  t.teardown(() => events.close());
  t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 1_000_000_000_000 }), {
    status: 400,
    json: {
      error: {
        code: 'CODPOS_USAGE_AMOUNT',
        message: 'amount 1000000000000 has more than the 12 digits an ISO 8583 amount (DE4) carries',
      },
    },
  });
  t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 100_001 }), {
    status: 400,
    json: {
      error: {
        code: 'CODPOS_USAGE_AMOUNT',
        message: /amount 100001 is above the largest card payment this terminal takes \(payments.maxAmount 100000\)/,
      },
    },
  });
  t.match(
    await acceptedThenCancelled(socketPath, events, { amount: 100_000 }),
    { status: 200, json: { outcome: 'cancelled' } },
    'the maximum itself is taken',
  );
  await events.until('payment.cancelled');
  const started = [...events.text().matchAll(/event: payment\.started\ndata: (.*)\n/g)].map(
    (m) => (JSON.parse(m[1]!) as { amount: number }).amount,
  );
  t.same(started, [100_000], 'only the payment that passed the checks started');
});

t.test(
  "a payment's waybill is checked like a waybill event's: S10 check digit, or the operator's pattern",
  async (t) => {
    const { socketPath } = await startDaemonIn(t, tempDataDir(), { workflow: { waybillPattern: 'CP[0-9]{6}' } });
    const events = follow(socketPath);
    t.teardown(() => events.close());
    t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR123456784CH' }), {
      status: 400,
      json: {
        error: {
          code: 'CODPOS_USAGE_WAYBILL',
          message: /^waybill RR123456784CH: S10 check digit is 4, the serial 12345678 gives 5/,
        },
      },
    });
    t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'XX1' }), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_WAYBILL', message: /nor the operator's format/ } },
    });
    t.match(await acceptedThenCancelled(socketPath, events, { amount: 2500, waybill: 'cp123456' }), {
      status: 200,
      json: { outcome: 'cancelled' },
    });
    t.match(
      events.text(),
      /event: payment\.started\ndata: \{[^\n]*"waybill":"CP123456"/,
      'the waybill as checked (upper case)',
    );
  },
);

t.test(
  "a task due in another currency than the terminal's: the payment and the delivery are refused, naming the waybill and both currencies",
  async (t) => {
    const { socketPath } = await startDaemonIn(t, tempDataDir(), { terminal: { currency: '978' } });
    t.match(await call(socketPath, 'POST', '/v1/tasks/refresh'), { status: 200 });
    const refusal = {
      code: 'CODPOS_USAGE_TASK_CURRENCY',
      message:
        'waybill RR123456785CH: its COD is due in USD (840) on the task list, but this terminal collects in EUR (978); have the task corrected by the back-end',
    };
    t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 2350, waybill: 'RR123456785CH' }), {
      status: 400,
      json: { error: refusal },
    });
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', {
        kind: 'delivery',
        waybill: 'RR123456785CH',
        cod: { method: 'cash', amount: 2350, tendered: 2500 },
      }),
      { status: 400, json: { error: refusal } },
    );
    t.match(
      await call(socketPath, 'POST', '/v1/waybills/events', { kind: 'pickup', waybill: 'RR111111115CH' }),
      { status: 200 },
      'a task without a currency is not refused',
    );
  },
);
