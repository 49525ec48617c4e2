/**
 * The tariff and the quote (runtime/workflow/tariff.ts): weight bands at their edges, zones by
 * area code or by the longest postcode prefix, the COD fee's minimum, fixed part and rounded
 * percentage, each error naming what is wrong; the reader refusing a bad tariff at the first fault.
 */
import t from 'tap';
import { codFeeFor, quote, readTariff, type Tariff } from '../../../runtime/workflow/tariff.js';
import { defaultSimTariff } from '../../../runtime/uplink/simulator.js';

function testTariff(): Record<string, unknown> {
  return {
    version: 'T-7',
    currency: '978',
    // The shortest prefixes first: the longest match must not depend on the order.
    zones: [
      { id: 'rest', postcodePrefixes: ['1', '2'] },
      { id: 'city', name: 'City', postcodePrefixes: ['10', '12'], areaCodes: ['BER'] },
      { id: 'inner', name: 'Inner city', postcodePrefixes: ['101'], areaCodes: ['BER-MITTE'] },
    ],
    weightBands: [
      { id: 'S', upToGrams: 1000 },
      { id: 'M', upToGrams: 5000 },
    ],
    services: [
      { id: 'standard', prices: { inner: [400, 600], city: [500, 700], rest: [800, 1100] } },
      { id: 'express', prices: { inner: [900, 1300], city: [1000, 1400], rest: [1500, null] } },
    ],
    codFee: { fixed: 50, rateBasisPoints: 150, minimum: 200 },
  };
}

const tariff: Tariff = readTariff(testTariff());

t.test(
  'weight bands: the upper limit is in the band, one gram more is the next; over the last band is refused naming it',
  async (t) => {
    const at = (weightGrams: number) => quote({ tariff, destination: '12000', weightGrams, service: 'standard' });
    t.match(at(1), { band: 'S', price: 500 });
    t.match(at(1000), { band: 'S', bandUpToGrams: 1000, price: 500 });
    t.match(at(1001), { band: 'M', price: 700 });
    t.match(at(5000), { band: 'M', price: 700, total: 700, codFee: 0, currency: '978', tariffVersion: 'T-7' });
    t.throws(() => at(5001), {
      code: 'CODPOS_USAGE_QUOTE_WEIGHT',
      message: 'weightGrams 5001: over the last weight band of tariff T-7 (M, up to 5000 g)',
    });
    t.throws(() => at(0), {
      code: 'CODPOS_USAGE_QUOTE',
      message: /weightGrams: expected a whole number of grams from 1/,
    });
    t.throws(() => at(12.5), { code: 'CODPOS_USAGE_QUOTE', message: /not 12.5/ });
  },
);

t.test('zones: an area code exactly, else the longest postcode prefix; spaces, hyphens and case ignored', async (t) => {
  const zoneOf = (destination: string) => quote({ tariff, destination, weightGrams: 500 });
  t.match(
    zoneOf('10115'),
    { zone: 'inner', zoneName: 'Inner city', matchedBy: { postcodePrefix: '101' }, price: 400 },
    '101 is longer than 10 and 1',
  );
  t.match(zoneOf('10247'), { zone: 'city', matchedBy: { postcodePrefix: '10' }, price: 500 }, '10 is longer than 1');
  t.match(
    zoneOf('13347'),
    { zone: 'rest', zoneName: 'rest', matchedBy: { postcodePrefix: '1' }, price: 800 },
    'only 1 matches; a zone without a name is called by its id',
  );
  t.match(zoneOf('ber-mitte'), { zone: 'inner', matchedBy: { areaCode: 'BER-MITTE'.replace('-', '') } });
  t.match(zoneOf(' BER '), { zone: 'city', matchedBy: { areaCode: 'BER' } });
  t.match(zoneOf('101 15'), { zone: 'inner' });
  const withArea = testTariff() as { zones: Array<{ areaCodes?: string[] }> };
  withArea.zones[0]!.areaCodes = ['10'];
  t.match(
    quote({ tariff: readTariff(withArea), destination: '10', weightGrams: 500 }),
    { zone: 'rest', matchedBy: { areaCode: '10' } },
    'an area code wins over a postcode prefix of the same text',
  );
  t.throws(() => zoneOf('30159'), {
    code: 'CODPOS_USAGE_QUOTE_NO_ZONE',
    message: 'destination 30159: no zone of tariff T-7 covers this postcode or area code',
  });
  t.throws(() => zoneOf('HAM'), { code: 'CODPOS_USAGE_QUOTE_NO_ZONE', message: /destination HAM: no zone/ });
  t.throws(() => zoneOf(' - '), {
    code: 'CODPOS_USAGE_QUOTE',
    message: 'destination: expected a postcode or an area code',
  });
});

t.test('services: the first by default, another by name; unknown or not offered is refused naming it', async (t) => {
  t.match(quote({ tariff, destination: '20095', weightGrams: 800 }), { service: 'standard', price: 800 });
  t.match(quote({ tariff, destination: '20095', weightGrams: 800, service: 'express' }), {
    service: 'express',
    price: 1500,
  });
  t.throws(() => quote({ tariff, destination: '20095', weightGrams: 800, service: 'overnight' }), {
    code: 'CODPOS_USAGE_QUOTE_SERVICE',
    message: 'service overnight: tariff T-7 has standard, express',
  });
  t.throws(() => quote({ tariff, destination: '20095', weightGrams: 4000, service: 'express' }), {
    code: 'CODPOS_USAGE_QUOTE_SERVICE',
    message: 'service express is not offered to zone rest for band M (up to 5000 g) in tariff T-7',
  });
});

t.test(
  'COD fee: nothing without COD; the minimum below it; fixed plus the percentage rounded half up above it',
  async (t) => {
    const fee = tariff.codFee; // fixed 50, 1.5 %, minimum 200
    t.equal(codFeeFor(fee, 0), 0, 'no COD, no fee (not the minimum)');
    t.equal(codFeeFor(fee, 1), 200, 'the minimum');
    t.equal(codFeeFor(fee, 10_000), 200, '50 + 150 = 200: exactly the minimum');
    t.equal(codFeeFor(fee, 10_100), 202, '50 + 151.5 -> 152 (half up)');
    t.equal(codFeeFor(fee, 10_099), 201, '50 + 151.485 -> 151');
    t.equal(codFeeFor(fee, 20_000), 350, '50 + 300');
    t.equal(codFeeFor({ fixed: 0, rateBasisPoints: 0, minimum: 0 }, 5000), 0);
    t.equal(codFeeFor({ fixed: 0, rateBasisPoints: 10_000, minimum: 0 }, 5000), 5000, '100 %');
    const q = quote({ tariff, destination: '10115', weightGrams: 1200, codAmount: 30_000 });
    t.match(q, { price: 600, codAmount: 30_000, codFee: 500, total: 1100 });
    t.throws(() => quote({ tariff, destination: '10115', weightGrams: 1200, codAmount: -1 }), {
      code: 'CODPOS_USAGE_QUOTE',
      message: /codAmount: expected a whole number of minor units/,
    });
  },
);

t.test('the reader names the first fault of a tariff that does not read', async (t) => {
  const refused = (change: (raw: Record<string, any>) => void, message: string | RegExp) => {
    const raw = testTariff() as Record<string, any>;
    change(raw);
    t.throws(
      () => readTariff(raw),
      { code: 'CODPOS_UPLINK_BAD_TARIFF', message },
      typeof message === 'string' ? message : message.source,
    );
  };
  t.throws(() => readTariff(null), {
    code: 'CODPOS_UPLINK_BAD_TARIFF',
    message: 'tariff: expected an object, not null',
  });
  t.throws(() => readTariff([]), { message: 'tariff: expected an object, not "a list"' });
  refused((r) => delete r.version, 'tariff.version: expected text of 1 to 64 characters, not nothing');
  refused((r) => (r.currency = 'EUR'), 'tariff.currency: expected an ISO 4217 numeric code such as "840", not "EUR"');
  refused((r) => (r.zones = []), 'tariff.zones: expected at least 1, not []');
  refused(
    (r) => (r.zones[0].postcodePrefixes = []),
    'tariff.zones[0]: zone rest needs at least one postcode prefix or area code',
  );
  refused(
    (r) => (r.zones[1].postcodePrefixes[1] = '1/2'),
    'tariff.zones[1].postcodePrefixes[1]: expected letters and digits, not "1/2"',
  );
  refused(
    (r) => (r.zones[2].postcodePrefixes[0] = '10'),
    'tariff.zones[2].postcodePrefixes[0]: postcode prefix 10 is already in zone city',
  );
  refused(
    (r) => (r.zones[2].areaCodes = ['ber']),
    'tariff.zones[2].areaCodes[0]: area code BER is already in zone city',
  );
  refused((r) => (r.zones[2].id = 'city'), 'tariff.zones[2].id: zone city is listed twice');
  refused(
    (r) => (r.weightBands[1].upToGrams = 1000),
    'tariff.weightBands[1].upToGrams: expected more than the band before it (1000), not 1000',
  );
  refused(
    (r) => (r.weightBands[0].upToGrams = 0.5),
    'tariff.weightBands[0].upToGrams: expected a whole number from 1 to 1000000, not 0.5',
  );
  refused(
    (r) => (r.services[1].prices.city = [1000]),
    'tariff.services[1].prices.city: expected 2 prices, one per weight band, not 1',
  );
  refused((r) => delete r.services[0].prices.rest, 'tariff.services[0].prices.rest: expected a list, not nothing');
  refused((r) => (r.services[0].prices.moon = [1, 2]), 'tariff.services[0].prices.moon: no zone is called moon');
  refused(
    (r) => (r.services[0].prices.inner[1] = '600'),
    'tariff.services[0].prices.inner[1]: expected a whole number from 0 to 100000000000, not "600"',
  );
  refused((r) => (r.services[1].id = 'standard'), 'tariff.services[1].id: service standard is listed twice');
  refused((r) => (r.weightBands[1].id = 'S'), 'tariff.weightBands[1].id: weight band S is listed twice');
  refused(
    (r) => (r.codFee.rateBasisPoints = 1.5),
    'tariff.codFee.rateBasisPoints: expected a whole number from 0 to 10000, not 1.5',
  );
  refused((r) => delete r.codFee, 'tariff.codFee: expected an object, not nothing');
});

t.test('the reader keeps what it checked, prefixes normalized, and ignores fields it does not know', async (t) => {
  const raw = testTariff() as Record<string, any>;
  raw.zones[2].postcodePrefixes = ['1 01'];
  raw.validFrom = '2026-12-01';
  const read = readTariff(raw);
  t.same(read.zones[2], { id: 'inner', name: 'Inner city', postcodePrefixes: ['101'], areaCodes: ['BERMITTE'] });
  t.equal((read as unknown as Record<string, unknown>).validFrom, undefined);
  t.same(read.codFee, { fixed: 50, rateBasisPoints: 150, minimum: 200 });
});

t.test("the simulator's default tariff reads and prices its own examples", async (t) => {
  const sim = readTariff(defaultSimTariff());
  t.match(quote({ tariff: sim, destination: '10001', weightGrams: 1500 }), {
    zone: 'city',
    band: 'M',
    service: 'standard',
    price: 700,
    currency: '840',
  });
  t.match(quote({ tariff: sim, destination: '11201', weightGrams: 900, service: 'express', codAmount: 4000 }), {
    zone: 'metro',
    price: 1100,
    codFee: 150,
    total: 1250,
  });
  t.match(quote({ tariff: sim, destination: '94105', weightGrams: 25_000 }), {
    zone: 'national',
    band: 'XL',
    price: 3600,
  });
});
