/**
 * A payment is cancellable until the card has answered GENERATE AC: through the API
 * (POST /v1/payments/cancel), by the client going away while it waits (its connection closes),
 * and not once the card has answered (409 naming the journal row; the payment runs to its end).
 * The daemon ones run codposd --sim's daemon and drive it as the screen app does; the last ones
 * run the payment service on a scripted card that stops where the test wants it.
 */
import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { validateConfig } from '../../../config/load.js';
import { isPosError } from '../../../config/errors.js';
import type { BuiltDevices } from '../../../drivers/factory.js';
import { EventBus } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { PaymentService } from '../../../runtime/payment/service.js';
import type { CardPaymentResult } from '../../../runtime/payment/card-payment.js';
import type { HostClient } from '../../../runtime/host/client.js';
import { call, follow, startDaemon } from '../daemon-fixtures.js';
import { openSpool } from '../host/fixtures.js';
import { callWithHeaders } from './payment-fixtures.js';

t.test(
  'cancelled while it waits for the card: answered cancelled, the event says why, nothing journaled; a card inserted after it is not charged',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    t.match(
      await call(socketPath, 'POST', '/v1/payments/cancel'),
      { status: 404, json: { error: { code: 'CODPOS_USAGE_NO_PAYMENT', message: /no card payment is in progress/ } } },
      'nothing to cancel',
    );
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    t.match(await call(socketPath, 'POST', '/v1/payments/cancel'), {
      status: 200,
      json: { cancelled: true, reason: /cancelled on request/ },
    });
    t.match(await paying, {
      status: 200,
      json: { outcome: 'cancelled', reason: /cancelled on request/, receiptPrinted: false },
    });
    await events.until('payment.cancelled');
    t.match(events.text(), /event: payment\.cancelled\ndata: \{[^\n]*"reason":"the payment was cancelled on request/);
    // The courier's Ctrl-C was 3 s before the card: the card now goes in, and nothing happens with it.
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    t.match(
      await call(socketPath, 'GET', '/v1/payments'),
      { status: 200, json: { payments: [] } },
      'nothing journaled',
    );
    t.notOk(events.types().includes('pin.requested'), 'the card was never read');
    // The next payment is not refused as busy, and pays the card that is in.
    t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 }), {
      status: 200,
      json: { outcome: 'approved' },
    });
  },
);

t.test(
  'cancelled while the customer is asked for the PIN: the PIN pad entry ends, cancelled, nothing journaled or printed',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await call(socketPath, 'POST', '/v1/sim/pinpad', {}); // the customer does not type
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('pin.requested');
    t.match(await call(socketPath, 'POST', '/v1/payments/cancel'), { status: 200, json: { cancelled: true } });
    t.match((await paying).json, { outcome: 'cancelled', reason: /cancelled on request/ });
    t.equal((await paying).json.journalId, undefined);
    t.match(await call(socketPath, 'GET', '/v1/payments'), { json: { payments: [] } });
    t.same((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages, []);
  },
);

t.test(
  'a client that goes away while its payment waits for the card cancels it; the next payment is not refused as busy',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    const abandoned = callWithHeaders(socketPath, 'POST', '/v1/payments/card', { amount: 2500 }, {});
    abandoned.catch(() => undefined);
    await events.until('payment.waiting-card');
    abandoned.sent.destroy();
    await events.until('payment.cancelled');
    t.match(
      events.text(),
      /event: payment\.cancelled\ndata: \{[^\n]*"reason":"the client that asked for the payment went away/,
    );
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 1800 }), {
      status: 200,
      json: { outcome: 'approved' },
    });
    const listed = (await call(socketPath, 'GET', '/v1/payments')).json.payments as Array<{ amount: number }>;
    t.same(
      listed.map((p) => p.amount),
      [1800],
      'only the second payment was journaled',
    );
  },
);

/** The payment service on a card that does what the test scripts (a scripted chip payment). */
async function scriptedService(
  t: Test,
  chip: NonNullable<ConstructorParameters<typeof PaymentService>[2]['payByChip']>,
) {
  const spool = await openSpool(t);
  const reader = Object.assign(new EventEmitter(), {
    status: async () => ({ slot: 'present', chip: true }),
    powerOn: async () => Buffer.from('3B00', 'hex'),
    powerOff: async () => undefined,
    transmit: async () => Buffer.from('9000', 'hex'),
  });
  const pinpad = {
    requestPin: async () => ({ outcome: 'cancelled', reason: 'not scripted' }),
    cancel: async () => undefined,
  };
  const devices = { cardReader: { driver: reader }, pinpad: { driver: pinpad } } as unknown as BuiltDevices;
  const events = new EventBus();
  const service = new PaymentService(validateConfig({}), createLogger({ level: 'silent' }), {
    devices: () => devices,
    host: () => ({}) as HostClient,
    spool: () => spool,
    events,
    payByChip: chip,
  });
  await service.start();
  return { service, spool, events };
}

function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

t.test(
  'once the journal row is begun (the request is leaving): 409 naming the row, and the payment runs to its approval',
  async (t) => {
    const hostAnswers = gate();
    const begun = gate();
    const { service } = await scriptedService(t, async (deps, request): Promise<CardPaymentResult> => {
      const row = deps.journal.begin({ amount: request.amount, currency: deps.currency, pan: '4761739001010119' });
      begun.open();
      await hostAnswers.opened;
      deps.journal.transition(row.id, 'approved', { responseCode: '00', authCode: '123456' });
      return {
        outcome: 'approved',
        reason: 'approved online',
        journalId: row.id,
        approvedOffline: false,
        signatureRequired: false,
        entry: 'chip',
        responseCode: '00',
        authCode: '123456',
        receipt: { panLast4: '0119' },
      };
    });
    const paying = service.pay({ amount: 2500 });
    await begun.opened;
    const refused = await service.cancel().then(
      () => undefined,
      (error: unknown) => error,
    );
    t.ok(isPosError(refused, 'CODPOS_USAGE_NOT_CANCELLABLE'), 'too late to cancel');
    t.match(refused, {
      message: /can no longer be cancelled: the card has answered \(journal [^)]+\).*voided/,
      details: { journalId: /./ },
    });
    hostAnswers.open();
    const paid = await paying;
    t.match(paid, { outcome: 'approved' });
    t.equal(
      (refused as { details: { journalId: string } }).details.journalId,
      paid.journalId,
      'the 409 named the payment',
    );
  },
);

t.test('once the card has answered GENERATE AC (before any journal row): 409, the card decides', async (t) => {
  const kernelGoesOn = gate();
  const answered = gate();
  let signalSeen: AbortSignal | undefined;
  const { service } = await scriptedService(t, async (deps, request): Promise<CardPaymentResult> => {
    signalSeen = request.signal;
    await deps.card.transmit(Buffer.from('80AE80001D', 'hex'));
    answered.open();
    await kernelGoesOn.opened;
    return {
      outcome: 'declined',
      reason: 'declined offline by the card (AAC)',
      approvedOffline: false,
      signatureRequired: false,
      entry: 'chip',
      responseCode: 'Z1',
    };
  });
  const paying = service.pay({ amount: 2500 });
  await answered.opened;
  await t.rejects(service.cancel(), { code: 'CODPOS_USAGE_NOT_CANCELLABLE' });
  t.equal(signalSeen?.aborted, false, 'the chip payment was not told to stop');
  kernelGoesOn.open();
  t.match(await paying, { outcome: 'declined', responseCode: 'Z1' });
});

t.test(
  'before the card has answered: the chip payment gets the cancel on its signal, and the answer is its cancelled outcome',
  async (t) => {
    const started = gate();
    const { service, spool } = await scriptedService(t, async (_deps, request): Promise<CardPaymentResult> => {
      started.open();
      await new Promise((resolve) => request.signal!.addEventListener('abort', resolve, { once: true }));
      return {
        outcome: 'cancelled',
        reason: `the kernel stopped: ${String(request.signal!.reason)}`,
        approvedOffline: false,
        signatureRequired: false,
      };
    });
    const paying = service.pay({ amount: 2500 });
    await started.opened;
    t.match(await service.cancel(), {
      cancelled: true,
      reason: /the kernel stopped: the payment was cancelled on request/,
    });
    t.match(await paying, { outcome: 'cancelled', receiptPrinted: false });
    t.same(spool.journal.list(), []);
    await t.rejects(service.cancel(), { code: 'CODPOS_USAGE_NO_PAYMENT' }, 'it is over');
  },
);
