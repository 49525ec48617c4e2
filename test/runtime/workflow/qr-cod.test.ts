/**
 * A delivery's COD collected by QR: the QR part counts only a payment the PSP said was paid,
 * made for this waybill, at its amount, once; the day report counts QR apart from card and
 * cash, names a QR part refunded after the delivery, lists the day's QR payments no delivery
 * collected with and those the PSP has not given an outcome for. The QR rows are made with the
 * journal directly, as the QR payment flow writes them.
 */
import t, { type Test } from 'tap';
import { WorkflowService, type WaybillEventInput } from '../../../runtime/workflow/service.js';
import { EventBus } from '../../../runtime/api/events.js';
import { validateConfig } from '../../../config/load.js';
import { isPosError } from '../../../config/errors.js';
import { STREAMS, type QrState, type Spool } from '../../../spool/index.js';
import { PRINTER_PROFILES } from '../../../drivers/printer/profiles.js';
import { EscPosDecoder } from '../../../drivers/printer/decoder.js';
import type { PrinterDriver } from '../../../drivers/printer/driver.js';
import { codMethod } from '../../../runtime/workflow/cod-collection.js';
import { dayReportLines } from '../../../scripts/cli/commands/report.js';
import { openSpool } from '../host/fixtures.js';

/** On the task list: 2,500 due on LISTED, 2,350 on OTHER. */
const LISTED = 'RR003000000CH';
const OTHER = 'RR123456785CH';
const PAN = '4761739001010010';

async function setUp(t: Test) {
  const spool = await openSpool(t);
  spool.tasks.replace(
    [
      {
        id: 'T2',
        waybill: LISTED,
        kind: 'delivery',
        codAmount: 2500,
        currency: '840',
        consignee: 'B. Consignee',
        address: null,
      },
      { id: 'T5', waybill: OTHER, kind: 'delivery', codAmount: 2350, currency: '840', consignee: null, address: null },
    ],
    [],
  );
  const printed: Buffer[] = [];
  const printer = {
    profile: PRINTER_PROFILES['58mm'],
    print: async (job: Buffer) => void printed.push(job),
  } as unknown as PrinterDriver;
  const workflow = new WorkflowService(validateConfig({}), {
    spool: () => spool,
    events: new EventBus(),
    printer: () => printer,
  });
  await workflow.start();
  const lastReceipt = () => {
    const decoder = new EscPosDecoder();
    decoder.push(printed.at(-1)!);
    return decoder.allLines;
  };
  return { spool, workflow, lastReceipt };
}

/** A QR payment journaled as the QR flow does, moved through `path` (default: paid by simwallet). */
function qrPayment(spool: Spool, amount: number, waybill = LISTED, path: QrState[] = ['paid']): string {
  const txn = spool.qrJournal.begin({ mode: 'merchant', amount, currency: '840', waybill });
  spool.qrJournal.attach(txn.id, { pspOrderId: `PSP-${txn.id.slice(0, 8)}` });
  for (const state of path)
    spool.qrJournal.transition(txn.id, state, {
      ...(state === 'paid' ? { wallet: 'simwallet' } : {}),
      ...(state === 'refunded' ? { refundedAmount: amount } : {}),
      ...(state === 'declined' || state === 'cancelled' || state === 'unknown' ? { reason: `${state} by test` } : {}),
    });
  return txn.id;
}

function cardPayment(spool: Spool, amount: number): string {
  const txn = spool.journal.begin({ amount, currency: '840', pan: PAN, waybill: LISTED });
  spool.journal.transition(txn.id, 'approved', { responseCode: '00', authCode: '123456' });
  return txn.id;
}

function delivery(waybill: string, cod: unknown): WaybillEventInput {
  return { kind: 'delivery', waybill, cod } as WaybillEventInput;
}

function deliveries(spool: Spool): Array<Record<string, unknown>> {
  return spool.outbox
    .list({ stream: STREAMS.waybillEvent, limit: 100 })
    .map((record) => record.payload as Record<string, unknown>);
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (isPosError(error)) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected a refusal, the delivery was recorded');
}

t.test('a delivery paid in full by QR: recorded, reconciled, counted as QR, printed', async (t) => {
  const { spool, workflow, lastReceipt } = await setUp(t);
  const qr = qrPayment(spool, 2500);
  const recorded = await workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: qr }));
  t.match(recorded, { kind: 'delivery', waybill: LISTED, receiptPrinted: true });
  t.notOk('change' in recorded, 'no cash, no change');
  t.match(deliveries(spool), [{ codDue: 2500, cod: { method: 'qr', amount: 2500, qrPaymentId: qr } }]);

  const report = workflow.report();
  t.same(report.qr, { count: 1, amount: 2500 }, 'the QR collections');
  t.same(report.card, { count: 0, amount: 0 }, 'no card');
  t.same(report.cash, { count: 0, amount: 0 }, 'no cash to hand over');
  t.same(report.collections, [
    {
      waybill: LISTED,
      method: 'qr',
      amount: 2500,
      collected: 2500,
      parts: [{ method: 'qr', qrPaymentId: qr, amount: 2500, state: 'paid' }],
      matched: true,
    },
  ]);
  t.same(report.unmatchedQrPayments, [], 'the payment is the delivery’s');
  t.same(report.unknownQrPayments, []);
  t.match(report.codDue, [{ waybill: LISTED, status: 'collected', method: 'qr' }]);

  const page = lastReceipt();
  t.ok(page.includes('COD QR SIMWALLET       USD 25.00'), 'the receipt names QR and the wallet');
});

t.test('QR and cash, partly each: reconciled; each total apart', async (t) => {
  const { spool, workflow, lastReceipt } = await setUp(t);
  const qr = qrPayment(spool, 1800);
  const recorded = await workflow.record(
    delivery(LISTED, [
      { method: 'cash', amount: 700, tendered: 1000 },
      { method: 'qr', amount: 1800, qrPaymentId: qr },
    ]),
  );
  t.equal(recorded.change, 300);
  const report = workflow.report();
  t.same(report.cash, { count: 1, amount: 700 });
  t.same(report.qr, { count: 1, amount: 1800 });
  t.same(report.card, { count: 0, amount: 0 });
  t.match(report.collections, [{ waybill: LISTED, method: 'cash+qr', collected: 2500, matched: true }]);
  const page = lastReceipt();
  t.ok(page.includes('COD                    USD 25.00'), 'the total over the parts');
  t.ok(page.includes('QR SIMWALLET           USD 18.00'));
  t.ok(page.includes('CASH                    USD 7.00'));
});

t.test('cash, card and QR on one day: each total right and apart', async (t) => {
  const { spool, workflow } = await setUp(t);
  const card = cardPayment(spool, 1000);
  const qr = qrPayment(spool, 1500);
  await workflow.record(
    delivery(LISTED, [
      { method: 'card', amount: 1000, journalId: card },
      { method: 'qr', amount: 1500, qrPaymentId: qr },
    ]),
  );
  await workflow.record(delivery(OTHER, { method: 'cash', amount: 2350, tendered: 2350 }));
  const report = workflow.report();
  t.same(report.cash, { count: 1, amount: 2350 });
  t.same(report.card, { count: 1, amount: 1000 });
  t.same(report.qr, { count: 1, amount: 1500 });
  t.match(report.collections, [
    { waybill: LISTED, method: 'card+qr', matched: true },
    { waybill: OTHER, method: 'cash', matched: true },
  ]);
});

t.test('a QR payment that does not stand is refused at recording, naming its state; nothing recorded', async (t) => {
  const { spool, workflow } = await setUp(t);
  const cases: Array<[QrState[], RegExp]> = [
    [[], /is pending, not a payment that stands: the wallet has not paid yet/],
    [['unknown'], /is unknown, not a payment that stands: the PSP has not said; resolve it first/],
    [['declined'], /is declined, not a payment that stands/],
    [['cancelled'], /is cancelled, not a payment that stands/],
    [['paid', 'refunded'], /is refunded, not a payment that stands: its money was given back/],
  ];
  for (const [path, message] of cases) {
    const qr = qrPayment(spool, 2500, LISTED, path);
    const refused = await refusal(workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: qr })));
    t.equal(refused.code, 'CODPOS_USAGE_WAYBILL_EVENT', path.join('>') || 'pending');
    t.match(refused.message, message);
    t.match(refused.message, qr, 'names the payment');
    t.same(refused.details, { qrPaymentId: qr, state: path.at(-1) ?? 'pending' });
    if (path.length === 0) spool.qrJournal.transition(qr, 'cancelled'); // one outstanding per waybill
    if (path[0] === 'unknown') spool.qrJournal.transition(qr, 'declined');
  }
  const missing = await refusal(workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: 'nope' })));
  t.match(missing.message, 'cod.qrPaymentId: no QR payment nope in the QR journal');
  t.same(deliveries(spool), [], 'nothing recorded');
});

t.test("a QR payment cannot pay another waybill's COD: refused naming both", async (t) => {
  const { spool, workflow } = await setUp(t);
  const qr = qrPayment(spool, 2500, OTHER);
  const refused = await refusal(workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: qr })));
  t.equal(refused.code, 'CODPOS_USAGE_WAYBILL_EVENT');
  t.equal(
    refused.message,
    `cod.qrPaymentId: QR payment ${qr} was made for waybill ${OTHER}, not ${LISTED}; a QR payment pays only the COD of the waybill it was made for`,
  );
  t.same(deliveries(spool), []);
});

t.test('a QR part is taken at its payment’s amount, not another', async (t) => {
  const { spool, workflow } = await setUp(t);
  const qr = qrPayment(spool, 1800);
  const refused = await refusal(
    workflow.record(
      delivery(LISTED, [
        { method: 'qr', amount: 2000, qrPaymentId: qr },
        { method: 'cash', amount: 500, tendered: 500 },
      ]),
    ),
  );
  t.equal(refused.message, `cod[0].amount: QR payment ${qr} was for 1,800, not 2,000`);
  const twice = await refusal(
    workflow.record(
      delivery(LISTED, [
        { method: 'qr', amount: 1800, qrPaymentId: qr },
        { method: 'qr', amount: 1800, qrPaymentId: qr },
      ]),
    ),
  );
  t.match(twice.message, `cod[1].qrPaymentId: QR payment ${qr} is already cod[0] of this delivery`);
  const short = await refusal(workflow.record(delivery(LISTED, { method: 'qr', amount: 1800, qrPaymentId: qr })));
  t.equal(short.code, 'CODPOS_USAGE_COD_NOT_COLLECTED', 'a QR payment short of the due is not the whole COD');
  t.match(short.message, 'cod: 1,800 of 2,500 collected by QR; 700 still due');
  t.same(deliveries(spool), []);
});

t.test("a QR payment in another currency than the terminal's pays nothing here", async (t) => {
  const { spool, workflow } = await setUp(t);
  const txn = spool.qrJournal.begin({ mode: 'consumer', amount: 2500, currency: '978', waybill: LISTED });
  spool.qrJournal.transition(txn.id, 'paid', { wallet: 'simwallet' });
  const refused = await refusal(workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: txn.id })));
  t.equal(refused.message, `cod.qrPaymentId: QR payment ${txn.id} was paid in EUR (978), not the COD's USD (840)`);
  t.same(deliveries(spool), []);
});

t.test('one QR payment pays one delivery, once (recorded or being recorded)', async (t) => {
  const { spool, workflow } = await setUp(t);
  const qr = qrPayment(spool, 2500);
  const cod = { method: 'qr', amount: 2500, qrPaymentId: qr };
  const [first, second] = await Promise.allSettled([
    workflow.record(delivery(LISTED, cod)),
    workflow.record(delivery(LISTED, cod)),
  ]);
  t.equal(first.status, 'fulfilled');
  t.equal(second.status, 'rejected', 'the second delivery checked while the first is being recorded');
  t.match((second as PromiseRejectedResult).reason, {
    code: 'CODPOS_USAGE_COD_PAYMENT_USED',
    message: /already paid the delivery of RR003000000CH \(being recorded now\)/,
  });
  const id = (first as PromiseFulfilledResult<{ id: string }>).value.id;
  const again = await refusal(workflow.record(delivery(LISTED, cod)));
  t.equal(again.code, 'CODPOS_USAGE_COD_PAYMENT_USED');
  t.equal(
    again.message,
    `cod.qrPaymentId: QR payment ${qr} already paid the delivery of ${LISTED} (event ${id}); one QR payment pays one delivery`,
  );
  t.same(again.details, { qrPaymentId: qr, waybill: LISTED, eventId: id });
  t.equal(deliveries(spool).length, 1);
});

t.test('a QR payment is not a card payment, nor a card payment a QR one', async (t) => {
  const { spool, workflow } = await setUp(t);
  const qr = qrPayment(spool, 2500);
  const card = cardPayment(spool, 2500);
  const asCard = await refusal(workflow.record(delivery(LISTED, { method: 'card', amount: 2500, journalId: qr })));
  t.equal(asCard.message, `cod.journalId: no card payment ${qr} in the journal`);
  const asQr = await refusal(workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: card })));
  t.equal(asQr.message, `cod.qrPaymentId: no QR payment ${card} in the QR journal`);
  // Each pays its own delivery: a QR delivery recorded does not make the card "already used".
  await workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: qr }));
  spool.tasks.replace(
    [{ id: 'T9', waybill: OTHER, kind: 'delivery', codAmount: 2500, currency: '840', consignee: null, address: null }],
    [],
  );
  await workflow.record(delivery(OTHER, { method: 'card', amount: 2500, journalId: card }));
  t.equal(deliveries(spool).length, 2);
});

t.test('the day report: a QR payment refunded after the delivery does not reconcile and says so', async (t) => {
  const { spool, workflow } = await setUp(t);
  const qr = qrPayment(spool, 1800);
  await workflow.record(
    delivery(LISTED, [
      { method: 'qr', amount: 1800, qrPaymentId: qr },
      { method: 'cash', amount: 700, tendered: 700 },
    ]),
  );
  t.equal(workflow.report().collections[0]!.matched, true, 'reconciled while paid');
  spool.qrJournal.transition(qr, 'refunded', { refundedAmount: 1800, reason: 'consignee returned the parcel' });
  const report = workflow.report();
  t.same(report.qr, { count: 0, amount: 0 }, 'a refunded payment brings nothing');
  t.same(report.cash, { count: 1, amount: 700 });
  t.same(report.collections, [
    {
      waybill: LISTED,
      method: 'cash+qr',
      amount: 2500,
      collected: 700,
      parts: [
        { method: 'qr', qrPaymentId: qr, amount: 1800, state: 'refunded', refunded: 1800 },
        { method: 'cash', amount: 700 },
      ],
      matched: false,
      stillDue: 1800,
      problem: `QR payment ${qr} was refunded (1,800 of 1,800 given back); 700 of 2,500 collected; 1,800 still due`,
    },
  ]);
});

t.test('the day report: a partly refunded QR payment still brings in what was kept', async (t) => {
  const { spool, workflow } = await setUp(t);
  const qr = qrPayment(spool, 2500);
  await workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: qr }));
  spool.qrJournal.transition(qr, 'refunded', { refundedAmount: 500 });
  const report = workflow.report();
  t.same(report.qr, { count: 1, amount: 2000 });
  t.match(report.collections, [
    {
      collected: 2000,
      matched: false,
      stillDue: 500,
      problem: `QR payment ${qr} was refunded (500 of 2,500 given back); 2,000 of 2,500 collected; 500 still due`,
    },
  ]);
});

t.test('the day report: paid QR payments no delivery used, and unknown ones to ask the PSP about', async (t) => {
  const { spool, workflow } = await setUp(t);
  const used = qrPayment(spool, 2500);
  await workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: used }));
  const unused = qrPayment(spool, 2350, OTHER);
  const unknown = qrPayment(spool, 990, 'RR999999990CH', ['unknown']);
  qrPayment(spool, 400, 'RR888888885CH', ['declined']);
  const report = workflow.report();
  t.same(report.unmatchedQrPayments, [{ qrPaymentId: unused, waybill: OTHER, amount: 2350, wallet: 'simwallet' }]);
  t.same(report.unknownQrPayments, [
    {
      qrPaymentId: unknown,
      waybill: 'RR999999990CH',
      amount: 990,
      problem: `QR payment ${unknown} of 990 for RR999999990CH is unknown: the PSP has not said whether it was paid; ask the PSP (resolve it) before the day is closed`,
    },
  ]);
  t.same(report.qr, { count: 1, amount: 2500 }, 'only what a delivery collected with counts');
  t.same(report.unmatchedPayments, [], 'the card list is the card list');
  const otherDay = workflow.report('2001-01-01');
  t.same([otherDay.unmatchedQrPayments, otherDay.unknownQrPayments], [[], []], 'another day has none of them');
});

t.test('a day without QR gains only a zero QR total', async (t) => {
  const { workflow } = await setUp(t);
  await workflow.record(delivery(OTHER, { method: 'cash', amount: 2350, tendered: 2350 }));
  t.match(workflow.report(), {
    qr: { count: 0, amount: 0 },
    unmatchedQrPayments: [],
    unknownQrPayments: [],
    cash: { count: 1, amount: 2350 },
  });
});

t.test('the method names: cash, card, qr in that order, joined by +', async (t) => {
  const of = (...methods: Array<'cash' | 'card' | 'qr'>) => codMethod(methods.map((method) => ({ method })));
  t.equal(of('cash'), 'cash');
  t.equal(of('card'), 'card');
  t.equal(of('card', 'cash'), 'cash+card', 'as it always read');
  t.equal(of('qr'), 'qr');
  t.equal(of('qr', 'cash'), 'cash+qr');
  t.equal(of('qr', 'card', 'card'), 'card+qr');
  t.equal(of('qr', 'card', 'cash'), 'cash+card+qr');
});

t.test('codpos report day prints the QR line beside card and cash, and the QR problems', async (t) => {
  const { spool, workflow } = await setUp(t);
  const used = qrPayment(spool, 2500);
  await workflow.record(delivery(LISTED, { method: 'qr', amount: 2500, qrPaymentId: used }));
  const unused = qrPayment(spool, 2350, OTHER);
  const unknown = qrPayment(spool, 990, 'RR999999990CH', ['unknown']);
  const lines = dayReportLines(workflow.report());
  t.equal(lines[1], '  cash to hand over  0 (0 deliveries)');
  t.equal(lines[2], '  card collections   0 (0 deliveries)');
  t.equal(lines[3], '  QR collections     2500 (1 deliveries)');
  t.ok(lines.includes(`  RR003000000CH      2500  collected (qr)`), 'the COD due list names the QR method');
  const problems = lines.slice(lines.indexOf('does not reconcile (2):') + 1);
  t.same(problems, [
    `  QR payment ${unused} (2350, waybill ${OTHER}): no delivery collected with it`,
    `  QR payment ${unknown} of 990 for RR999999990CH is unknown: the PSP has not said whether it was paid; ask the PSP (resolve it) before the day is closed`,
  ]);
});
