import t from 'tap';
import { openTestSpool, TEST_PAN, TEST_TRACK2, TEST_PIN_BLOCK } from './helpers.js';
import { TXN_STATES, retrievalReference, type TxnState } from '../../spool/journal.js';
import { isPosError } from '../../config/errors.js';

const purchase = {
  amount: 2500,
  currency: '840',
  pan: TEST_PAN,
  sensitive: { track2: TEST_TRACK2, pinBlock: TEST_PIN_BLOCK, ksn: 'FFFF9876543210E00001' },
};

t.test('begin allocates STAN, RRN, invoice and batch with the row; PAN sealed, shown 6+4', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const a = spool.journal.begin({ ...purchase, waybill: 'RR123456785GB' });
  const b = spool.journal.begin(purchase);
  t.match(a, {
    state: 'pending',
    stan: 1,
    invoice: 1,
    batch: 1,
    panMasked: '476173******0010',
    holdsSensitiveData: true,
    waybill: 'RR123456785GB',
  });
  t.match(b, { stan: 2, invoice: 2, batch: 1 });
  // The test clock is 2026-06-01 08:00 UTC: day 31+28+31+30+31+1 = 152 of the year.
  t.equal(a.rrn, '615208000001', 'year digit 6, day 152, hour 08, sequence 000001');
  t.equal(spool.journal.openPan(a.id), TEST_PAN);
  t.same(spool.journal.openSensitive(a.id), purchase.sensitive);
  t.same(
    spool.journal.history(a.id).map((h) => h.to),
    ['pending'],
  );
});

t.test('retrieval reference (DE37): Y DDD HH nnnnnn, worked by hand from the calendar', async (t) => {
  t.equal(retrievalReference(Date.UTC(2026, 5, 1, 8, 0, 0), 1), '615208000001', '1 June 2026 is day 152');
  t.equal(
    retrievalReference(Date.UTC(2028, 11, 31, 23, 59, 59), 999999),
    '836623999999',
    '31 December of the leap year 2028 is day 366',
  );
  t.equal(
    retrievalReference(Date.UTC(2027, 0, 1, 0, 0, 0), 42),
    '700100000042',
    '1 January is day 001, midnight hour 00',
  );
});

/** The moves docs/spool.md draws (its journal diagram), written out here rather than read from
 * the journal module's own table, so a wrong entry in that table fails this test. */
const DOCUMENTED_MOVES = new Set([
  'pending -> approved',
  'pending -> declined',
  'pending -> reversal_pending',
  'pending -> offline_approved',
  'approved -> settled',
  'approved -> voided',
  'approved -> reversal_pending',
  'reversal_pending -> reversed',
  'offline_approved -> advised',
  'offline_approved -> voided',
  'advised -> settled',
  'advised -> voided',
]);
const STATES: TxnState[] = [
  'pending',
  'approved',
  'declined',
  'reversal_pending',
  'reversed',
  'offline_approved',
  'advised',
  'voided',
  'settled',
];

t.test('every legal transition is accepted and every other one is a PosError', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  // Reach each state by a legal path, then try every target.
  const pathTo: Record<TxnState, TxnState[]> = {
    pending: [],
    approved: ['approved'],
    declined: ['declined'],
    reversal_pending: ['reversal_pending'],
    reversed: ['reversal_pending', 'reversed'],
    offline_approved: ['offline_approved'],
    advised: ['offline_approved', 'advised'],
    voided: ['approved', 'voided'],
    settled: ['approved', 'settled'],
  };
  t.same([...TXN_STATES].sort(), [...STATES].sort(), 'the journal knows the nine documented states');
  let legal = 0;
  let illegal = 0;
  for (const from of STATES) {
    for (const to of STATES) {
      const txn = spool.journal.begin({
        amount: 100,
        currency: '840',
        offline: pathTo[from][0] === 'offline_approved',
      });
      for (const step of pathTo[from]) spool.journal.transition(txn.id, step);
      if (DOCUMENTED_MOVES.has(`${from} -> ${to}`)) {
        t.equal(spool.journal.transition(txn.id, to).state, to, `${from} -> ${to}`);
        legal++;
      } else {
        t.throws(() => spool.journal.transition(txn.id, to), {
          code: 'CODPOS_SPOOL_ILLEGAL_TRANSITION',
          message: new RegExp(`cannot go from ${from} to ${to}`),
        });
        t.equal(spool.journal.get(txn.id)!.state, from, 'unchanged');
        illegal++;
      }
    }
  }
  t.equal(legal, 12);
  t.equal(illegal, 81 - 12);
  t.throws(() => spool.journal.transition('nope', 'approved'), { code: 'CODPOS_SPOOL_NO_SUCH_RECORD' });
});

t.test('track-2 and PIN block are erased as soon as the authorization has any answer', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  for (const answer of ['approved', 'declined', 'reversal_pending', 'offline_approved'] as const) {
    const txn = spool.journal.begin({ ...purchase, amount: 100 });
    t.ok(spool.journal.get(txn.id)!.holdsSensitiveData);
    const after = spool.journal.transition(txn.id, answer, { responseCode: answer === 'declined' ? '05' : '00' });
    t.notOk(after.holdsSensitiveData, `erased on ${answer}`);
    t.equal(spool.journal.openSensitive(txn.id), undefined);
    t.equal(spool.journal.openPan(txn.id), TEST_PAN, 'the PAN stays (sealed) for advices and reversals');
  }
  // The table itself refuses sensitive data past pending.
  const txn = spool.journal.begin(purchase);
  spool.journal.transition(txn.id, 'approved');
  t.throws(
    () => spool.db.prepare("UPDATE card_txn SET sad_sealed = x'00' WHERE id = ?").run(txn.id),
    /CHECK constraint failed/,
  );
  const pulled = spool.journal.begin(purchase);
  spool.journal.eraseSensitive(pulled.id);
  t.notOk(spool.journal.get(pulled.id)!.holdsSensitiveData);
});

t.test('counters wrap at 999999 and a failed write advances none of them', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  spool.db.prepare(`INSERT INTO counters (name, value) VALUES ('stan', 999998), ('invoice', 999999)`).run();
  const a = spool.journal.begin({ amount: 1, currency: '840' });
  const b = spool.journal.begin({ amount: 1, currency: '840' });
  t.same([a.stan, b.stan], [999999, 1], 'STAN wraps to 1, never 0');
  t.same([a.invoice, b.invoice], [1, 2]);
  const before = {
    stan: spool.journal.counters.current('stan'),
    rrn: spool.journal.counters.current('rrn'),
    invoice: spool.journal.counters.current('invoice'),
  };
  t.throws(() => spool.journal.begin({ amount: 1, currency: '840', originalId: 'missing', kind: 'void' }), {
    code: 'CODPOS_SPOOL_NO_SUCH_RECORD',
  });
  t.throws(() => spool.journal.begin({ amount: 1, currency: '840', outbox: { stream: 'nope', payload: {} } }), {
    code: 'CODPOS_SPOOL_UNKNOWN_STREAM',
  });
  t.same(
    {
      stan: spool.journal.counters.current('stan'),
      rrn: spool.journal.counters.current('rrn'),
      invoice: spool.journal.counters.current('invoice'),
    },
    before,
    'rolled back with the row',
  );
  t.equal((spool.db.prepare('SELECT count(*) AS n FROM card_txn').get() as { n: number }).n, 2);
});

t.test('bad input names the field and never echoes a PAN', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  t.throws(() => spool.journal.begin({ amount: -1, currency: '840' }), {
    code: 'CODPOS_SPOOL_BAD_RECORD',
    message: /amount/,
  });
  t.throws(() => spool.journal.begin({ amount: 1.5, currency: '840' }), {
    code: 'CODPOS_SPOOL_BAD_RECORD',
    message: /amount/,
  });
  t.throws(() => spool.journal.begin({ amount: 1, currency: 'USD' }), {
    code: 'CODPOS_SPOOL_BAD_RECORD',
    message: /currency/,
  });
  const error = t.throws(() => spool.journal.begin({ amount: 1, currency: '840', pan: '4761739001010011' }), {
    code: 'CODPOS_SPOOL_BAD_RECORD',
    message: /pan/,
  }) as unknown as Error;
  t.notMatch(error.message, /4761739001010011/);
  t.throws(() => spool.journal.begin({ amount: 1, currency: '840', pan: TEST_PAN, sensitive: { pinBlock: 'xyz' } }), {
    message: /sensitive\.pinBlock/,
  });
  t.throws(() => spool.journal.begin({ amount: 1, currency: '840', kind: 'void' }), { message: /originalId/ });
});

t.test('a state change and the outbox record it needs are one commit', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const txn = spool.journal.begin(purchase);
  spool.journal.transition(txn.id, 'reversal_pending', {
    reason: 'no answer in 30 s',
    outbox: { stream: 'reversal', payload: { mti: '0400', txnId: txn.id, stan: txn.stan }, sealed: { pan: TEST_PAN } },
  });
  const [reversal] = spool.outbox.lease('reversal');
  t.same(reversal!.payload, { mti: '0400', txnId: txn.id, stan: txn.stan });
  t.same(reversal!.sealed, { pan: TEST_PAN }, 'sealed part opened for the sender');
  t.same(spool.outbox.get(reversal!.id)!.sealed, undefined, 'and only for the sender');
  // A failing outbox write rolls back the state change too.
  const other = spool.journal.begin(purchase);
  t.throws(() => spool.journal.transition(other.id, 'approved', { outbox: { stream: 'nope', payload: {} } }), {
    code: 'CODPOS_SPOOL_UNKNOWN_STREAM',
  });
  t.equal(spool.journal.get(other.id)!.state, 'pending');
  t.ok(spool.journal.get(other.id)!.holdsSensitiveData);
});

t.test('offline caps refuse offline card payments while waybill events still go in', async (t) => {
  const { spool, clock } = openTestSpool({
    limits: {
      maxOfflineAmountPerTransaction: 10_000,
      maxOfflineTotalAmount: 25_000,
      maxRecords: 5,
      maxAgeMs: 3_600_000,
    },
  });
  t.teardown(() => spool.close());
  const offline = (amount: number) => spool.journal.begin({ amount, currency: '840', pan: TEST_PAN, offline: true });
  t.throws(() => offline(10_001), {
    code: 'CODPOS_SPOOL_OFFLINE_LIMIT',
    message: /above the offline limit of 10000 per transaction/,
  });
  const first = offline(10_000);
  spool.journal.transition(first.id, 'offline_approved');
  offline(10_000);
  const error = t.throws(() => offline(5_001), { code: 'CODPOS_SPOOL_OFFLINE_LIMIT' }) as unknown as {
    details: Record<string, unknown>;
  };
  t.match(error.details, { cap: 'totalAmount', outstanding: 20_000 });
  t.ok(offline(5_000), 'exactly at the total cap is allowed');
  // An online transaction that ends approved offline (host silent) is checked at that moment.
  const online = spool.journal.begin({ amount: 100, currency: '840' });
  t.throws(() => spool.journal.transition(online.id, 'offline_approved'), { code: 'CODPOS_SPOOL_OFFLINE_LIMIT' });
  t.equal(spool.journal.get(online.id)!.state, 'pending');
  // Advising the first offline approval frees its share of the total.
  spool.journal.transition(first.id, 'advised');
  t.equal(spool.journal.transition(online.id, 'offline_approved').offline, true);

  // Record count: 5 records waiting to be forwarded stop offline cards, not waybill events.
  for (let i = 0; i < 5; i++) await spool.outbox.enqueue('waybill-event', { i });
  const err2 = t.throws(() => spool.journal.begin({ amount: 1, currency: '840', offline: true }), {
    code: 'CODPOS_SPOOL_OFFLINE_BACKLOG',
  }) as unknown as { details: Record<string, unknown> };
  t.equal(err2.details.cap, 'records');
  await spool.outbox.enqueue('waybill-event', { still: 'accepted' });
  t.ok(spool.journal.begin({ amount: 1, currency: '840' }), 'online card payments are not capped');

  // Age: forward all but one, then let the oldest grow old.
  const leased = spool.outbox.lease('waybill-event', { limit: 5 });
  spool.outbox.ack(leased.map((r) => r.id));
  clock.advance(3_600_000);
  const err3 = t.throws(() => spool.journal.begin({ amount: 1, currency: '840', offline: true }), {
    code: 'CODPOS_SPOOL_OFFLINE_BACKLOG',
  }) as unknown as { details: Record<string, unknown> };
  t.equal(err3.details.cap, 'age');
  await spool.outbox.enqueue('waybill-event', { still: 'accepted' });
});

t.test('the disk budget stops offline card payments only', async (t) => {
  const probe = openTestSpool();
  const startBytes = probe.spool.status().diskBytes;
  probe.spool.close();
  const { spool } = openTestSpool({ limits: { maxDiskBytes: startBytes + 64 * 1024 } });
  t.teardown(() => spool.close());
  t.ok(spool.journal.begin({ amount: 1, currency: '840', offline: true }));
  for (let i = 0; i < 20; i++) await spool.outbox.enqueue('waybill-event', { i, pad: 'p'.repeat(4000) });
  const error = t.throws(() => spool.journal.begin({ amount: 1, currency: '840', offline: true }), {
    code: 'CODPOS_SPOOL_DISK_LIMIT',
  });
  t.ok(isPosError(error));
  t.ok(await spool.outbox.enqueue('waybill-event', { still: 'accepted' }));
});

t.test('closing a batch settles it and opens the next in one commit', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const a = spool.journal.begin({ amount: 1000, currency: '840' });
  spool.journal.transition(a.id, 'approved', { responseCode: '00', authCode: 'A1B2C3' });
  const b = spool.journal.begin({ amount: 500, currency: '840', offline: true });
  spool.journal.transition(b.id, 'offline_approved');
  spool.journal.transition(b.id, 'advised');
  const c = spool.journal.begin({ amount: 700, currency: '840' });
  spool.journal.transition(c.id, 'declined', { responseCode: '05' });
  t.same(spool.journal.totals(1).purchase, { count: 2, amount: 1500 });
  t.same(spool.journal.closeBatch(), { closed: 1, settled: 2, next: 2 });
  t.equal(spool.journal.get(a.id)!.state, 'settled');
  t.equal(spool.journal.get(c.id)!.state, 'declined');
  t.equal(spool.journal.begin({ amount: 1, currency: '840' }).batch, 2);
  t.match(spool.journal.get(a.id), { responseCode: '00', authCode: 'A1B2C3' });
});

t.test('retention purges finished transactions, never open ones', async (t) => {
  const day = 86_400_000;
  const { spool, clock } = openTestSpool({ retentionMs: 45 * day });
  t.teardown(() => spool.close());
  const done = spool.journal.begin({ amount: 1, currency: '840' });
  spool.journal.transition(done.id, 'declined');
  const open = spool.journal.begin({ amount: 1, currency: '840' });
  spool.journal.transition(open.id, 'approved');
  clock.advance(45 * day + 1);
  t.same(spool.purge(), { records: 0, transactions: 1, qrPayments: 0 });
  t.equal(spool.journal.get(done.id), undefined);
  t.equal(spool.journal.get(open.id)!.state, 'approved', 'approved but not settled: kept');
  t.same(spool.journal.history(done.id), [], 'its history went with it');
});

t.test(
  'a partial approval keeps the approved amount; the batch totals count what was approved, not what was asked',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const full = spool.journal.begin({ amount: 1000, currency: '840', pan: TEST_PAN });
    const partial = spool.journal.begin({ amount: 2500, currency: '840', pan: TEST_PAN });
    spool.journal.transition(full.id, 'approved', { responseCode: '00' });
    const moved = spool.journal.transition(partial.id, 'approved', { responseCode: '10', approvedAmount: 1800 });
    t.match(moved, { amount: 2500, approvedAmount: 1800, responseCode: '10' });
    t.equal(spool.journal.get(full.id)!.approvedAmount, 1000, 'a full approval: the amount asked');
    t.same(spool.journal.totals(1).purchase, { count: 2, amount: 2800 });

    const over = spool.journal.begin({ amount: 500, currency: '840', pan: TEST_PAN });
    t.throws(() => spool.journal.transition(over.id, 'approved', { responseCode: '10', approvedAmount: 600 }), {
      code: 'CODPOS_SPOOL_BAD_RECORD',
      message: /600 is not between 1 and the 500 asked for/,
    });
    t.equal(spool.journal.get(over.id)!.state, 'pending', 'nothing moved');
  },
);

t.test('list narrows by waybill and by the time a row was begun (from inclusive, before exclusive)', async (t) => {
  const { spool, clock } = openTestSpool();
  t.teardown(() => spool.close());
  const start = clock.now();
  const first = spool.journal.begin({ amount: 100, currency: '840', waybill: 'RR123456785CH' });
  clock.advance(60_000);
  const second = spool.journal.begin({ amount: 200, currency: '840', waybill: 'RR003000000CH' });
  clock.advance(60_000);
  const third = spool.journal.begin({ amount: 300, currency: '840', waybill: 'RR123456785CH' });
  spool.journal.transition(third.id, 'approved');
  const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);
  t.same(ids(spool.journal.list({ waybill: 'RR123456785CH' })), [first.id, third.id], 'one waybill, oldest first');
  t.same(ids(spool.journal.list({ createdFrom: start + 60_000 })), [second.id, third.id], 'from is inclusive');
  t.same(ids(spool.journal.list({ createdBefore: start + 120_000 })), [first.id, second.id], 'before is exclusive');
  t.same(
    ids(spool.journal.list({ waybill: 'RR123456785CH', createdFrom: start + 1, state: 'approved' })),
    [third.id],
    'filters combine',
  );
  t.same(spool.journal.list({ waybill: 'RR000000005CH' }), [], 'no row for another waybill');
});
