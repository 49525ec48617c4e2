/**
 * The orderRef of a QR payment: the journal row's UUID in 22 base64url characters (an MPM
 * reference label holds at most 25), turned back into the same row id, and nothing else is.
 */
import t from 'tap';
import { orderRefOf, rowIdOf } from '../../../runtime/payment/qr-order-ref.js';
import { IdGenerator } from '../../../spool/ids.js';
import { prng } from '../../helpers/prng.js';

t.test('a row id becomes a 22-character reference and back, exactly', async (t) => {
  const ids = new IdGenerator();
  for (let i = 0; i < 200; i++) {
    const id = ids.next();
    const ref = orderRefOf(id);
    t.match(ref, /^[A-Za-z0-9_-]{22}$/);
    t.equal(rowIdOf(ref), id);
  }
  t.equal(orderRefOf('00112233-4455-6677-8899-aabbccddeeff'), 'ABEiM0RVZneImaq7zN3u_w');
  t.equal(rowIdOf('ABEiM0RVZneImaq7zN3u_w'), '00112233-4455-6677-8899-aabbccddeeff');
});

t.test('a reference that is not one of ours names no row', async (t) => {
  t.equal(rowIdOf('ABEiM0RVZneImaq7zN3u_x'), undefined, 'the spare low bits set: not the spelling we write');
  t.equal(rowIdOf('ABEiM0RVZneImaq7zN3u_'), undefined, 'too short');
  t.equal(rowIdOf('ABEiM0RVZneImaq7zN3u_w=='), undefined, 'padded');
  t.equal(rowIdOf('ABEiM0RVZneImaq7zN3u/w'), undefined, 'base64, not base64url');
  const random = prng(1605);
  for (let i = 0; i < 200; i++) {
    const text = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
      String.fromCharCode(33 + Math.floor(random() * 94)),
    ).join('');
    const id = rowIdOf(text);
    if (id !== undefined) t.equal(orderRefOf(id), text, 'whatever names a row is the reference of that row');
  }
});

t.test('an id that is not a journal UUID is refused', async (t) => {
  t.throws(() => orderRefOf('not-a-uuid'), { code: 'CODPOS_SPOOL_BAD_RECORD' });
});
