/**
 * A card payment through the daemon, as the screen app drives it: the daemon built as
 * codposd --sim builds it (every device and the acquirer simulated, a spool in a temporary
 * data directory), the local API over its Unix socket, the card inserted or swiped through
 * /v1/sim/card, the events followed on /v1/events, the receipt read back from the printer.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import { createDaemon, simulateEverything } from '../../../runtime/daemon.js';
import { apiSocketPath } from '../../../runtime/api/server.js';
import { createLogger } from '../../../runtime/log.js';
import { call, follow, startDaemon } from '../daemon-fixtures.js';

t.test(
  'insert a chip card when asked: approved with the PIN typed on the pad, events in order, receipt with the last four digits',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    t.match(await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' }), {
      status: 200,
      json: { customer: 'types a PIN' },
    });
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR123456785CH' });
    await events.until('payment.waiting-card');
    t.match(
      await call(socketPath, 'POST', '/v1/payments/card', { amount: 100 }),
      { status: 409, json: { error: { code: 'CODPOS_USAGE_BUSY' } } },
      'one payment at a time',
    );
    t.match(await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' }), { status: 200 });
    const paid = await paying;
    t.equal(paid.status, 200);
    t.match(paid.json, {
      outcome: 'approved',
      entry: 'chip',
      responseCode: '00',
      receiptPrinted: true,
      receipt: { panLast4: '0119' },
    });
    await events.until('payment.approved');
    const order = events
      .types()
      .filter((type) => type.startsWith('payment.') || type === 'pin.requested' || type === 'card.inserted');
    t.same(order, ['payment.started', 'payment.waiting-card', 'card.inserted', 'pin.requested', 'payment.approved']);
    t.match(events.text(), /event: payment\.approved\ndata: \{[^\n]*"panLast4":"0119"/);
    t.notMatch(events.text(), '4761739001010119', 'no PAN on the event stream');
    const printed = await call(socketPath, 'GET', '/v1/sim/printer');
    const lines = (printed.json.pages as string[][]).flat();
    t.ok(lines.includes('VISA CREDIT            **** 0119'), 'the receipt came out');
    t.ok(lines.includes('WAYBILL            RR123456785CH'));
    t.notMatch(JSON.stringify(printed.json), '4761739001010119');
    const status = await call(socketPath, 'GET', '/v1/status');
    t.match(status.json, { services: { payments: { state: 'up' }, uplink: { state: 'up' } } });
    // The back-end gets the payment for its COD reconciliation, keyed by the journal row.
    let records: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 200 && records.length === 0; i++) {
      records = (await call(socketPath, 'GET', '/v1/sim/backend')).json.records as Array<Record<string, unknown>>;
      if (records.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    t.match(records, [
      {
        id: paid.json.journalId,
        stream: 'transaction',
        payload: { waybill: 'RR123456785CH', amount: 2500, outcome: 'approved', state: 'approved', panLast4: '0119' },
      },
    ]);
    t.notMatch(JSON.stringify(records), '4761739001010119', 'no PAN to the back-end');
  },
);

t.test('a chip card swiped is asked to be inserted; then paid by chip. A bad amount is a 400 naming it', async (t) => {
  const { socketPath } = await startDaemon(t);
  const events = follow(socketPath);
  t.teardown(() => events.close());
  await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
  t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: 25.5 }), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_AMOUNT', message: /amount/ } },
  });
  const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 1800 });
  await events.until('payment.waiting-card');
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'swipe', card: 'visa-dda' });
  await events.until('payment.use-chip');
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  t.match((await paying).json, { outcome: 'approved', entry: 'chip' });
  t.ok(events.types().includes('card.swiped'));
});

t.test('the customer cancels the PIN: cancelled, nothing journaled, no receipt', async (t) => {
  const { socketPath } = await startDaemon(t);
  await call(socketPath, 'POST', '/v1/sim/pinpad', { cancel: true });
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
  t.match(paid.json, { outcome: 'cancelled', receiptPrinted: false });
  t.equal(paid.json.journalId, undefined);
  t.same((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages, []);
});

t.test(
  'end of day through the API: in balance, the approved payments become settled and the next batch opens',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    for (const amount of [2500, 1800]) {
      await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
      t.match((await call(socketPath, 'POST', '/v1/payments/card', { amount })).json, { outcome: 'approved' });
      await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
    }
    const settled = await call(socketPath, 'POST', '/v1/settlement');
    t.equal(settled.status, 200);
    t.match(settled.json, {
      batch: 1,
      inBalance: true,
      totals: { debitCount: 2, debitAmount: 4300, creditCount: 0, creditAmount: 0 },
      settled: 2,
      nextBatch: 2,
    });
    t.match(
      (await call(socketPath, 'POST', '/v1/settlement')).json,
      { batch: 2, inBalance: true, totals: { debitCount: 0 }, settled: 0, nextBatch: 3 },
      'an empty batch settles too',
    );
  },
);

t.test(
  'out of balance (the acquirer lost a payment): the batch is uploaded (0320 each), settled again, and closes; a payment without clearing data keeps it open',
  async (t) => {
    const { startLink, openSpool, TERMINAL } = await import('../host/fixtures.js');
    const { HostClient } = await import('../../../runtime/host/client.js');
    const { PaymentService } = await import('../../../runtime/payment/service.js');
    const { EventBus } = await import('../../../runtime/api/events.js');
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 5000 });
    const pan = '4761739001010119';
    const rows = [];
    for (const amount of [990, 1500]) {
      const row = spool.journal.begin({ amount, currency: '840', pan });
      await client.purchase({
        amount,
        card: { pan, expiry: '2812' },
        posEntryMode: '012',
        journal: { id: row.id, stan: row.stan },
      });
      rows.push(row);
    }
    t.ok(
      link.sim.forget(TERMINAL.terminalId, String(rows[0]!.stan).padStart(6, '0')),
      'the acquirer loses the first payment',
    );
    const events = new EventBus();
    const published: string[] = [];
    events.subscribe((event) => published.push(event.type));
    const payments = new PaymentService(validateConfig({}), createLogger({ level: 'silent' }), {
      devices: () => ({}),
      host: () => client,
      spool: () => spool,
      events,
    });
    await payments.start();
    const outcome = await payments.settle();
    t.match(outcome, {
      batch: 1,
      inBalance: true,
      uploaded: 2,
      settled: 2,
      nextBatch: 2,
      totals: { debitCount: 2, debitAmount: 2490 },
    });
    t.same(
      link.sim.received.map((r) => r.mti).slice(2),
      ['0500', '0320', '0320', '0500'],
      'settle, upload each payment, settle again',
    );
    t.equal(
      link.sim.received[3]!.original,
      '0200' + String(rows[0]!.stan).padStart(6, '0'),
      'the upload names the original purchase',
    );
    t.same(published, ['settlement.out-of-balance', 'settlement.closed']);
    t.equal(spool.journal.get(rows[0]!.id)!.state, 'settled');

    // A payment journaled as approved that never went through the host client has no clearing data.
    const lost = spool.journal.begin({ amount: 700, currency: '840', pan });
    spool.journal.transition(lost.id, 'approved', { responseCode: '00', authCode: '123456' });
    const stuck = await payments.settle();
    t.match(stuck, {
      batch: 2,
      inBalance: false,
      responseCode: '95',
      reason: /1 payment\(s\) of batch 2 have no clearing data/,
    });
    t.equal(spool.journal.get(lost.id)!.state, 'approved', 'nothing settled');
    t.match(payments.health(), { state: 'degraded', reason: /no card reader and no PIN pad/ });
  },
);

t.test(
  'the daemon stops while a payment waits for its card: the payment ends cancelled ("the terminal is stopping") and the stop completes',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-daemon-stop-'));
    const config = simulateEverything(validateConfig({ data: { dir }, emv: { cardWaitMs: 600_000 } }));
    const daemon = createDaemon(config, createLogger({ level: 'silent' }), '0.0.0-test');
    await daemon.start();
    const socketPath = apiSocketPath(config);
    const events = follow(socketPath);
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    events.close();
    await daemon.stop();
    t.match((await paying).json, { outcome: 'cancelled', reason: 'the terminal is stopping' });
  },
);

t.test(
  'void an approved payment through the API: the acquirer takes it off its book, the batch settles empty; a second void is refused',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount: 2500, waybill: 'RR123456785CH' });
    const originalId = paid.json.journalId as string;
    const voided = await call(socketPath, 'POST', '/v1/payments/void', { journalId: originalId });
    t.equal(voided.status, 200);
    t.match(voided.json, { originalId, outcome: 'approved', responseCode: '00', journalId: /./ });
    await events.until('payment.voided');
    t.match(await call(socketPath, 'POST', '/v1/payments/void', { journalId: originalId }), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_VOID', message: /in state voided/ } },
    });
    t.match(await call(socketPath, 'POST', '/v1/payments/void', { journalId: 'nope' }), {
      status: 400,
      json: { error: { message: /no payment nope/ } },
    });
    const settled = await call(socketPath, 'POST', '/v1/settlement');
    t.match(
      settled.json,
      { inBalance: true, totals: { debitCount: 0, debitAmount: 0 } },
      "the voided purchase is in neither side's totals",
    );
    const report = await call(socketPath, 'GET', '/v1/reports/day');
    t.same(report.json.unmatchedPayments, [], 'a voided payment is not waiting for a delivery');
  },
);
