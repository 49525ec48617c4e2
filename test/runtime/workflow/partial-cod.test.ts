/**
 * A delivery's COD collected in parts: a card the issuer approved for less than was asked
 * (response 10) counts its approved amount, the rest is collected in cash or by another card,
 * and a delivery short of its due is refused with what is still due and nothing recorded.
 * One card payment pays one delivery once. The day report reconciles each delivery with the
 * parts that still stand; the delivery receipt lists each part.
 */
import t, { type Test } from 'tap';
import { WorkflowService, type WaybillEventInput } from '../../../runtime/workflow/service.js';
import { EventBus } from '../../../runtime/api/events.js';
import { validateConfig } from '../../../config/load.js';
import { STREAMS, type Spool } from '../../../spool/index.js';
import { PRINTER_PROFILES } from '../../../drivers/printer/profiles.js';
import { EscPosDecoder } from '../../../drivers/printer/decoder.js';
import type { PrinterDriver } from '../../../drivers/printer/driver.js';
import { buildDeliveryReceipt } from '../../../runtime/workflow/delivery-receipt.js';
import { openSpool } from '../host/fixtures.js';

/** On the task list: 2,500 due. Not on it: RR222222225CH. */
const LISTED = 'RR003000000CH';
const UNLISTED = 'RR222222225CH';
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
      {
        id: 'T5',
        waybill: 'RR123456785CH',
        kind: 'delivery',
        codAmount: 2350,
        currency: '840',
        consignee: null,
        address: null,
      },
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
  return { spool, workflow, lastReceipt, printed };
}

/** A card payment journaled as the payment service does; `approved` below `amount` is a partial approval (response 10). */
function cardPayment(spool: Spool, amount: number, approved = amount): string {
  const txn = spool.journal.begin({ amount, currency: '840', pan: PAN, waybill: LISTED });
  spool.journal.transition(
    txn.id,
    'approved',
    approved === amount
      ? { responseCode: '00', authCode: '123456' }
      : { responseCode: '10', authCode: '123456', approvedAmount: approved },
  );
  return txn.id;
}

function deliveryPayloads(spool: Spool): Array<Record<string, unknown>> {
  return spool.outbox
    .list({ stream: STREAMS.waybillEvent, limit: 100 })
    .map((record) => record.payload as Record<string, unknown>);
}

function delivery(waybill: string, cod: unknown): WaybillEventInput {
  return { kind: 'delivery', waybill, cod } as WaybillEventInput;
}

t.test(
  'a card approved for 1,800 of 2,500 and 700 in cash: delivered, recorded part by part, reconciled, printed',
  async (t) => {
    const { spool, workflow, lastReceipt } = await setUp(t);
    const card = cardPayment(spool, 2500, 1800);
    const recorded = await workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'cash', amount: 700, tendered: 1000 },
      ]),
    );
    t.match(recorded, { kind: 'delivery', waybill: LISTED, change: 300, receiptPrinted: true });
    t.match(
      deliveryPayloads(spool),
      [
        {
          codDue: 2500,
          cod: [
            { method: 'card', amount: 1800, journalId: card },
            { method: 'cash', amount: 700, tendered: 1000, change: 300 },
          ],
        },
      ],
      'the back-end gets each part',
    );

    const report = workflow.report();
    t.match(
      report,
      { cash: { count: 1, amount: 700 }, card: { count: 1, amount: 1800 }, unmatchedPayments: [] },
      'cash to hand over counts the cash part; the card counts what was approved',
    );
    t.match(report.collections, [
      { waybill: LISTED, method: 'cash+card', amount: 2500, collected: 2500, matched: true },
    ]);
    t.notOk('problem' in report.collections[0]!);
    t.match(report.codDue, [{ waybill: LISTED, status: 'collected', method: 'cash+card' }]);

    const page = lastReceipt();
    t.ok(page.includes('COD                    USD 25.00'), 'the total due');
    t.ok(page.includes('CARD **** 0010         USD 18.00'), 'the card by its last four and its approved amount');
    t.ok(page.includes('CASH                    USD 7.00'));
    t.ok(page.includes('TENDERED               USD 10.00'));
    t.ok(page.includes('CHANGE                  USD 3.00'));
    t.notOk(page.join('\n').includes(PAN), 'never the full card number');
  },
);

t.test('the rest by a second card: both count at their approved amounts', async (t) => {
  const { spool, workflow, lastReceipt } = await setUp(t);
  const first = cardPayment(spool, 2500, 1800);
  const second = cardPayment(spool, 700);
  const recorded = await workflow.record(
    delivery(LISTED, [
      { method: 'card', amount: 1800, journalId: first },
      { method: 'card', amount: 700, journalId: second },
    ]),
  );
  t.notOk('change' in recorded, 'no cash, no change');
  t.match(workflow.report(), {
    cash: { count: 0, amount: 0 },
    card: { count: 1, amount: 2500 },
    collections: [{ method: 'card', collected: 2500, matched: true }],
  });
  t.equal(lastReceipt().filter((line) => line.startsWith('CARD **** 0010')).length, 2);
});

t.test('a partially approved card alone is refused, saying what is still due, and nothing is recorded', async (t) => {
  const { spool, workflow } = await setUp(t);
  const card = cardPayment(spool, 2500, 1800);
  const stillDue = {
    code: 'CODPOS_USAGE_COD_NOT_COLLECTED',
    message: `cod: 1,800 of 2,500 collected by card; 700 still due on ${LISTED}: collect it in cash or by another card`,
    details: { waybill: LISTED, due: 2500, collected: 1800, stillDue: 700 },
  };
  await t.rejects(
    workflow.record(delivery(LISTED, { method: 'card', amount: 2500, journalId: card })),
    stillDue,
    'the one-collection form naming the amount asked: only the approved amount counts',
  );
  await t.rejects(
    workflow.record(delivery(LISTED, [{ method: 'card', amount: 1800, journalId: card }])),
    stillDue,
    'the list form',
  );
  await t.rejects(
    workflow.record(delivery(UNLISTED, { method: 'card', amount: 2500, journalId: card })),
    {
      code: 'CODPOS_USAGE_COD_NOT_COLLECTED',
      message: /1,800 of 2,500 collected by card; 700 still due on RR222222225CH/,
    },
    'a waybill not on the list: the 2,500 the courier names is due',
  );
  await t.rejects(
    workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'cash', amount: 500, tendered: 500 },
      ]),
    ),
    { code: 'CODPOS_USAGE_COD_NOT_COLLECTED', message: /2,300 of 2,500 collected by card and in cash; 200 still due/ },
  );
  await t.rejects(
    workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 2000, journalId: card },
        { method: 'cash', amount: 500, tendered: 500 },
      ]),
    ),
    {
      code: 'CODPOS_USAGE_WAYBILL_EVENT',
      message: `cod[0].amount: card payment ${card} was approved for 1,800 of the 2,500 asked, not 2,000`,
    },
  );
  await t.rejects(
    workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'cash', amount: 900, tendered: 1000 },
      ]),
    ),
    { message: /2,500 is due on RR003000000CH, not 2,700/ },
    'more than is due',
  );
  t.same(deliveryPayloads(spool), [], 'nothing recorded');
  t.match(
    workflow.report().unmatchedPayments,
    [{ journalId: card, amount: 1800, requested: 2500 }],
    'the payment waits for its delivery at what was approved',
  );
});

t.test('a card payment for the full amount pays as before', async (t) => {
  const { spool, workflow, lastReceipt } = await setUp(t);
  const card = cardPayment(spool, 2500);
  t.match(await workflow.record(delivery(LISTED, { method: 'card', amount: 2500, journalId: card })), {
    kind: 'delivery',
    receiptPrinted: true,
  });
  const [payload] = deliveryPayloads(spool);
  t.same(
    payload!.cod,
    { method: 'card', amount: 2500, journalId: card },
    'one collection keeps its shape for the back-end',
  );
  t.equal(payload!.codDue, 2500);
  t.match(workflow.report(), {
    card: { count: 1, amount: 2500 },
    collections: [{ method: 'card', amount: 2500, collected: 2500, matched: true }],
  });
  t.ok(lastReceipt().includes('COD CARD **** 0010     USD 25.00'));
});

t.test('a payment that does not stand, or is not a purchase, pays nothing', async (t) => {
  const { spool, workflow } = await setUp(t);
  const voided = cardPayment(spool, 1800);
  spool.journal.transition(voided, 'voided', { reason: 'voided at the door' });
  const reversed = cardPayment(spool, 1800);
  spool.journal.transition(reversed, 'reversal_pending', { reason: 'card declined after approval' });
  const reversalPending = cardPayment(spool, 1800);
  spool.journal.transition(reversalPending, 'reversal_pending', { reason: 'no answer' });
  spool.journal.transition(reversed, 'reversed');
  const voidRow = spool.journal.begin({ kind: 'void', amount: 1800, currency: '840', originalId: voided });
  spool.journal.transition(voidRow.id, 'approved', { responseCode: '00' });
  const cash = { method: 'cash', amount: 700, tendered: 700 };
  for (const [journalId, state] of [
    [voided, 'voided'],
    [reversed, 'reversed'],
    [reversalPending, 'reversal_pending'],
  ] as const) {
    await t.rejects(workflow.record(delivery(LISTED, [{ method: 'card', amount: 1800, journalId }, cash])), {
      message: `cod[0].journalId: card payment ${journalId} is ${state}, not a payment that stands`,
    });
  }
  await t.rejects(workflow.record(delivery(LISTED, [{ method: 'card', amount: 1800, journalId: voidRow.id }, cash])), {
    message: `cod[0].journalId: journal row ${voidRow.id} is a void, not a card payment`,
  });
  t.same(deliveryPayloads(spool), []);
});

t.test('one card payment pays one delivery, once', async (t) => {
  const { spool, workflow } = await setUp(t);
  const card = cardPayment(spool, 2500, 1800);
  await t.rejects(
    workflow.record(
      delivery(UNLISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'card', amount: 1800, journalId: card },
      ]),
    ),
    {
      message: `cod[1].journalId: card payment ${card} is already cod[0] of this delivery; one card payment is counted once`,
    },
  );
  const first = await workflow.record(
    delivery(LISTED, [
      { method: 'card', amount: 1800, journalId: card },
      { method: 'cash', amount: 700, tendered: 700 },
    ]),
  );
  await t.rejects(workflow.record(delivery(UNLISTED, [{ method: 'card', amount: 1800, journalId: card }])), {
    code: 'CODPOS_USAGE_COD_PAYMENT_USED',
    message: `cod[0].journalId: card payment ${card} already paid the delivery of ${LISTED} (event ${first.id}); one card payment pays one delivery`,
  });
  await t.rejects(
    workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'cash', amount: 700, tendered: 700 },
      ]),
    ),
    { code: 'CODPOS_USAGE_COD_PAYMENT_USED' },
    'the same delivery sent again',
  );
  t.equal(deliveryPayloads(spool).length, 1);
});

t.test(
  'checking that a card payment is unused does not read the whole event stream into the main thread',
  async (t) => {
    const { spool, workflow } = await setUp(t);
    for (let i = 0; i < 50; i++) await workflow.record({ kind: 'pickup', waybill: UNLISTED, note: `parcel ${i}` });
    const card = cardPayment(spool, 2500, 1800);
    const first = await workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'cash', amount: 700, tendered: 700 },
      ]),
    );
    const list = spool.outbox.list.bind(spool.outbox);
    let listed = 0;
    spool.outbox.list = (options) => {
      listed++;
      return list(options);
    };
    t.teardown(() => void (spool.outbox.list = list));
    await t.rejects(workflow.record(delivery(UNLISTED, [{ method: 'card', amount: 1800, journalId: card }])), {
      code: 'CODPOS_USAGE_COD_PAYMENT_USED',
      message: new RegExp(`event ${first.id}`),
    });
    const other = cardPayment(spool, 900);
    await workflow.record(delivery(UNLISTED, { method: 'card', amount: 900, journalId: other }));
    t.equal(listed, 0, 'no page of the stream was read to check either card');
    await workflow.record({
      kind: 'pickup',
      waybill: UNLISTED,
      note: `"journalId":"${other}" (a note that names the payment is not a delivery collecting with it)`,
    });
    const third = cardPayment(spool, 400);
    await workflow.record({ kind: 'delivery', waybill: UNLISTED, note: `"journalId":"${third}"` });
    t.ok(
      await workflow.record(delivery(UNLISTED, { method: 'card', amount: 400, journalId: third })),
      'a note naming a payment does not use it up',
    );
  },
);

t.test('two deliveries recorded at the same time cannot both collect with one payment', async (t) => {
  const { spool, workflow } = await setUp(t);
  const card = cardPayment(spool, 2350);
  const results = await Promise.allSettled([
    workflow.record(delivery('RR123456785CH', { method: 'card', amount: 2350, journalId: card })),
    workflow.record(delivery(UNLISTED, { method: 'card', amount: 2350, journalId: card })),
  ]);
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected'],
  );
  t.match((results[1] as PromiseRejectedResult).reason, {
    code: 'CODPOS_USAGE_COD_PAYMENT_USED',
    message: /already paid the delivery of RR123456785CH \(being recorded now\)/,
  });
  t.equal(deliveryPayloads(spool).length, 1);
  await t.rejects(
    workflow.record(delivery(UNLISTED, { method: 'card', amount: 2350, journalId: card })),
    { code: 'CODPOS_USAGE_COD_PAYMENT_USED' },
    'and once recorded the payment stays used',
  );
});

t.test(
  'the day report: a delivery whose card part was voided afterwards does not reconcile and says what is missing',
  async (t) => {
    const { spool, workflow } = await setUp(t);
    const card = cardPayment(spool, 2500, 1800);
    await workflow.record(
      delivery(LISTED, [
        { method: 'card', amount: 1800, journalId: card },
        { method: 'cash', amount: 700, tendered: 1000 },
      ]),
    );
    t.equal(workflow.report().collections[0]!.matched, true, 'reconciled while the card payment stands');
    spool.journal.transition(card, 'voided', { reason: 'voided after the delivery' });
    const report = workflow.report();
    t.match(
      report,
      { cash: { count: 1, amount: 700 }, card: { count: 0, amount: 0 } },
      'the cash is still to hand over; the voided card brings nothing',
    );
    t.same(report.collections, [
      {
        waybill: LISTED,
        method: 'cash+card',
        amount: 2500,
        collected: 700,
        parts: [
          { method: 'card', journalId: card, amount: 1800, state: 'voided' },
          { method: 'cash', amount: 700 },
        ],
        matched: false,
        stillDue: 1800,
        problem: `card payment ${card} is voided; 700 of 2,500 collected; 1,800 still due`,
      },
    ]);
  },
);

t.test(
  'the day report: a partially approved payment booked as the whole COD (as before parts) does not reconcile',
  async (t) => {
    const { spool, workflow } = await setUp(t);
    const card = cardPayment(spool, 2500, 1800);
    // A delivery as recorded before COD parts: the amount asked, no codDue.
    await spool.outbox.enqueue(STREAMS.waybillEvent, {
      kind: 'delivery',
      waybill: LISTED,
      at: new Date().toISOString(),
      terminalId: 'T',
      cod: { method: 'card', amount: 2500, journalId: card },
    });
    const report = workflow.report();
    t.match(report.collections, [
      {
        waybill: LISTED,
        method: 'card',
        amount: 2500,
        collected: 1800,
        matched: false,
        stillDue: 700,
        problem: '1,800 of 2,500 collected; 700 still due',
      },
    ]);
    t.match(report.card, { count: 1, amount: 1800 }, 'the card collections count what the issuer approved');
  },
);

t.test(
  'the delivery receipt: one part is the COD line itself; a card with no number read prints as CARD',
  async (t) => {
    const decode = (cod: Parameters<typeof buildDeliveryReceipt>[0]['cod']) => {
      const decoder = new EscPosDecoder();
      decoder.push(
        buildDeliveryReceipt({
          profile: PRINTER_PROFILES['58mm'],
          merchant: { name: 'M', terminalId: 'T1' },
          at: new Date(2026, 10, 29, 10, 0, 0),
          waybill: LISTED,
          currency: '840',
          ...(cod ? { cod } : {}),
        }),
      );
      return decoder.allLines;
    };
    const cash = decode({ due: 2350, parts: [{ method: 'cash', amount: 2350, tendered: 5000, change: 2650 }] });
    t.ok(cash.includes('COD CASH               USD 23.50'));
    t.ok(cash.includes('CHANGE                 USD 26.50'));
    t.notOk(
      cash.some((line) => line.startsWith('COD  ')),
      'no total line over a single part',
    );
    const card = decode({ due: 2500, parts: [{ method: 'card', amount: 2500, panLast4: null }] });
    t.ok(card.includes('COD CARD               USD 25.00'));
    t.ok(decode(undefined).includes('NOTHING TO COLLECT'));
  },
);
