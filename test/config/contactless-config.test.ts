/**
 * `emv.contactless`: the defaults are the lab's two combinations, contactlessCombinations()
 * gives Entry Point what the config says (and nothing when contactless is off), and each bad
 * setting is refused by `config check` with a line naming it.
 */
import t from 'tap';
import { join } from 'node:path';
import { loadConfig, validateConfig } from '../../config/load.js';
import { contactlessCombinations } from '../../config/contactless.js';
import { isPosError } from '../../config/errors.js';
import { loadCheckedConfig } from '../../runtime/config-check.js';
import { shippedConfigDir, simConfigPath } from '../../config/paths.js';
import type { ConfigInput } from '../../config/schema.js';

function problemsOf(input: ConfigInput): string[] {
  try {
    validateConfig(input);
  } catch (error) {
    if (isPosError(error, 'CODPOS_CONFIG_INVALID')) return error.details!.problems as string[];
    throw error;
  }
  throw new Error('expected the config to be refused');
}

const visa = { aid: 'A0000000031010', kernelId: 3 as const, ttq: '36004000' };
const mastercard = {
  aid: 'A0000000041010',
  kernelId: 2 as const,
  tacDenial: '0000000000',
  tacOnline: 'F45084800C',
  tacDefault: 'F45084800C',
  applicationVersion: '0002',
};
const withCombinations = (...combinations: object[]): ConfigInput =>
  ({ emv: { contactless: { combinations } } }) as ConfigInput;

t.test(
  'defaults: Visa A0000000031010 on kernel 3, Mastercard A0000000041010 on kernel 2, as Entry Point reads them',
  async (t) => {
    const config = validateConfig({});
    t.equal(config.emv.contactless.enabled, true);
    t.equal(config.emv.contactless.pollTimeoutMs, 1000);
    t.equal(config.emv.contactless.maxTryAgain, 3);
    t.same(contactlessCombinations(config), [
      {
        aid: 'A0000000031010',
        kernelId: 3,
        statusCheckSupported: false,
        zeroAmountAllowed: true,
        transactionLimit: 50000,
        floorLimit: 0,
        cvmRequiredLimit: 5000,
        ttq: '36004000',
      },
      {
        aid: 'A0000000041010',
        kernelId: 2,
        statusCheckSupported: false,
        zeroAmountAllowed: true,
        transactionLimit: 50000,
        floorLimit: 0,
        cvmRequiredLimit: 5000,
        tacDenial: '0000000000',
        tacOnline: 'F45084800C',
        tacDefault: 'F45084800C',
        applicationVersion: '0002',
        magStripeModeSupported: false,
        relayResistance: { minGracePeriod: 20, maxGracePeriod: 50, accuracyThreshold: 300, mismatchThreshold: 50 },
      },
    ]);
  },
);

t.test('a configured combination: hex upper-cased, absent limits stay absent, flags carried', async (t) => {
  const config = validateConfig(
    withCombinations(
      { ...visa, aid: 'a0000000032010', ttq: '3600c000', statusCheck: true, zeroAmountAllowed: false },
      { ...mastercard, tacOnline: 'fc50bcf800', magStripeMode: true, transactionLimit: 100000, cvmRequiredLimit: 0 },
    ),
  );
  t.same(contactlessCombinations(config), [
    { aid: 'A0000000032010', kernelId: 3, statusCheckSupported: true, zeroAmountAllowed: false, ttq: '3600C000' },
    {
      aid: 'A0000000041010',
      kernelId: 2,
      statusCheckSupported: false,
      zeroAmountAllowed: true,
      transactionLimit: 100000,
      cvmRequiredLimit: 0,
      tacDenial: '0000000000',
      tacOnline: 'FC50BCF800',
      tacDefault: 'F45084800C',
      applicationVersion: '0002',
      magStripeModeSupported: true,
    },
  ]);
});

t.test('contactless disabled: Entry Point gets no combination', async (t) => {
  t.same(contactlessCombinations(validateConfig({ emv: { contactless: { enabled: false } } })), []);
});

t.test('each bad setting is refused with a line that names it', async (t) => {
  const at = (i: number, key: string) => `emv.contactless.combinations.${i}.${key}`;
  t.match(problemsOf(withCombinations({ ...visa, kernelId: 4 })), [
    new RegExp(`^${at(0, 'kernelId')}: expected kernel 2`),
  ]);
  t.match(problemsOf(withCombinations({ ...visa, aid: 'A000' })), [new RegExp(`^${at(0, 'aid')}: expected an AID`)]);
  t.match(problemsOf(withCombinations({ ...visa, ttq: '360040' })), [
    new RegExp(`^${at(0, 'ttq')}: expected 8 hex digits`),
  ]);
  t.match(problemsOf(withCombinations({ ...mastercard, tacOnline: 'F45084800' })), [
    new RegExp(`^${at(0, 'tacOnline')}: expected 10 hex digits`),
  ]);
  t.match(problemsOf(withCombinations({ ...visa, floorLimit: -1 })), [new RegExp(`^${at(0, 'floorLimit')}: `)]);
  t.match(problemsOf(withCombinations({ ...visa, transactionLimit: 1.5 })), [
    new RegExp(`^${at(0, 'transactionLimit')}: expected an integer`),
  ]);
  t.match(problemsOf(withCombinations({ aid: visa.aid, kernelId: 3 })), [
    new RegExp(`^${at(0, 'ttq')}: kernel 3 needs`),
  ]);
  t.match(problemsOf(withCombinations({ ...visa, tacOnline: 'F45084800C' })), [
    new RegExp(`^${at(0, 'tacOnline')}: is a kernel 2 setting`),
  ]);
  t.match(problemsOf(withCombinations({ ...visa, magStripeMode: true })), [
    new RegExp(`^${at(0, 'magStripeMode')}: is a kernel 2 setting`),
  ]);
  t.match(problemsOf(withCombinations({ ...mastercard, ttq: '36004000' })), [
    new RegExp(`^${at(0, 'ttq')}: is a kernel 3 setting`),
  ]);
  const { applicationVersion: _dropped, ...noVersion } = mastercard;
  t.match(problemsOf(withCombinations(noVersion)), [new RegExp(`^${at(0, 'applicationVersion')}: kernel 2 needs it`)]);
  t.match(
    problemsOf(
      withCombinations({
        ...mastercard,
        relayResistance: { minGracePeriod: 60, maxGracePeriod: 50, accuracyThreshold: 300, mismatchThreshold: 50 },
      }),
    ),
    [new RegExp(`^${at(0, 'relayResistance')}: minGracePeriod must not exceed maxGracePeriod`)],
  );
  t.match(
    problemsOf(
      withCombinations({
        ...mastercard,
        relayResistance: { minGracePeriod: 0, maxGracePeriod: 50, accuracyThreshold: 300, mismatchThreshold: 101 },
      }),
    ),
    [new RegExp(`^${at(0, 'relayResistance')}.mismatchThreshold: `)],
  );
  t.match(problemsOf(withCombinations({ ...visa, transactionLimit: 5000, cvmRequiredLimit: 5000 })), [
    new RegExp(`^${at(0, 'cvmRequiredLimit')}: must be below transactionLimit \\(5000\\)`),
  ]);
  t.match(problemsOf(withCombinations({ ...visa, transactionLimit: 5000, floorLimit: 5000 })), [
    new RegExp(`^${at(0, 'floorLimit')}: must be below transactionLimit \\(5000\\)`),
  ]);
  t.match(problemsOf(withCombinations(visa, { ...visa, aid: visa.aid.toLowerCase() })), [
    /^emv\.contactless\.combinations\.1\.aid: listed twice: AID a0000000031010 with kernel 3/,
  ]);
  t.match(problemsOf(withCombinations()), [/^emv\.contactless\.combinations: /]);
  t.match(problemsOf({ emv: { contactless: { pollTimeoutMs: 0 } } }), [/^emv\.contactless\.pollTimeoutMs: /]);
  t.match(problemsOf({ emv: { contactless: { maxTryAgain: 11 } } }), [/^emv\.contactless\.maxTryAgain: /]);
  t.match(problemsOf({ emv: { contactless: { tapLimit: 1 } } } as ConfigInput), [
    /^emv\.contactless\.tapLimit: unknown setting/,
  ]);
});

t.test('the same AID on both kernels is two combinations, not a duplicate', async (t) => {
  const config = validateConfig(withCombinations(visa, { ...mastercard, aid: visa.aid }));
  t.same(
    contactlessCombinations(config).map((c) => `${c.aid}/${c.kernelId}`),
    ['A0000000031010/3', 'A0000000031010/2'],
  );
});

t.test("config check reads the shipped configs' contactless settings", async (t) => {
  // example.json names a CA key file of a real box: the schema's check is what applies here.
  const example = loadConfig({ file: join(shippedConfigDir, 'example.json'), env: {} }).config;
  t.equal(example.emv.contactless.enabled, true);
  t.same(
    contactlessCombinations(example).map((c) => [c.aid, c.kernelId, c.transactionLimit, c.cvmRequiredLimit]),
    [
      ['A0000000031010', 3, 20000, 5000],
      ['A0000000041010', 2, 20000, 5000],
    ],
  );
  const sim = loadCheckedConfig({ file: simConfigPath, env: {} }).config;
  t.same(
    contactlessCombinations(sim).map((c) => [c.aid, c.kernelId]),
    [
      ['A0000000031010', 3],
      ['A0000000041010', 2],
    ],
  );
});
