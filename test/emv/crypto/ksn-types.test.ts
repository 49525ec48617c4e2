/**
 * The TDES and AES KSNs are distinct branded types. The `@ts-expect-error` lines
 * below are checked by `npm run typecheck`: if mixing the two ever compiled, the
 * directive would be unused and the type check would fail.
 */
import t from 'tap';
import { deriveTdesKeys, nextKsn, parseTdesKsn, type TdesKsn } from '../../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, nextAesKsn, parseAesKsn, type AesKsn } from '../../../emv/crypto/dukpt-aes.js';

/** Never called: its body is the compile-time assertion. */
export function mixingKsnsDoesNotCompile(tdes: TdesKsn, aes: AesKsn, plain: Buffer): void {
  // @ts-expect-error an AES KSN is not a TDES KSN
  deriveTdesKeys('0123456789ABCDEFFEDCBA9876543210', aes);
  // @ts-expect-error a TDES KSN is not an AES KSN
  deriveAesKeys('FEDCBA9876543210F1F1F1F1F1F1F1F1', tdes);
  // @ts-expect-error a bare Buffer must go through parseTdesKsn first
  nextKsn(plain);
  // @ts-expect-error a bare Buffer must go through parseAesKsn first
  nextAesKsn(plain);
  // @ts-expect-error nextAesKsn does not take a TDES KSN
  nextAesKsn(tdes);
  const back: Buffer = tdes; // a KSN is still a Buffer for reading
  void back;
}

t.test('each parser only accepts its own KSN length, so the brands match the bytes', async (t) => {
  t.equal(parseTdesKsn('FFFF9876543210E00001').length, 10);
  t.equal(parseAesKsn('123456789012345600000001').length, 12);
  t.throws(() => parseTdesKsn('123456789012345600000001'), { code: 'CODPOS_CRYPTO_KSN_LENGTH' });
  t.throws(() => parseAesKsn('FFFF9876543210E00001'), { code: 'CODPOS_CRYPTO_KSN_LENGTH' });
  t.equal(typeof mixingKsnsDoesNotCompile, 'function');
});
