/** Entry Point pre-processing (Book B 3.1.1): each indicator at, below and above its limit, and the TTQ copy. */
import t from 'tap';
import {
  noCombinationAllowed,
  oneCurrencyUnit,
  preProcess,
  preProcessCombination,
} from '../../../emv/contactless/pre-processing.js';
import type { ContactlessCombination } from '../../../emv/contactless/types.js';

const visa: ContactlessCombination = { aid: 'A0000000031010', kernelId: 3 };
const at = (combination: Partial<ContactlessCombination>, amount: number, currencyExponent?: number) =>
  preProcessCombination(
    { ...visa, ...combination },
    currencyExponent === undefined ? { amount } : { amount, currencyExponent },
  );

t.test('nothing configured: every indicator off, no TTQ copy', async (t) => {
  t.same(at({}, 12345), {
    statusCheckRequested: false,
    contactlessApplicationNotAllowed: false,
    zeroAmount: false,
    cvmRequiredLimitExceeded: false,
    floorLimitExceeded: false,
  });
  t.notOk('ttq' in at({}, 12345));
});

t.test('status check: one unit of the currency, only when supported', async (t) => {
  t.equal(oneCurrencyUnit({}), 100, 'exponent 2 by default');
  t.equal(oneCurrencyUnit({ currencyExponent: 0 }), 1);
  t.equal(at({ statusCheckSupported: true }, 100).statusCheckRequested, true);
  t.equal(at({ statusCheckSupported: true }, 99).statusCheckRequested, false);
  t.equal(at({ statusCheckSupported: true }, 101).statusCheckRequested, false);
  t.equal(at({ statusCheckSupported: false }, 100).statusCheckRequested, false);
  t.equal(at({}, 100).statusCheckRequested, false);
  t.equal(at({ statusCheckSupported: true }, 1, 0).statusCheckRequested, true, 'yen: one unit is 1');
  t.equal(at({ statusCheckSupported: true }, 100, 0).statusCheckRequested, false);
});

t.test('zero amount: allowed gives the indicator, else the combination is not allowed', async (t) => {
  const allowed = at({ zeroAmountAllowed: true }, 0);
  t.equal(allowed.zeroAmount, true);
  t.equal(allowed.contactlessApplicationNotAllowed, false);
  const refused = at({ zeroAmountAllowed: false }, 0);
  t.equal(refused.zeroAmount, false);
  t.equal(refused.contactlessApplicationNotAllowed, true);
  t.equal(at({}, 0).contactlessApplicationNotAllowed, true, 'absent flag = not allowed');
  t.equal(at({ zeroAmountAllowed: true }, 1).zeroAmount, false);
  t.equal(at({}, 1).contactlessApplicationNotAllowed, false);
});

t.test('contactless transaction limit: at or above it, not allowed', async (t) => {
  t.equal(at({ transactionLimit: 5000 }, 4999).contactlessApplicationNotAllowed, false);
  t.equal(at({ transactionLimit: 5000 }, 5000).contactlessApplicationNotAllowed, true);
  t.equal(at({ transactionLimit: 5000 }, 5001).contactlessApplicationNotAllowed, true);
});

t.test('floor limit: exceeded only above it', async (t) => {
  t.equal(at({ floorLimit: 2000 }, 1999).floorLimitExceeded, false);
  t.equal(at({ floorLimit: 2000 }, 2000).floorLimitExceeded, false);
  t.equal(at({ floorLimit: 2000 }, 2001).floorLimitExceeded, true);
  t.equal(at({ floorLimit: 0 }, 1).floorLimitExceeded, true, 'a zero floor limit sends everything online');
});

t.test('floor limit: the terminal floor limit (9F1B) of the same AID when the combination has none', async (t) => {
  t.equal(preProcessCombination(visa, { amount: 2001 }, 2000).floorLimitExceeded, true);
  t.equal(preProcessCombination(visa, { amount: 2000 }, 2000).floorLimitExceeded, false);
  t.equal(
    preProcessCombination({ ...visa, floorLimit: 5000 }, { amount: 2001 }, 2000).floorLimitExceeded,
    false,
    'its own wins',
  );
  const apps = [
    { aid: 'A0000000041010', floorLimit: 0 },
    { aid: 'a0000000031010', floorLimit: 2000 },
  ];
  const [visaResult, mcResult] = preProcess([visa, { aid: 'A0000000041010', kernelId: 2 }], { amount: 2001 }, apps);
  t.equal(visaResult!.indicators.floorLimitExceeded, true, 'matched by AID, whatever the case');
  t.equal(mcResult!.indicators.floorLimitExceeded, true);
  const [below] = preProcess([visa], { amount: 1500 }, apps);
  t.equal(below!.indicators.floorLimitExceeded, false, "Visa's 2000, not Mastercard's 0");
  t.equal(
    preProcess([visa], { amount: 2001 }, [{ aid: 'A0000000031011', floorLimit: 0 }])[0]!.indicators.floorLimitExceeded,
    false,
    'another AID lends nothing',
  );
});

t.test('CVM required limit: exceeded at or above it', async (t) => {
  t.equal(at({ cvmRequiredLimit: 3000 }, 2999).cvmRequiredLimitExceeded, false);
  t.equal(at({ cvmRequiredLimit: 3000 }, 3000).cvmRequiredLimitExceeded, true);
  t.equal(at({ cvmRequiredLimit: 3000 }, 3001).cvmRequiredLimitExceeded, true);
});

t.test('TTQ copy: byte 2 bits 8 and 7 cleared, then set by the indicators', async (t) => {
  const ttq = (combination: Partial<ContactlessCombination>, amount: number) =>
    at({ ttq: '36C04000', ...combination }, amount)
      .ttq?.toString('hex')
      .toUpperCase();
  t.equal(ttq({}, 500), '36004000', 'configured bits 8 and 7 of byte 2 do not survive');
  t.equal(ttq({ floorLimit: 500 }, 500), '36004000');
  t.equal(ttq({ floorLimit: 500 }, 501), '36804000', 'floor limit exceeded: online cryptogram required');
  t.equal(ttq({ statusCheckSupported: true }, 100), '36804000', 'status check: online cryptogram required');
  t.equal(ttq({ cvmRequiredLimit: 500 }, 499), '36004000');
  t.equal(ttq({ cvmRequiredLimit: 500 }, 500), '36404000', 'CVM required limit reached: CVM required');
  t.equal(ttq({ floorLimit: 0, cvmRequiredLimit: 0 }, 1), '36C04000', 'both');
  t.equal(ttq({ zeroAmountAllowed: true }, 0), '36804000', 'zero amount on a reader that can go online');

  const offlineOnly = at({ ttq: '3E000000', zeroAmountAllowed: true }, 0);
  t.equal(offlineOnly.contactlessApplicationNotAllowed, true, 'zero amount on an offline-only reader: not allowed');
  t.equal(offlineOnly.ttq?.toString('hex'), '3e000000');

  const combination = { ...visa, ttq: '36C04000' };
  preProcessCombination(combination, { amount: 1 });
  t.equal(combination.ttq, '36C04000', 'the configured TTQ is not changed');
});

t.test('all combinations not allowed, or only some', async (t) => {
  const combinations: ContactlessCombination[] = [
    { ...visa, transactionLimit: 1000 },
    { aid: 'A0000000041010', kernelId: 2, transactionLimit: 3000 },
  ];
  const below = preProcess(combinations, { amount: 2000 });
  t.same(
    below.map((e) => e.indicators.contactlessApplicationNotAllowed),
    [true, false],
  );
  t.equal(below[1]!.combination, combinations[1], 'each result names its combination');
  t.equal(noCombinationAllowed(below), false);
  t.equal(noCombinationAllowed(preProcess(combinations, { amount: 3000 })), true);
});
