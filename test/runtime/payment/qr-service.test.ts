/**
 * The QR payment flow end to end against the real PSP simulator over TCP: MPM
 * paid (the simulator's wallet scans the payload the terminal built), CPM paid,
 * declined, the notification delivered and the notification lost (resolved by query), paid
 * after the terminal gave up (the row ends paid, the courier is told, one order, a second
 * payment refused), a refund, and the PSP not answering the give-up (unknown, then resolved by
 * the resolver). Each move's back-end record and log line are checked too.
 */
import t from 'tap';
import { parseMpm } from '../../../emv/qr/index.js';
import { orderRefOf } from '../../../runtime/payment/qr-order-ref.js';
import { QR_GIVE_UP_REASONS } from '../../../runtime/payment/qr-service.js';
import { STREAMS } from '../../../spool/index.js';
import { until } from '../host/fixtures.js';
import { qrHarness, qrStates, WAYBILLS, type QrHarness } from './qr-fixtures.js';

function qrRecords(h: QrHarness, id: string): Array<{ id: string; payload: Record<string, unknown> }> {
  return h.spool.outbox
    .list({ stream: STREAMS.transaction })
    .filter((record) => record.id.startsWith(`qr-${id}-`))
    .map((record) => ({ id: record.id, payload: record.payload as Record<string, unknown> }));
}

t.test('MPM: the code the terminal built is scanned by the wallet and paid', async (t) => {
  const h = await qrHarness(t);
  const answer = await h.service.pay({ mode: 'merchant', amount: 2350, waybill: WAYBILLS[0] });
  t.equal(answer.state, 'pending', 'answered before the wallet paid');
  t.ok(answer.payload, 'with the payload to show');
  const mpm = parseMpm(answer.payload!);
  t.equal(mpm.amountMinor, 2350);
  t.equal(mpm.currency, '978');
  t.equal(mpm.pointOfInitiation, 'dynamic');
  t.equal(mpm.countryCode, 'CH');
  t.equal(mpm.merchantName, 'CODPOS TEST COURIER');
  t.equal(mpm.merchantCity, 'ZURICH');
  t.equal(mpm.merchantCategoryCode, '4215', 'terminal.merchantCategoryCode when qr.merchant.mcc is not set');
  t.equal(mpm.merchantAccounts[0]?.id, '26');
  t.equal(mpm.merchantAccounts[0]?.globallyUniqueIdentifier, 'org.codpos.simwallet');
  t.same(mpm.additionalData, {
    billNumber: WAYBILLS[0],
    referenceLabel: orderRefOf(answer.id),
    terminalLabel: 'CODPOS01',
  });
  t.equal(h.spool.qrJournal.get(answer.id)?.payload, answer.payload, 'the payload is on the row');
  t.ok(h.spool.qrJournal.get(answer.id)?.pspOrderId, "the PSP's order id is on the row");

  const scanned = h.sim.wallet.scan(answer.payload!, { outcome: 'pay' });
  t.equal(scanned.outcome, 'paid', scanned.reason ?? 'the wallet paid');
  await h.reaches(answer.id, 'paid');
  const row = h.spool.qrJournal.get(answer.id)!;
  t.equal(row.wallet, 'simwallet');
  t.same(
    qrStates(h.events, answer.id).filter((state) => state !== 'waiting'),
    ['show-code', 'paid'],
    'the screen was told to show the code, then paid',
  );
  const shown = h.events.find((event) => event.type === 'payment.qr' && event.data.state === 'show-code')!;
  t.equal(shown.data.payload, answer.payload);
  const records = qrRecords(h, answer.id);
  t.same(
    records.map((record) => record.id),
    [`qr-${answer.id}-paid`],
  );
  t.match(records[0]!.payload, {
    method: 'qr',
    journalId: answer.id,
    waybill: WAYBILLS[0],
    amount: 2350,
    currency: '978',
    state: 'paid',
    wallet: 'simwallet',
    pspOrderId: row.pspOrderId,
    terminalId: 'CODPOS01',
  });
  t.ok(
    h.logLines.some((line) => line.includes(answer.id) && line.includes('"to":"paid"')),
    'the move is logged with the row id',
  );
  t.equal(h.sim.book.get(orderRefOf(answer.id))?.order.status, 'paid');
});

t.test('CPM: the consignee code is presented and paid; it is never stored or logged', async (t) => {
  const h = await qrHarness(t);
  const code = h.sim.wallet.consumerCode({ kind: 'token', outcome: 'pay' });
  const answer = await h.service.pay({ mode: 'consumer', amount: 1200, waybill: WAYBILLS[1], consumerCode: code });
  t.equal(answer.state, 'paid', 'answered with the outcome');
  t.equal(answer.wallet, 'simwallet');
  const row = h.spool.qrJournal.get(answer.id)!;
  t.equal(row.mode, 'consumer');
  t.equal(row.state, 'paid');
  const everything = JSON.stringify([row, h.spool.qrJournal.history(answer.id), qrRecords(h, answer.id), h.events]);
  t.notOk(everything.includes(code), 'not on the row, its history, the back-end record or the events');
  t.notOk(h.logLines.join('').includes(code), 'not in the log');
  t.notOk(h.logLines.join('').includes(code.slice(-12)), 'not even its last digits');
});

t.test('CPM the wallet holds (its user never confirms): pending, waited for, then cancelled at the PSP', async (t) => {
  const h = await qrHarness(t, { waitMs: 150 });
  const code = h.sim.wallet.consumerCode({ kind: 'token', outcome: 'ignore' });
  const answer = await h.service.pay({ mode: 'consumer', amount: 1300, waybill: WAYBILLS[2], consumerCode: code });
  t.equal(answer.state, 'pending', 'answered while the wallet asks its user');
  await h.reaches(answer.id, 'cancelled');
  t.same(qrStates(h.events, answer.id), ['waiting', 'cancelled'], 'waited for like a code shown');
  t.match(h.spool.qrJournal.get(answer.id)?.reason, /cancelled at the PSP/);
  const order = h.sim.book.list().find((entry) => entry.order.waybill === WAYBILLS[2])!.order;
  t.equal(order.status, 'cancelled', 'nothing left open at the PSP');
});

t.test('declined: by the wallet (CPM) and by the PSP (MPM)', async (t) => {
  const h = await qrHarness(t);
  const code = h.sim.wallet.consumerCode({ kind: 'token', outcome: 'decline' });
  const cpm = await h.service.pay({ mode: 'consumer', amount: 900, waybill: WAYBILLS[0], consumerCode: code });
  t.equal(cpm.state, 'declined');
  t.match(cpm.reason, /declined at the PSP: declined in the consignee's wallet/);

  h.sim.setNextBehaviour({ kind: 'decline' });
  const mpm = await h.service.pay({ mode: 'merchant', amount: 901, waybill: WAYBILLS[1] });
  t.equal(h.sim.wallet.scan(mpm.payload!, { outcome: 'pay' }).outcome, 'declined');
  await h.reaches(mpm.id, 'declined');
  t.match(h.spool.qrJournal.get(mpm.id)?.reason, /risk rule/);
  t.same(
    qrRecords(h, mpm.id).map((record) => record.payload.state),
    ['declined'],
  );
  t.same(qrStates(h.events, mpm.id).at(-1), 'declined');
});

t.test('a notification ends the wait without a query; a lost one is made up by the query', async (t) => {
  t.test('delivered: the row is paid although no query is due for a minute', async (t) => {
    const h = await qrHarness(t, { notifications: true, queryIntervalMs: 60_000 });
    const answer = await h.service.pay({ mode: 'merchant', amount: 500, waybill: WAYBILLS[2] });
    h.sim.wallet.scan(answer.payload!, { outcome: 'pay' });
    await h.reaches(answer.id, 'paid');
    t.match(h.spool.qrJournal.history(answer.id).at(-1)?.reason, /notification/);
    // The simulator records the delivery when the terminal's answer has come back.
    await until(() => h.sim.notifications.length > 0, 'the notification to be recorded');
    t.match(h.sim.notifications, [{ orderRef: orderRefOf(answer.id), status: 'paid', delivered: 200 }]);
  });

  t.test('lost: the query finds it paid', async (t) => {
    const h = await qrHarness(t, { notifications: true, queryIntervalMs: 25 });
    h.sim.setNextBehaviour({ kind: 'lose-notification' });
    const answer = await h.service.pay({ mode: 'merchant', amount: 501, waybill: WAYBILLS[2] });
    h.sim.wallet.scan(answer.payload!, { outcome: 'pay' });
    await h.reaches(answer.id, 'paid');
    t.match(h.spool.qrJournal.history(answer.id).at(-1)?.reason, /query/);
    t.same(h.sim.notifications, [], 'the PSP sent nothing');
  });

  t.test('a forged notification is refused and logged without its body', async (t) => {
    const h = await qrHarness(t);
    const body = Buffer.from(JSON.stringify({ orderRef: 'x', status: 'paid', secret: 'BODY-MARKER' }));
    t.throws(() => h.service.notify({ 'x-psp-signature': 'AAAA' }, body), { code: 'CODPOS_USAGE_QR_NOTIFICATION' });
    t.ok(h.logLines.some((line) => line.includes('PSP notification was refused')));
    t.notOk(h.logLines.join('').includes('BODY-MARKER'));
  });
});

t.test('the wallet pays as the terminal gives up: the row ends paid, the courier is told, nothing twice', async (t) => {
  const h = await qrHarness(t);
  h.sim.setNextBehaviour({ kind: 'pay-after-give-up', cancel: 'answer' });
  const answer = await h.service.pay({ mode: 'merchant', amount: 3100, waybill: WAYBILLS[3] });
  const view = await h.service.cancel(answer.id);
  t.equal(view.payment.state, 'paid', 'the cancel was answered paid: the row is paid');
  const last = h.events.filter((event) => event.type === 'payment.qr' && event.data.id === answer.id).at(-1)!;
  t.match(last.data, { state: 'paid', lateAfterGiveUp: true }, 'the event tells the courier it is paid after all');
  t.ok(h.logLines.some((line) => line.includes('paid after the terminal gave up') && line.includes(answer.id)));
  t.equal(h.sim.book.list().filter((entry) => entry.order.waybill === WAYBILLS[3]).length, 1, 'one order at the PSP');
  await t.rejects(h.service.pay({ mode: 'merchant', amount: 3100, waybill: WAYBILLS[3] }), {
    code: 'CODPOS_USAGE_QR_ALREADY_PAID',
    details: { journalId: answer.id },
  });
  t.equal(h.spool.qrJournal.list({ waybill: WAYBILLS[3] }).length, 1, 'no second row');
  t.equal(h.sim.book.list().filter((entry) => entry.order.waybill === WAYBILLS[3]).length, 1, 'no second order');
});

t.test(
  'paid after the terminal gave up, but the courier had already collected another way: refunded at once',
  async (t) => {
    t.test('the PSP refunds: the row ends refunded, its reason says why', async (t) => {
      const delivered = new Set<string>([WAYBILLS[2]]);
      const h = await qrHarness(t, { deliveryRecorded: (waybill) => delivered.has(waybill) });
      h.sim.setNextBehaviour({ kind: 'pay-after-give-up', cancel: 'answer' });
      const answer = await h.service.pay({ mode: 'merchant', amount: 4200, waybill: WAYBILLS[2] });
      await h.service.cancel(answer.id);
      await h.reaches(answer.id, 'refunded');
      const row = h.spool.qrJournal.get(answer.id)!;
      t.equal(row.refundedAmount, 4200, 'all of it');
      t.match(row.reason, /paid twice: waybill EE123456785DE was already delivered/);
      t.same(qrStates(h.events, answer.id), ['show-code', 'waiting', 'paid', 'refunded']);
      const order = h.sim.book.list().find((entry) => entry.order.waybill === WAYBILLS[2])!.order;
      t.equal(order.status, 'refunded', 'refunded at the PSP');
      t.same(
        qrRecords(h, answer.id).map((record) => record.payload.state),
        ['paid', 'refunded'],
        'the back-end hears both',
      );
      t.ok(h.logLines.some((line) => line.includes('QR payment paid twice: refunding it')));
    });

    t.test('not delivered yet: the payment stands (the courier is told it is paid)', async (t) => {
      const h = await qrHarness(t, { deliveryRecorded: () => false });
      h.sim.setNextBehaviour({ kind: 'pay-after-give-up', cancel: 'answer' });
      const answer = await h.service.pay({ mode: 'merchant', amount: 4200, waybill: WAYBILLS[2] });
      await h.service.cancel(answer.id);
      t.equal(h.spool.qrJournal.get(answer.id)?.state, 'paid');
    });

    t.test(
      'the PSP cannot be reached for the refund: the row stays paid, the refund owed is logged and told',
      async (t) => {
        const psp: { sim?: { stop(): Promise<void> } } = {};
        const h = await qrHarness(t, {
          deliveryRecorded: () => {
            // The PSP goes away the moment the late payment is seen: the refund cannot reach it.
            void psp.sim!.stop();
            return true;
          },
        });
        psp.sim = h.sim;
        h.sim.setNextBehaviour({ kind: 'pay-after-give-up', cancel: 'answer' });
        const answer = await h.service.pay({ mode: 'merchant', amount: 4200, waybill: WAYBILLS[2] });
        await h.service.cancel(answer.id);
        await until(
          () => h.events.some((event) => event.type === 'payment.qr.refund-owed'),
          'the refund owed to be told',
        );
        t.equal(h.spool.qrJournal.get(answer.id)?.state, 'paid', 'booked as it stands at the PSP');
        t.match(h.events.find((event) => event.type === 'payment.qr.refund-owed')?.data, {
          id: answer.id,
          waybill: WAYBILLS[2],
          amount: 4200,
        });
        t.ok(h.logLines.some((line) => line.includes('paid twice and not refunded') && line.includes(answer.id)));
      },
    );
  },
);

t.test('the courier gives up and the PSP cancels; the wait runs out and the PSP cancels', async (t) => {
  const h = await qrHarness(t, { waitMs: 150 });
  const timedOut = await h.service.pay({ mode: 'merchant', amount: 700, waybill: WAYBILLS[0] });
  await h.reaches(timedOut.id, 'cancelled');
  t.match(h.spool.qrJournal.get(timedOut.id)?.reason, /cancelled at the PSP/);
  t.equal(h.spool.qrJournal.history(timedOut.id).at(-1)?.to, 'cancelled');
  t.equal(h.sim.book.get(orderRefOf(timedOut.id))?.order.status, 'cancelled');
  t.ok(
    h.logLines.some((line) => line.includes(QR_GIVE_UP_REASONS.timeout)),
    'the reason is logged',
  );
  t.same(qrStates(h.events, timedOut.id), ['show-code', 'waiting', 'cancelled']);
  await t.rejects(h.service.cancel(timedOut.id), { code: 'CODPOS_USAGE_QR_NOT_CANCELLABLE' });
  // The waybill may be paid again once its payment is cancelled.
  const again = await h.service.pay({ mode: 'merchant', amount: 700, waybill: WAYBILLS[0] });
  t.equal(again.state, 'pending');
});

t.test('a second code for a waybill with one outstanding is refused, naming it and what the PSP says', async (t) => {
  const h = await qrHarness(t);
  const first = await h.service.pay({ mode: 'merchant', amount: 800, waybill: WAYBILLS[1] });
  const refused = await h.service.pay({ mode: 'merchant', amount: 800, waybill: WAYBILLS[1] }).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.match(refused, { code: 'CODPOS_SPOOL_QR_OUTSTANDING', details: { journalId: first.id, state: 'pending' } });
  t.equal(h.sim.book.list().length, 1, 'no second order at the PSP');
});

t.test('a refund: only a paid one, refunded at the PSP, then refused', async (t) => {
  const h = await qrHarness(t);
  const code = h.sim.wallet.consumerCode({ kind: 'token', outcome: 'pay' });
  const paid = await h.service.pay({ mode: 'consumer', amount: 4000, waybill: WAYBILLS[2], consumerCode: code });
  await t.rejects(h.service.refund(paid.id, 4001), { code: 'CODPOS_USAGE_AMOUNT' });
  const refunded = await h.service.refund(paid.id);
  t.match(refunded.refund, { status: 'refunded', amount: 4000 });
  t.equal(refunded.payment.state, 'refunded');
  t.equal(refunded.payment.refundedAmount, 4000);
  t.equal(h.sim.book.get(orderRefOf(paid.id))?.order.refundedAmount, 4000, 'refunded once at the PSP');
  t.same(
    qrRecords(h, paid.id).map((record) => record.payload.state),
    ['paid', 'refunded'],
  );
  t.same(qrStates(h.events, paid.id).at(-1), 'refunded');
  await t.rejects(h.service.refund(paid.id), { code: 'CODPOS_USAGE_QR_NOT_REFUNDABLE' });
  // A refunded payment no longer stands: the waybill may be paid again.
  const again = await h.service.pay({
    mode: 'consumer',
    amount: 4000,
    waybill: WAYBILLS[2],
    consumerCode: h.sim.wallet.consumerCode({ kind: 'token', outcome: 'pay' }),
  });
  t.equal(again.state, 'paid');
});

t.test('the PSP does not answer the give-up: unknown, then resolved by query to what it says', async (t) => {
  const h = await qrHarness(t);
  h.sim.setNextBehaviour({ kind: 'pay-after-give-up', cancel: 'no-answer' });
  const answer = await h.service.pay({ mode: 'merchant', amount: 1500, waybill: WAYBILLS[3] });
  await h.service.cancel(answer.id);
  const history = h.spool.qrJournal.history(answer.id);
  t.equal(history[1]?.to, 'unknown', 'first unknown: the cancel had no answer');
  t.match(history[1]?.reason, /the PSP did not answer the cancel/);
  await h.reaches(answer.id, 'paid');
  t.match(h.spool.qrJournal.history(answer.id).at(-1), { from: 'unknown', to: 'paid', reason: /resolver/ });
  t.same(
    qrRecords(h, answer.id).map((record) => record.payload.state),
    ['unknown', 'paid'],
  );
  t.match(h.events.filter((event) => event.type === 'payment.qr' && event.data.id === answer.id).at(-1)?.data, {
    state: 'paid',
    lateAfterGiveUp: true,
  });
});

t.test(
  'the PSP unavailable for a create: the row is unknown, then cancelled when the PSP says it has no order',
  async (t) => {
    const h = await qrHarness(t);
    h.sim.setNextBehaviour({ kind: 'unavailable', how: '503' });
    const failed = await h.service.pay({ mode: 'merchant', amount: 600, waybill: WAYBILLS[0] }).then(
      () => undefined,
      (error: unknown) => error as { code: string; details: { journalId: string; state: string } },
    );
    t.ok(failed, 'the caller gets the error');
    const id = failed!.details.journalId;
    t.match(failed, { code: /^CODPOS_PSP_/, details: { state: 'unknown' } });
    await h.reaches(id, 'cancelled');
    t.match(h.spool.qrJournal.get(id)?.reason, /no such order/);
  },
);

t.test('junk and misuse are refused before anything is written', async (t) => {
  const h = await qrHarness(t);
  await t.rejects(h.service.pay({ mode: 'consumer', amount: 100, waybill: WAYBILLS[0] }), {
    code: 'CODPOS_USAGE_QR_CONSUMER_CODE',
  });
  await t.rejects(h.service.pay({ mode: 'merchant', amount: 0, waybill: WAYBILLS[0] }), {
    code: 'CODPOS_USAGE_AMOUNT',
  });
  await t.rejects(h.service.pay({ mode: 'merchant', amount: 100, waybill: 'RR123456784CH' }), {
    code: 'CODPOS_USAGE_WAYBILL',
  });
  t.same(h.spool.qrJournal.list(), [], 'no row');
  t.same(h.sim.book.list(), [], 'no order');
  t.throws(() => h.service.payment('00000000-0000-0000-0000-000000000000'), { code: 'CODPOS_USAGE_NO_SUCH_PAYMENT' });
});

t.test('rows a stopped or killed run left are resolved at start, each to what the PSP says', async (t) => {
  const h = await qrHarness(t);
  await h.service.stop();
  const journal = h.spool.qrJournal;
  const begin = (waybill: string) => journal.begin({ mode: 'merchant', amount: 1000, currency: '978', waybill });
  const paidMeanwhile = begin(WAYBILLS[0]);
  const neverSent = begin(WAYBILLS[1]);
  const stillOpen = begin(WAYBILLS[2]);
  for (const row of [paidMeanwhile, stillOpen])
    await h.client.createOrder({
      orderRef: orderRefOf(row.id),
      amount: row.amount,
      currency: row.currency,
      waybill: row.waybill,
      terminalLabel: 'CODPOS01',
    });
  t.equal(h.sim.wallet.payOrder(orderRefOf(paidMeanwhile.id), { outcome: 'pay' }).outcome, 'paid');

  await h.service.start();
  await h.reaches(paidMeanwhile.id, 'paid');
  await h.reaches(neverSent.id, 'cancelled');
  await h.reaches(stillOpen.id, 'cancelled');
  t.match(journal.get(neverSent.id)?.reason, /no such order/);
  t.equal(h.sim.book.get(orderRefOf(stillOpen.id))?.order.status, 'cancelled', 'closed at the PSP: nobody shows it');
  t.equal(h.sim.book.get(orderRefOf(neverSent.id)), undefined, 'nothing was created for it');
  t.same(journal.outstanding(), []);
});

t.test(
  'a new payment for a waybill whose last one is unknown: the PSP is asked first and its answer given',
  async (t) => {
    // The resolver's own retry is far off: only the route's question can learn the answer here.
    const h = await qrHarness(t, { resolverMs: 600_000 });
    h.sim.setNextBehaviour({ kind: 'pay-after-give-up', cancel: 'no-answer' });
    const first = await h.service.pay({ mode: 'merchant', amount: 1700, waybill: WAYBILLS[0] });
    await h.service.cancel(first.id);
    t.equal(h.spool.qrJournal.get(first.id)?.state, 'unknown');
    const refused = await h.service.pay({ mode: 'merchant', amount: 1700, waybill: WAYBILLS[0] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    t.match(refused, {
      code: 'CODPOS_SPOOL_QR_OUTSTANDING',
      message: /asked the PSP now: it is paid \(the delivery is paid\)/,
      details: { journalId: first.id, state: 'paid' },
    });
    t.equal(h.spool.qrJournal.get(first.id)?.state, 'paid', 'the row took the answer');
    t.equal(h.sim.book.list().length, 1, 'no second order');
  },
);

t.test('the PSP not reached at all for a create: the row is cancelled at once, nothing happened there', async (t) => {
  const h = await qrHarness(t);
  await h.sim.stop();
  const failed = await h.service.pay({ mode: 'merchant', amount: 650, waybill: WAYBILLS[1] }).then(
    () => undefined,
    (error: unknown) => error as { code: string; details: { journalId: string; state: string; sent: boolean } },
  );
  t.match(failed, { code: /^CODPOS_PSP_/, details: { state: 'cancelled', sent: false } });
  const row = h.spool.qrJournal.get(failed!.details.journalId)!;
  t.equal(row.state, 'cancelled');
  t.match(row.reason, /the PSP was not reached creating the order/);
  t.same(h.spool.qrJournal.outstanding(), [], 'nothing left for the resolver');
});
