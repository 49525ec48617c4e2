import t from 'tap';
import { openTestSpool } from './helpers.js';
import { isPosError } from '../../config/errors.js';
import { QR_STATES, QR_TRANSITIONS, type QrState } from '../../spool/qr-transaction.js';
import { SCHEMA_VERSION } from '../../spool/migrations.js';

const PAYMENT = { mode: 'merchant' as const, amount: 2500, currency: '978', waybill: 'RR123456785CH' };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isPosError(error) ? error.code : `not a PosError: ${String(error)}`;
  }
  return undefined;
}

t.test('a QR payment is written pending before anything is sent, then moves with its history', async (t) => {
  const { spool, clock } = openTestSpool();
  t.teardown(() => spool.close());
  const begun = spool.qrJournal.begin(PAYMENT);
  t.match(begun, { mode: 'merchant', state: 'pending', amount: 2500, currency: '978', waybill: 'RR123456785CH' });
  t.equal(begun.refundedAmount, 0);
  t.equal(begun.finalAt, undefined, 'not final while pending');
  t.same(spool.qrJournal.get(begun.id), begun, 'read back as written');

  clock.advance(1000);
  const attached = spool.qrJournal.attach(begun.id, { pspOrderId: 'PSP-1', payload: '000201...' });
  t.equal(attached.state, 'pending', 'details do not move the state');
  t.equal(attached.pspOrderId, 'PSP-1');
  t.equal(attached.payload, '000201...');

  clock.advance(1000);
  const paid = spool.qrJournal.transition(begun.id, 'paid', { wallet: 'simwallet', reason: 'paid at the PSP' });
  t.equal(paid.state, 'paid');
  t.equal(paid.reason, 'paid at the PSP', 'the reason is on the row');
  t.equal(paid.wallet, 'simwallet');
  t.equal(paid.pspOrderId, 'PSP-1', 'what was attached stays');
  t.equal(paid.finalAt, clock.now(), 'final at the move');

  clock.advance(1000);
  const refunded = spool.qrJournal.transition(begun.id, 'refunded', { refundedAmount: 2500, reason: 'asked' });
  t.equal(refunded.refundedAmount, 2500);
  t.equal(refunded.finalAt, paid.finalAt, 'final time is when it was first final');
  t.same(
    spool.qrJournal.history(begun.id).map((h) => [h.from, h.to, h.reason]),
    [
      [null, 'pending', null],
      ['pending', 'paid', 'paid at the PSP'],
      ['paid', 'refunded', 'asked'],
    ],
  );
  t.same(spool.qrJournal.counts(), { refunded: 1 });
});

t.test('only the moves of the state machine are allowed', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  let n = 0;
  for (const from of QR_STATES) {
    for (const to of QR_STATES) {
      // Reach `from` by a legal path on a fresh waybill.
      const row = spool.qrJournal.begin({ ...PAYMENT, waybill: `W${n++}` });
      const path: Record<QrState, QrState[]> = {
        pending: [],
        unknown: ['unknown'],
        paid: ['paid'],
        declined: ['declined'],
        cancelled: ['cancelled'],
        refunded: ['paid', 'refunded'],
      };
      for (const step of path[from])
        spool.qrJournal.transition(row.id, step, step === 'refunded' ? { refundedAmount: 1 } : {});
      const input = to === 'refunded' ? { refundedAmount: 1 } : {};
      const code = codeOf(() => spool.qrJournal.transition(row.id, to, input));
      if (QR_TRANSITIONS[from].includes(to)) t.equal(code, undefined, `${from} -> ${to} allowed`);
      else t.equal(code, 'CODPOS_SPOOL_ILLEGAL_TRANSITION', `${from} -> ${to} refused`);
    }
  }
  t.equal(
    codeOf(() => spool.qrJournal.transition('nope', 'paid')),
    'CODPOS_SPOOL_NO_SUCH_RECORD',
  );
  t.equal(
    codeOf(() => spool.qrJournal.transition(spool.qrJournal.list()[0]!.id, 'bogus' as QrState)),
    'CODPOS_SPOOL_BAD_REQUEST',
  );
});

t.test('one waybill has at most one QR payment pending or unknown', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const first = spool.qrJournal.begin(PAYMENT);
  t.equal(
    codeOf(() => spool.qrJournal.begin(PAYMENT)),
    'CODPOS_SPOOL_QR_OUTSTANDING',
    'pending: refused',
  );
  t.same(spool.qrJournal.outstandingFor(PAYMENT.waybill)?.id, first.id);
  spool.qrJournal.transition(first.id, 'unknown', { reason: 'no answer' });
  t.equal(
    codeOf(() => spool.qrJournal.begin(PAYMENT)),
    'CODPOS_SPOOL_QR_OUTSTANDING',
    'unknown: refused too',
  );
  t.equal(spool.qrJournal.list({ waybill: PAYMENT.waybill }).length, 1, 'nothing written by the refusals');
  t.ok(spool.qrJournal.begin({ ...PAYMENT, waybill: 'OTHER' }), 'another waybill is free');
  t.same(
    spool.qrJournal.outstanding().map((p) => [p.waybill, p.state]),
    [
      [PAYMENT.waybill, 'unknown'],
      ['OTHER', 'pending'],
    ],
  );
  spool.qrJournal.transition(first.id, 'cancelled');
  t.ok(spool.qrJournal.begin(PAYMENT), 'once resolved, a new code may be shown');
});

t.test('bad input is refused naming the field, and nothing is written', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ mode: 'cash' }, 'mode'],
    [{ amount: 0 }, 'amount'],
    [{ amount: 12.5 }, 'amount'],
    [{ currency: 'EUR' }, 'currency'],
    [{ waybill: '' }, 'waybill'],
  ];
  for (const [change, field] of cases) {
    try {
      spool.qrJournal.begin({ ...PAYMENT, ...change } as typeof PAYMENT);
      t.fail(`${field}: accepted`);
    } catch (error) {
      t.ok(isPosError(error, 'CODPOS_SPOOL_BAD_RECORD'), `${field}: bad record`);
      t.match((error as Error).message, field);
    }
  }
  const row = spool.qrJournal.begin(PAYMENT);
  spool.qrJournal.transition(row.id, 'paid');
  t.equal(
    codeOf(() => spool.qrJournal.transition(row.id, 'refunded', { refundedAmount: 2501 })),
    'CODPOS_SPOOL_BAD_RECORD',
  );
  t.equal(
    codeOf(() => spool.qrJournal.transition(row.id, 'refunded')),
    'CODPOS_SPOOL_BAD_RECORD',
    'a refund names its amount',
  );
  t.equal(spool.qrJournal.get(row.id)?.state, 'paid', 'a refused move leaves the row');
  t.equal(spool.qrJournal.list().length, 1);
});

t.test('a move and its back-end record are one commit', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const row = spool.qrJournal.begin(PAYMENT);
  spool.qrJournal.transition(row.id, 'paid', {
    outbox: { stream: 'transaction', id: `qr-${row.id}`, payload: { kind: 'qr', id: row.id } },
  });
  spool.outbox.flushNow();
  const depth = spool.outbox.status().find((s) => s.stream === 'transaction')?.depth ?? 0;
  t.equal(depth, 1, 'the record is queued with the move');
  t.same(
    spool.outbox.list({ stream: 'transaction' }).map((record) => record.id),
    [`qr-${row.id}`],
    'under the id given',
  );
  // An illegal move with a record writes neither.
  t.throws(() =>
    spool.qrJournal.transition(row.id, 'declined', { outbox: { stream: 'transaction', payload: { kind: 'qr' } } }),
  );
  spool.outbox.flushNow();
  t.equal(spool.outbox.status().find((s) => s.stream === 'transaction')?.depth ?? 0, 1, 'no record for a refused move');
});

t.test('list by time and state; retention purges final rows only', async (t) => {
  const { spool, clock } = openTestSpool();
  t.teardown(() => spool.close());
  const a = spool.qrJournal.begin({ ...PAYMENT, waybill: 'A' });
  clock.advance(60_000);
  const b = spool.qrJournal.begin({ ...PAYMENT, waybill: 'B' });
  spool.qrJournal.transition(a.id, 'paid');
  t.same(
    spool.qrJournal.list({ createdFrom: a.createdAt + 1 }).map((p) => p.id),
    [b.id],
  );
  t.same(
    spool.qrJournal.list({ createdBefore: b.createdAt }).map((p) => p.id),
    [a.id],
  );
  t.same(
    spool.qrJournal.list({ state: 'paid' }).map((p) => p.id),
    [a.id],
  );
  clock.advance(60_000);
  t.equal(spool.qrJournal.purgeFinished(clock.now()), 1, 'the paid one, changed before');
  t.equal(spool.qrJournal.get(a.id), undefined);
  t.equal(spool.qrJournal.get(b.id)?.state, 'pending', 'a pending payment is never purged');
  t.equal(spool.qrJournal.history(a.id).length, 0, 'its history goes with it');
});

t.test('the schema holds the rules even against a direct write', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  t.ok(SCHEMA_VERSION >= 9);
  const row = spool.qrJournal.begin(PAYMENT);
  t.throws(
    () => spool.db.prepare(`UPDATE qr_txn SET state = 'paid' WHERE id = ?`).run(row.id),
    /CHECK/,
    'final needs a final time',
  );
  t.throws(
    () => spool.db.prepare(`UPDATE qr_txn SET refunded_amount = 1 WHERE id = ?`).run(row.id),
    /CHECK/,
    'refunds only when refunded',
  );
  t.throws(() => spool.db.prepare(`UPDATE qr_txn SET state = 'maybe' WHERE id = ?`).run(row.id), /CHECK/);
});
