/**
 * CA public key checks (runtime/params/ca-key.ts) against the published test keys of
 * test/vectors/capk-test.json and mutated copies: each check refuses with the key's RID/index and
 * the check's name, the expiry at the boundary of its day.
 */
import t from 'tap';
import { caKeyChecksum, caKeyExpiryEnd, checkCaKey, checkCaKeys } from '../../../runtime/params/ca-key.js';
import type { CaKeyParams } from '../../../runtime/params/types.js';
import { BEFORE_EXPIRY, capkVectors, vectorCaKey } from './params-fixtures.js';

const key07 = vectorCaKey('A000000003', '07');
const refusal = (check: string, message: RegExp | string, rid = 'A000000003', index = '07') => ({
  name: 'PosError',
  code: 'CODPOS_PARAMS_CA_KEY',
  message,
  details: { rid, index, check },
});

t.test('the checksum of every vector key is the published SHA-1', async (t) => {
  for (const v of capkVectors) t.equal(caKeyChecksum(v), v.sha1, `${v.rid}/${v.index}`);
});

t.test('the dated vector keys pass before their expiry', async (t) => {
  for (const index of ['07', '08', '09'])
    t.doesNotThrow(() => checkCaKey(vectorCaKey('A000000003', index), BEFORE_EXPIRY));
  t.doesNotThrow(() => checkCaKey({ ...key07, checksum: key07.checksum.toLowerCase() }, BEFORE_EXPIRY), 'hex case');
});

t.test('each mutation is refused naming the key and the check', async (t) => {
  const mutated = (change: Partial<CaKeyParams>) => () => checkCaKey({ ...key07, ...change }, BEFORE_EXPIRY);
  t.throws(
    mutated({ rid: 'A0000000' }),
    refusal('rid', 'CA key A0000000/07: the RID must be 5 bytes (10 hex digits)', 'A0000000'),
  );
  t.throws(
    mutated({ index: '7' }),
    refusal('index', 'CA key A000000003/7: the index must be 1 byte (2 hex digits)', 'A000000003', '7'),
  );
  t.throws(mutated({ modulus: key07.modulus.slice(1) }), refusal('modulus', /the modulus must be hex, whole bytes/));
  t.throws(mutated({ modulus: `${key07.modulus.slice(2)}ZZ` }), refusal('modulus', /the modulus must be hex/));
  t.throws(
    mutated({ modulus: 'AB'.repeat(63) }),
    refusal('modulus', 'the modulus is 63 bytes; EMV CA keys are 64 to 248'),
  );
  t.throws(mutated({ modulus: 'AB'.repeat(249) }), refusal('modulus', 'the modulus is 249 bytes'));
  // 64 and 248 bytes are allowed sizes: such a key gets past the modulus check to its checksum.
  t.throws(mutated({ modulus: 'AB'.repeat(64) }), refusal('checksum', /does not match/), '64 bytes');
  t.throws(mutated({ modulus: 'AB'.repeat(248) }), refusal('checksum', /does not match/), '248 bytes');
  t.throws(mutated({ exponent: '02' }), refusal('exponent', 'the exponent must be 03 or 010001, not "02"'));
  t.throws(mutated({ expiry: '000000' }), refusal('expiry', 'the expiry "000000" is not a YYMMDD date'));
  t.throws(mutated({ expiry: '170229' }), refusal('expiry', /"170229" is not a YYMMDD date/), 'no 29 February 2017');
  t.throws(mutated({ expiry: '171301' }), refusal('expiry', /not a YYMMDD date/), 'month 13');
  t.throws(
    mutated({ checksum: key07.checksum.slice(2) }),
    refusal('checksum', 'the checksum must be 20 bytes (40 hex digits)'),
  );
  const badBit = (parseInt(key07.checksum.slice(-1), 16) ^ 1).toString(16).toUpperCase();
  t.throws(
    mutated({ checksum: key07.checksum.slice(0, -1) + badBit }),
    refusal(
      'checksum',
      `CA key A000000003/07: the SHA-1 checksum ${key07.checksum.slice(0, -1)}${badBit} does not match the key (${key07.checksum})`,
    ),
  );
  // One modulus bit: the checksum no longer matches (a key mangled on the way).
  const flipped = (parseInt(key07.modulus[20]!, 16) ^ 8).toString(16).toUpperCase();
  t.throws(
    mutated({ modulus: key07.modulus.slice(0, 20) + flipped + key07.modulus.slice(21) }),
    refusal('checksum', /does not match/),
  );
  t.throws(mutated({ exponent: '010001' }), refusal('checksum', /does not match/), 'the exponent is in the checksum');
});

t.test('a key is used through the last day of its expiry, UTC', async (t) => {
  t.equal(caKeyExpiryEnd('171231')?.toISOString(), '2017-12-31T23:59:59.999Z');
  t.equal(caKeyExpiryEnd('240229')?.toISOString(), '2024-02-29T23:59:59.999Z', 'a leap day');
  t.doesNotThrow(() => checkCaKey(key07, new Date('2017-12-31T23:59:59.999Z')));
  t.throws(
    () => checkCaKey(key07, new Date('2018-01-01T00:00:00.000Z')),
    refusal('expiry', 'CA key A000000003/07: expired on 2017-12-31'),
  );
});

t.test('a RID/index listed twice is refused', async (t) => {
  t.doesNotThrow(() => checkCaKeys([key07, vectorCaKey('A000000003', '08')], BEFORE_EXPIRY));
  t.throws(
    () => checkCaKeys([key07, vectorCaKey('A000000003', '08'), { ...key07, rid: 'a000000003' }], BEFORE_EXPIRY),
    refusal('duplicate', 'CA key a000000003/07: listed twice', 'a000000003'),
  );
});
