/**
 * The acquirer simulator's book on its own (sim-book.ts): approvals, reversals (idempotent),
 * voids and reversed voids, settlement per terminal, and its bound. The simulator tests prove
 * the same over TCP; here each rule is one row, with the expected totals written out.
 */
import t from 'tap';
import { SimBook } from '../../../runtime/host/sim-book.js';

t.test('approvals, reversals, voids and a reversed void move the totals as a host would', async (t) => {
  const book = new SimBook();
  book.put('T1', '000001', 1000n);
  book.put('T1', '000002', 250n);
  book.put('T2', '000001', 70n);
  t.same(book.books(), [
    { terminalId: 'T1', count: 2, amount: 1250 },
    { terminalId: 'T2', count: 1, amount: 70 },
  ]);

  book.reverse('T1', '000002');
  book.reverse('T1', '000002'); // a repeat 0401 changes nothing more
  book.reverse('T1', '999999'); // a reversal of something never booked is answered, and changes nothing
  t.same(book.books()[0], { terminalId: 'T1', count: 1, amount: 1000 });

  t.equal(book.void('T1', '000002', '000010'), false, 'a reversed purchase cannot be voided');
  t.equal(book.void('T1', '000001', '000011'), true);
  t.equal(book.void('T1', '000001', '000012'), false, 'nor voided twice');
  t.same(book.books()[0], { terminalId: 'T1', count: 0, amount: 0 });
  book.reverse('T1', '000011'); // the void reversed: the purchase is on the book again
  t.same(book.books()[0], { terminalId: 'T1', count: 1, amount: 1000 });
});

t.test("a settlement in balance closes only that terminal's batch; out of balance keeps it", async (t) => {
  const book = new SimBook();
  book.put('T1', '000001', 1000n);
  book.put('T2', '000001', 70n);
  t.equal(book.settle('T1', 1, 999n), false, 'amount off by one');
  t.equal(book.settle('T1', 2, 1000n), false, 'count off by one');
  t.equal(book.size, 2);
  t.equal(book.settle('T1', 1, 1000n), true);
  t.equal(book.has('T1', '000001'), false, 'T1 starts a new batch');
  t.equal(book.has('T2', '000001'), true, 'T2 untouched');
  t.equal(book.settle('T3', 0, 0n), true, 'a terminal with nothing booked and nothing to settle is in balance');
});

t.test('forget loses one transaction; past maxBooked the oldest goes and the audit is told', async (t) => {
  let forgotten = 0;
  const book = new SimBook({ maxBooked: 2, onForgotten: () => forgotten++ });
  book.put('T1', '000001', 10n);
  book.put('T1', '000002', 20n);
  book.put('T1', '000001', 10n); // booked again: now the newest
  book.put('T1', '000003', 30n);
  t.equal(forgotten, 1);
  t.equal(book.has('T1', '000002'), false, 'the oldest was 000002, not the re-booked 000001');
  t.same(book.books(), [{ terminalId: 'T1', count: 2, amount: 40 }]);
  t.equal(book.forget('T1', '000003'), true);
  t.equal(book.forget('T1', '000003'), false);
  t.same(book.books(), [{ terminalId: 'T1', count: 1, amount: 10 }]);
});
