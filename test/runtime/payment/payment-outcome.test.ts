/**
 * What a payment's outcome carries beyond approved/declined, and where it goes: a partial
 * approval's approved amount and what remains due (answer, event, back-end record, receipt,
 * GET /v1/payments/{journalId}); an approval with identification (08) asks for an ID check;
 * each payment is one log line (the daemon's JSON log) with the card masked; a payment that
 * ends in an error logs its code, message and stack.
 */
import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { validateConfig } from '../../../config/load.js';
import { PosError } from '../../../config/errors.js';
import type { BuiltDevices } from '../../../drivers/factory.js';
import { PrinterDriver } from '../../../drivers/printer/driver.js';
import { PrinterSim } from '../../../drivers/printer/sim.js';
import { memoryPair } from '../../../drivers/transport/memory.js';
import { EventBus, type DaemonEvent } from '../../../runtime/api/events.js';
import type { HostClient } from '../../../runtime/host/client.js';
import type { Logger } from '../../../runtime/log.js';
import type { CardPaymentDeps, CardPaymentRequest, CardPaymentResult } from '../../../runtime/payment/card-payment.js';
import { PaymentService } from '../../../runtime/payment/service.js';
import { STREAMS } from '../../../spool/index.js';
import { call } from '../daemon-fixtures.js';
import { capturedLog, openSpool } from '../host/fixtures.js';
import { eventually, startDaemonIn, tempDataDir } from './payment-fixtures.js';
import type { payBySwipe } from '../../../runtime/payment/swipe-payment.js';

const PAN = '4761739001010119';

/** The payment service with a card in the reader, a printer simulator, and a chip payment the test scripts. */
async function serviceWith(
  t: Test,
  chip: (deps: CardPaymentDeps, request: CardPaymentRequest) => Promise<CardPaymentResult>,
  log: Logger = capturedLog().log,
  swipe?: typeof payBySwipe,
) {
  const spool = await openSpool(t);
  const reader = Object.assign(new EventEmitter(), {
    status: async () => ({ slot: 'present', chip: true }),
    powerOn: async () => Buffer.alloc(0),
    powerOff: async () => undefined,
    transmit: async () => Buffer.from('9000', 'hex'),
  });
  const pinpad = {
    requestPin: async () => ({ outcome: 'cancelled', reason: 'not scripted' }),
    cancel: async () => undefined,
  };
  const { host, device } = memoryPair('printer');
  const printerSim = new PrinterSim(device);
  const printer = new PrinterDriver(host, { statusPollMs: 5 });
  await printerSim.start();
  await printer.start();
  t.teardown(() => printer.stop());
  const devices = {
    cardReader: { driver: reader },
    pinpad: { driver: pinpad },
    printer: { driver: printer, sim: printerSim },
  } as unknown as BuiltDevices;
  const events = new EventBus();
  const published: DaemonEvent[] = [];
  events.subscribe((event) => published.push(event));
  const service = new PaymentService(validateConfig({}), log, {
    devices: () => devices,
    host: () => ({}) as HostClient,
    spool: () => spool,
    events,
    payByChip: chip,
    ...(swipe ? { payBySwipe: swipe } : {}),
  });
  await service.start();
  return { service, spool, published, printerSim, reader };
}

/** A chip payment the issuer approved with `responseCode` for `approvedAmount`, journaled as the host client would. */
function approvedBy(responseCode: string, approvedAmount: number | undefined, extra: Partial<CardPaymentResult> = {}) {
  return async (deps: CardPaymentDeps, request: CardPaymentRequest): Promise<CardPaymentResult> => {
    const row = deps.journal.begin({
      amount: request.amount,
      currency: deps.currency,
      pan: PAN,
      ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
    });
    // As the host client records an approval: a partial one with its approved amount.
    deps.journal.transition(row.id, 'approved', {
      responseCode,
      authCode: '246810',
      ...(approvedAmount !== undefined && approvedAmount < request.amount ? { approvedAmount } : {}),
    });
    return {
      outcome: 'approved',
      reason: 'approved online',
      journalId: row.id,
      approvedOffline: false,
      entry: 'chip',
      responseCode,
      authCode: '246810',
      signatureRequired: false,
      ...(approvedAmount !== undefined ? { approvedAmount } : {}),
      receipt: { panLast4: '0119', aid: 'A0000000031010', label: 'VISA CREDIT', tvr: '0000008000', tsi: 'E800' },
      ...extra,
    };
  };
}

t.test(
  'a partial approval (10): the approved amount and what remains due in the answer, the event, the back-end record, the receipt and the payment as the API shows it',
  async (t) => {
    const { service, spool, published, printerSim } = await serviceWith(t, approvedBy('10', 1500));
    const paid = await service.pay({ amount: 2500, waybill: 'RR123456785CH' });
    t.match(paid, {
      outcome: 'approved',
      responseCode: '10',
      approvedAmount: 1500,
      remainingDue: 1000,
      receiptPrinted: true,
    });
    t.match(published.find((event) => event.type === 'payment.approved')?.data, {
      approvedAmount: 1500,
      remainingDue: 1000,
      journalId: paid.journalId,
    });
    const record = spool.outbox.list({ stream: STREAMS.transaction })[0];
    t.match(record?.payload, {
      journalId: paid.journalId,
      amount: 2500,
      approvedAmount: 1500,
      remainingDue: 1000,
      waybill: 'RR123456785CH',
    });
    t.match(service.payment(paid.journalId), {
      amount: 2500,
      approvedAmount: 1500,
      remainingDue: 1000,
      state: 'approved',
    });
    const lines = printerSim.pages.flat();
    t.ok(
      lines.some((line) => /^REQUESTED +USD 25\.00$/.test(line)),
      'what was asked',
    );
    t.ok(
      lines.some((line) => /^AMOUNT +USD 15\.00$/.test(line)),
      'what the card paid',
    );
    t.ok(
      lines.some((line) => /^BALANCE DUE +USD 10\.00$/.test(line)),
      'what is still due',
    );
  },
);

t.test(
  'a full approval: the approved amount is the amount, nothing remains due, the receipt has one amount line',
  async (t) => {
    const { service, printerSim } = await serviceWith(t, approvedBy('00', undefined));
    t.match(await service.pay({ amount: 2500 }), { approvedAmount: 2500, remainingDue: 0 });
    const lines = printerSim.pages.flat();
    t.ok(lines.some((line) => /^AMOUNT +USD 25\.00$/.test(line)));
    t.notOk(lines.some((line) => line.startsWith('BALANCE DUE') || line.startsWith('REQUESTED')));
  },
);

t.test(
  'approved with identification (08): payment.check-id for the screen app, and the receipt says the ID was checked',
  async (t) => {
    const { service, published, printerSim } = await serviceWith(
      t,
      approvedBy('08', undefined, { identificationRequired: true }),
    );
    const paid = await service.pay({ amount: 2500 });
    t.match(paid, { outcome: 'approved', identificationRequired: true });
    t.match(published.find((event) => event.type === 'payment.check-id')?.data, {
      journalId: paid.journalId,
      reason: /check the cardholder's ID/,
    });
    t.ok(printerSim.pages.flat().includes('CARDHOLDER ID CHECKED'));
  },
);

t.test(
  'a payment that ends in an error: logged with its code, message and stack; its idempotency key may be used again',
  async (t) => {
    const captured = capturedLog();
    let attempts = 0;
    const { service } = await serviceWith(
      t,
      async () => {
        attempts++;
        throw new PosError('CODPOS_SPOOL_FULL', 'the spool is full while journaling a card transaction');
      },
      captured.log,
    );
    await t.rejects(service.pay({ amount: 2500 }, { idempotencyKey: 'k-1' }), { code: 'CODPOS_SPOOL_FULL' });
    const line = captured.lines.find((entry) => entry.msg === 'card payment ended in an error') as
      { err: Record<string, string>; amount: number } | undefined;
    t.match(line, {
      level: 'error',
      amount: 2500,
      err: {
        type: 'PosError',
        code: 'CODPOS_SPOOL_FULL',
        message: 'the spool is full while journaling a card transaction',
        stack: /^PosError: the spool is full[^\n]*\n\s+at /,
      },
    });
    await t.rejects(service.pay({ amount: 2500 }, { idempotencyKey: 'k-1' }), { code: 'CODPOS_SPOOL_FULL' });
    t.equal(attempts, 2, 'nothing was journaled under the key: asking again is a new attempt, not a replay');
  },
);

t.test(
  "each payment is one log line with what a helpdesk asks for, the card masked 6+4, and no full PAN anywhere in the daemon's log",
  async (t) => {
    const captured = capturedLog();
    const { socketPath } = await startDaemonIn(t, tempDataDir(), {}, captured.log);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR123456785CH' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
    await call(socketPath, 'POST', '/v1/sim/pinpad', { cancel: true });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const cancelled = await call(socketPath, 'POST', '/v1/payments/card', { amount: 1800 });
    t.match(cancelled.json, { outcome: 'cancelled' });
    const lines = captured.lines.filter((entry) => entry.msg === 'card payment');
    t.equal(lines.length, 2, 'one line per payment');
    const fields = [
      'journalId',
      'amount',
      'approvedAmount',
      'entry',
      'outcome',
      'responseCode',
      'tvr',
      'tsi',
      'cvmResult',
      'odaMethod',
      'panMasked',
    ];
    for (const line of lines)
      t.same(
        fields.filter((field) => !(field in line)),
        [],
        'every field, null when the payment has none',
      );
    t.match(lines[0], {
      level: 'info',
      journalId: paid.json.journalId,
      amount: 2500,
      approvedAmount: 2500,
      entry: 'chip',
      outcome: 'approved',
      responseCode: '00',
      tvr: /^[0-9A-F]{10}$/,
      tsi: /^[0-9A-F]{4}$/,
      panMasked: '476173******0119',
      waybill: 'RR123456785CH',
    });
    t.match(lines[1], {
      journalId: null,
      amount: 1800,
      approvedAmount: null,
      outcome: 'cancelled',
      reason: /PIN entry cancelled/,
    });
    t.notMatch(captured.text(), PAN, 'no full PAN in the log');
    t.match(captured.text(), '476173******0119', 'control: the masked card is there to be found');
  },
);

t.test(
  'a chip payment that failed without a chip failure (a spool or PIN pad fault) ends there: no wait for a fallback swipe',
  async (t) => {
    const failed = async (): Promise<CardPaymentResult> => ({
      outcome: 'failed',
      reason: 'the payment failed: the spool is full',
      approvedOffline: false,
      signatureRequired: false,
    });
    const { service, published } = await serviceWith(t, failed);
    const paid = await service.pay({ amount: 2500 });
    t.match(paid, { outcome: 'failed', reason: /spool is full/ });
    t.notOk(
      published.some((event) => event.type === 'payment.chip-failed'),
      'the stripe was not unlocked',
    );
    t.equal(published.filter((event) => event.type === 'payment.waiting-card').length, 0, 'nobody waited for a swipe');
  },
);

t.test(
  'a chip failure unlocks the fallback swipe of that card: the swipe is paid with the chip failure it names',
  async (t) => {
    const chipFailure = { reason: 'chip mute', cardKey: 'k1' };
    const mute = async (): Promise<CardPaymentResult> => ({
      outcome: 'failed',
      reason: 'the chip failed',
      approvedOffline: false,
      signatureRequired: false,
      chipFailure,
    });
    let swipedWith: unknown;
    const fallback: typeof payBySwipe = async (_deps, _request, _swipe, options) => {
      swipedWith = options?.chipFailure;
      return {
        outcome: 'approved',
        reason: 'approved online (chip fallback)',
        approvedOffline: false,
        signatureRequired: true,
        entry: 'fallback',
      };
    };
    const { service, published, reader } = await serviceWith(t, mute, capturedLog().log, fallback);
    const paying = service.pay({ amount: 2500 });
    await eventually(() => published.some((event) => event.type === 'payment.chip-failed'), 'the chip failure');
    reader.emit('swipe', { track2: ';4761739001010119=30122011143800000?' });
    t.match(await paying, { outcome: 'approved', entry: 'fallback' });
    t.same(swipedWith, chipFailure, 'the swipe knows which card failed');
  },
);
