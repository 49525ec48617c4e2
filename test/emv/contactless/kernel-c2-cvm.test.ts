/**
 * C-2 cardholder verification: the phone's own CVM, a card without cardholder verification, and
 * the CVM list's rules and conditions against what the terminal supports above and under the
 * reader CVM required limit.
 */
import t from 'tap';
import { selectC2Cvm, type C2CvmInput } from '../../../emv/contactless/c2-cvm.js';

/** X = 20.00, Y = 100.00; then the rules. */
const list = (...rules: string[]) => Buffer.from('000007D0' + '00002710' + rules.join(''), 'hex');

function cvm(overrides: Partial<C2CvmInput>) {
  const result = selectC2Cvm({
    aip: Buffer.from('1981', 'hex'),
    cvmList: list('4203', '1E03', '1F03'),
    cvmRequiredLimitExceeded: true,
    amount: 1500,
    transactionType: '00',
    terminalType: '22',
    onlinePinSupported: true,
    signatureSupported: true,
    onDeviceCvmSupported: true,
    ...overrides,
  });
  return { cvm: result.cvm, results: result.cvmResults.toString('hex').toUpperCase(), tvr: result.tvrBits };
}

t.test('on-device CVM when the phone says so (AIP byte 1 bit 2) and the kernel accepts it', async (t) => {
  t.same(cvm({ aip: Buffer.from('1B81', 'hex') }), { cvm: 'confirmation-code-verified', results: '010002', tvr: [] });
  t.same(cvm({ aip: Buffer.from('1B81', 'hex'), cvmRequiredLimitExceeded: false }), {
    cvm: 'no-cvm',
    results: '3F0002',
    tvr: [],
  });
  t.equal(cvm({ aip: Buffer.from('1B81', 'hex'), onDeviceCvmSupported: false }).cvm, 'online-pin');
});

t.test('no cardholder verification in the AIP, or no CVM list', async (t) => {
  t.same(cvm({ aip: Buffer.from('0981', 'hex') }), { cvm: 'no-cvm', results: '3F0000', tvr: [] });
  t.same(cvm({ cvmList: undefined }), { cvm: 'no-cvm', results: '3F0000', tvr: ['iccDataMissing'] });
  t.same(cvm({ cvmList: Buffer.alloc(9) }), { cvm: 'no-cvm', results: '3F0000', tvr: ['iccDataMissing'] });
});

t.test('the list against the terminal above and under the limit', async (t) => {
  t.same(cvm({}), { cvm: 'online-pin', results: '420300', tvr: ['onlinePinEntered'] });
  t.same(cvm({ onlinePinSupported: false }), { cvm: 'signature', results: '1E0300', tvr: [] });
  t.same(cvm({ cvmRequiredLimitExceeded: false }), { cvm: 'no-cvm', results: '1F0302', tvr: [] });
  t.same(cvm({ onlinePinSupported: false, signatureSupported: false }), {
    cvm: 'no-cvm',
    results: '3F0001',
    tvr: ['cardholderVerificationNotSuccessful'],
  });
});

t.test('a rule that always applies: apply next (bit 7) or fail', async (t) => {
  t.same(cvm({ cvmList: list('4200', '1E00'), onlinePinSupported: false }), {
    cvm: 'signature',
    results: '1E0000',
    tvr: [],
  });
  t.same(cvm({ cvmList: list('0200', '1E00'), onlinePinSupported: false }), {
    cvm: 'no-cvm',
    results: '3F0001',
    tvr: ['cardholderVerificationNotSuccessful'],
  });
  t.same(cvm({ cvmList: list('0000', '1E00') }), {
    cvm: 'no-cvm',
    results: '000001',
    tvr: ['cardholderVerificationNotSuccessful'],
  });
  t.same(cvm({ cvmList: list('5A00', '1E00') }), { cvm: 'signature', results: '1E0000', tvr: ['unrecognisedCvm'] });
  t.same(cvm({ cvmList: list('1A00', '1E00') }), {
    cvm: 'no-cvm',
    results: '3F0001',
    tvr: ['unrecognisedCvm', 'cardholderVerificationNotSuccessful'],
  });
});

t.test('amount conditions against X and Y', async (t) => {
  const xs = list('1E06', '0207', '1E00');
  t.equal(cvm({ cvmList: xs, amount: 1999 }).results, '1E0600', 'under X');
  t.equal(cvm({ cvmList: xs, amount: 2000 }).results, '1E0000', 'at X: neither under nor over');
  t.equal(cvm({ cvmList: xs, amount: 2001 }).results, '020700', 'over X');
  const ys = list('1E08', '0209', '1E00');
  t.equal(cvm({ cvmList: ys, amount: 9999 }).results, '1E0800', 'under Y');
  t.equal(cvm({ cvmList: ys, amount: 10000 }).results, '1E0000', 'at Y');
  t.equal(cvm({ cvmList: ys, amount: 10001 }).results, '020900', 'over Y');
});

t.test('transaction conditions: cash attended or not, cashback, purchase', async (t) => {
  const rules = list('0201', '1E04', '0205', '1E02', '1F00');
  t.equal(cvm({ cvmList: rules, transactionType: '01', terminalType: '25' }).results, '020100', 'unattended cash');
  t.equal(cvm({ cvmList: rules, transactionType: '01', terminalType: '22' }).results, '1E0400', 'manual cash');
  t.equal(cvm({ cvmList: rules, transactionType: '09' }).results, '020500', 'purchase with cashback');
  t.equal(cvm({ cvmList: rules, transactionType: '00' }).results, '1E0200', 'a purchase: not cash nor cashback');
  t.equal(cvm({ cvmList: list('1E0A', '0200') }).results, '020000', 'an unknown condition never applies');
});
