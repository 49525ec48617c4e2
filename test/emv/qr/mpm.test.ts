import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { PosError, type ErrorCode } from '../../../config/errors.js';
import { prng } from '../../helpers/prng.js';
import {
  buildMpm,
  crc16Ccitt,
  crc16Hex,
  currencyExponent,
  minorToMpmAmount,
  mpmAmountToMinor,
  parseMpm,
  serializeMpm,
  type MpmInput,
} from '../../../emv/qr/index.js';

interface MpmVector {
  name: string;
  source: string;
  payload: string;
  expect: Record<string, unknown> & {
    merchantAccountIds: string[];
    globallyUniqueIdentifiers: string[];
  };
}
const vectors = JSON.parse(readFileSync(new URL('../../vectors/emv-qr.json', import.meta.url), 'utf8')) as {
  mpm: MpmVector[];
};
const EMVCO_EXAMPLE = vectors.mpm[0]!.payload;

function posErrorOf(fn: () => unknown): PosError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PosError) return error;
    throw error;
  }
  throw new Error('expected a PosError, got none');
}

/** Appends "6304" and the right CRC to a body. */
function withCrc(body: string): string {
  return `${body}6304${crc16Hex(`${body}6304`)}`;
}

const tlv = (id: string, value: string) => `${id}${String(Array.from(value).length).padStart(2, '0')}${value}`;

/** A minimal valid body (no CRC), with overrides by ID; an override of undefined drops the tag. */
function body(overrides: Record<string, string | undefined> = {}): string {
  const base: [string, string][] = [
    ['00', '01'],
    ['01', '12'],
    ['26', tlv('00', 'com.example.wallet') + tlv('01', 'M123')],
    ['52', '4215'],
    ['53', '840'],
    ['54', '25.00'],
    ['58', 'US'],
    ['59', 'CODPOS COURIER'],
    ['60', 'SPRINGFIELD'],
  ];
  const map = new Map(base);
  for (const [id, value] of Object.entries(overrides)) {
    if (value === undefined) map.delete(id);
    else map.set(id, value);
  }
  return [...map].map(([id, value]) => tlv(id, value)).join('');
}

function refusedWith(t: Test, payload: string, code: ErrorCode, messagePart: string | RegExp): PosError {
  const error = posErrorOf(() => parseMpm(payload));
  t.equal(error.code, code, `code for: ${error.message}`);
  t.equal(error.area, 'QR');
  if (typeof messagePart === 'string')
    t.ok(error.message.includes(messagePart), `"${error.message}" names ${messagePart}`);
  else t.match(error.message, messagePart);
  return error;
}

t.test('CRC-16/CCITT-FALSE: the standard check value and the EMVCo example', async (t) => {
  t.equal(crc16Ccitt('123456789'), 0x29b1);
  t.equal(crc16Ccitt(Buffer.from('123456789')), 0x29b1);
  t.equal(crc16Ccitt(''), 0xffff, 'the initial value with no data');
  t.equal(crc16Hex(EMVCO_EXAMPLE.slice(0, -4)), 'A13A', 'over the UTF-8 bytes up to and including 6304');
  t.equal(crc16Hex('\u0000'.repeat(0) + 'A'), crc16Ccitt('A').toString(16).toUpperCase().padStart(4, '0'));
  // A CRC below 0x1000 keeps its leading zero: search a short seeded input for one.
  const random = prng(7);
  let small = '';
  while (small === '') {
    const candidate = String(Math.floor(random() * 1e9));
    if (crc16Ccitt(candidate) < 0x1000) small = candidate;
  }
  t.match(crc16Hex(small), /^0[0-9A-F]{3}$/);
});

t.test('published vectors parse to the fields their source states and serialize back byte for byte', async (t) => {
  for (const vector of vectors.mpm) {
    t.ok(vector.source.length > 0, `${vector.name} names its source`);
    const parsed = parseMpm(vector.payload);
    t.equal(serializeMpm(parsed), vector.payload, `${vector.name}: byte for byte`);
    const { merchantAccountIds, globallyUniqueIdentifiers, ...fields } = vector.expect;
    t.same(
      parsed.merchantAccounts.map((a) => a.id),
      merchantAccountIds,
      `${vector.name}: merchant accounts`,
    );
    t.same(
      parsed.merchantAccounts.map((a) => a.globallyUniqueIdentifier),
      globallyUniqueIdentifiers,
    );
    for (const [field, value] of Object.entries(fields)) {
      t.same(parsed[field as keyof typeof parsed], value, `${vector.name}: ${field}`);
    }
  }
});

t.test('lengths count characters: the Chinese language template of the EMVCo example', async (t) => {
  const parsed = parseMpm(EMVCO_EXAMPLE);
  const template = parsed.objects.find((o) => o.id === '64')!;
  t.equal(template.value, '0002ZH0104最佳运输0202北京');
  t.equal(Array.from(template.value).length, 20, 'length 20 is characters');
  t.ok(Buffer.byteLength(template.value) > 20, 'the UTF-8 bytes are more');
  t.same(
    template.children!.map((c) => [c.id, c.value]),
    [
      ['00', 'ZH'],
      ['01', '最佳运输'],
      ['02', '北京'],
    ],
  );
  t.same(
    parsed.objects.map((o) => o.id),
    ['00', '01', '29', '31', '52', '58', '59', '60', '64', '54', '53', '55', '62', '91', '63'],
    'every object kept in payload order',
  );
  t.equal(parsed.objects.find((o) => o.id === '54')!.offset, 145, 'offsets count characters, not UTF-8 bytes');
  t.equal(Buffer.byteLength(EMVCO_EXAMPLE.slice(0, 145)), 145 + 12, 'six ideographs before it are 18 bytes');
});

t.test('length faults: not digits, 00, running past the end', async (t) => {
  refusedWith(t, withCrc(body()).replace('5204', '52X4'), 'CODPOS_QR_LENGTH', 'tag 52');
  refusedWith(t, 'X' + withCrc(body()).slice(1), 'CODPOS_QR_LENGTH', 'offset 0');
  refusedWith(t, withCrc(body()).replace('5303840', '5300840'), 'CODPOS_QR_LENGTH', 'length 00');
  const truncated = withCrc(body()).slice(0, -2);
  const error = refusedWith(t, truncated, 'CODPOS_QR_LENGTH', 'tag 63');
  t.equal(error.details!.offset, truncated.length - 6);
  refusedWith(t, withCrc(body()).slice(0, -7), 'CODPOS_QR_LENGTH', 'no room for its ID and length');
  refusedWith(t, '', 'CODPOS_QR_LENGTH', 'empty');
});

t.test('CRC faults: missing, not last, wrong (expected and found named)', async (t) => {
  refusedWith(t, body(), 'CODPOS_QR_CRC', 'missing');
  const crcFirst = `${body()}6304ABCD`.replace(/^/, '');
  const notLast = `${crcFirst}${tlv('61', '12345')}`;
  refusedWith(t, notLast, 'CODPOS_QR_CRC', 'not the last');
  const good = withCrc(body());
  const right = good.slice(-4);
  const wrong = right === '0000' ? '0001' : '0000';
  const error = refusedWith(t, good.slice(0, -4) + wrong, 'CODPOS_QR_CRC', `expected ${right}, found ${wrong}`);
  t.same(error.details, { offset: good.length - 8, tag: '63', expected: right, found: wrong });
  refusedWith(t, good.slice(0, -4) + right.toLowerCase().replace(/[0-9]/g, (d) => d), 'CODPOS_QR_CRC', 'wrong');
  const short = refusedWith(t, `${body()}6303ABC`, 'CODPOS_QR_CRC', 'length 3');
  t.same(short.details, { offset: body().length, tag: '63' });
  const changed = good.replace('SPRINGFIELD', 'SPRINGFIELE');
  refusedWith(t, changed, 'CODPOS_QR_CRC', 'wrong');
});

t.test('payload format indicator: first and "01"', async (t) => {
  const reordered = tlv('01', '12') + body({ '01': undefined });
  const notFirst = refusedWith(t, withCrc(reordered), 'CODPOS_QR_FORMAT', 'not first (tag 01 is)');
  t.same(notFirst.details, { offset: 0, tag: '00' });
  refusedWith(t, withCrc(body({ '00': '02' })), 'CODPOS_QR_FORMAT', 'tag 00');
});

t.test('a mandatory tag missing is named', async (t) => {
  for (const id of ['52', '53', '58', '59', '60']) {
    const error = refusedWith(t, withCrc(body({ [id]: undefined })), 'CODPOS_QR_MISSING_TAG', `tag ${id}`);
    t.equal(error.details!.tag, id);
  }
  refusedWith(t, withCrc(body({ '26': undefined })), 'CODPOS_QR_MISSING_TAG', 'merchant account');
  refusedWith(t, withCrc(body({ '00': undefined })), 'CODPOS_QR_FORMAT', 'not first');
  // A primitive network account (02-25) is an account too.
  const visa = parseMpm(withCrc(body({ '26': undefined, '02': '4000123456789012' }).replace(/^000201/, '000201')));
  t.same(
    visa.merchantAccounts.map((a) => [a.id, a.value]),
    [['02', '4000123456789012']],
  );
  refusedWith(t, withCrc(body({ '26': tlv('01', 'M1') })), 'CODPOS_QR_MISSING_TAG', '26.00');
  refusedWith(t, withCrc(body({ '91': tlv('07', 'T1') })), 'CODPOS_QR_MISSING_TAG', '91.00');
});

t.test('duplicate tags at top level and inside a template', async (t) => {
  const twice = refusedWith(t, withCrc(body() + tlv('52', '4215')), 'CODPOS_QR_DUPLICATE_TAG', 'tag 52 appears twice');
  t.same(twice.details, { offset: body().length, tag: '52' });
  refusedWith(
    t,
    withCrc(body({ '62': tlv('01', 'A') + tlv('01', 'B') })),
    'CODPOS_QR_DUPLICATE_TAG',
    'template 62: tag 01',
  );
});

t.test('a template whose inner objects do not parse', async (t) => {
  const error = refusedWith(t, withCrc(body({ '62': '0105AB' })), 'CODPOS_QR_TEMPLATE', 'template 62');
  t.equal(error.details!.tag, '01');
  refusedWith(t, withCrc(body({ '26': 'XYZ' })), 'CODPOS_QR_TEMPLATE', 'template 26');
  refusedWith(t, withCrc(body({ '62': tlv('50', '0001') })), 'CODPOS_QR_TEMPLATE', 'template 62.50');
  refusedWith(t, withCrc(body({ '64': tlv('00', 'EN') })), 'CODPOS_QR_MISSING_TAG', '64.01');
  refusedWith(t, withCrc(body({ '64': tlv('01', 'NAME') })), 'CODPOS_QR_MISSING_TAG', '64.00');
});

t.test('amount: format, length, decimals by the currency exponent, above zero', async (t) => {
  for (const bad of ['1.2.3', '12a', '-5', '.', '1,00', '12345678901.23']) {
    refusedWith(t, withCrc(body({ '54': bad })), 'CODPOS_QR_AMOUNT', 'tag 54');
  }
  refusedWith(t, withCrc(body({ '54': '0.00' })), 'CODPOS_QR_AMOUNT', 'zero');
  refusedWith(t, withCrc(body({ '54': '1.234' })), 'CODPOS_QR_AMOUNT', 'currency 840 has 2');
  refusedWith(t, withCrc(body({ '53': '392', '54': '100.5' })), 'CODPOS_QR_AMOUNT', 'currency 392 has 0');
  t.equal(parseMpm(withCrc(body({ '53': '392', '54': '500' }))).amountMinor, 500);
  t.equal(parseMpm(withCrc(body({ '53': '048', '54': '1.234' }))).amountMinor, 1234);
  t.equal(parseMpm(withCrc(body({ '54': '1234567890.12' }))).amountMinor, 123456789012, '13 characters is allowed');
  t.equal(parseMpm(withCrc(body({ '54': '7.5' }))).amountMinor, 750);
  t.equal(parseMpm(withCrc(body({ '54': '7.' }))).amountMinor, 700);
  t.equal(parseMpm(withCrc(body({ '54': '.05' }))).amountMinor, 5);
  t.equal(parseMpm(withCrc(body({ '54': undefined }))).amountMinor, undefined, 'a static code has no amount');
});

t.test('minor units and tag 54 text by ISO 4217 exponent', async (t) => {
  t.equal(currencyExponent('840'), 2);
  t.equal(currencyExponent('392'), 0);
  t.equal(currencyExponent('410'), 0);
  t.equal(currencyExponent('704'), 0);
  for (const three of ['048', '400', '414', '512', '788']) t.equal(currencyExponent(three), 3, three);
  t.equal(minorToMpmAmount(2372, '156'), '23.72');
  t.equal(minorToMpmAmount(5, '840'), '0.05');
  t.equal(minorToMpmAmount(100, '840'), '1.00');
  t.equal(minorToMpmAmount(500, '392'), '500');
  t.equal(minorToMpmAmount(1, '414'), '0.001');
  t.equal(mpmAmountToMinor('23.72', '156'), 2372);
  t.equal(mpmAmountToMinor('0.001', '414'), 1);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    const error = posErrorOf(() => minorToMpmAmount(bad, '840'));
    t.equal(error.code, 'CODPOS_QR_AMOUNT', String(bad));
    t.same(error.details, { tag: '54' });
  }
  t.equal(posErrorOf(() => minorToMpmAmount(12345678901234, '840')).code, 'CODPOS_QR_AMOUNT', 'over 13 characters');
  t.equal(minorToMpmAmount(1234567890123, '392'), '1234567890123', '13 digits fit');
});

t.test('value formats are checked and named', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ '01': '13' }, 'tag 01'],
    [{ '52': '42A5' }, 'tag 52'],
    [{ '53': '84' }, 'tag 53'],
    [{ '58': 'us' }, 'tag 58'],
    [{ '59': 'A'.repeat(26) }, 'tag 59'],
    [{ '60': 'B'.repeat(16) }, 'tag 60'],
    [{ '61': '1'.repeat(11) }, 'tag 61'],
    [{ '55': '04' }, 'tag 55'],
    [{ '55': '03', '57': '100' }, 'tag 57'],
    [{ '62': tlv('01', 'X'.repeat(26)) }, 'tag 62.01'],
    [{ '64': tlv('00', 'ENG') + tlv('01', 'N') }, 'tag 64.00'],
    [{ '26': tlv('00', 'X'.repeat(33)) }, 'tag 26.00'],
  ];
  for (const [overrides, named] of cases) refusedWith(t, withCrc(body(overrides)), 'CODPOS_QR_FORMAT', named);
  t.equal(parseMpm(withCrc(body({ '59': 'A'.repeat(25), '60': 'B'.repeat(15) }))).merchantName, 'A'.repeat(25));
  refusedWith(t, withCrc(body({ '55': '02' })), 'CODPOS_QR_MISSING_TAG', 'tag 56');
  refusedWith(t, withCrc(body({ '55': '03' })), 'CODPOS_QR_MISSING_TAG', 'tag 57');
  refusedWith(t, withCrc(body({ '55': '02', '56': '1.001' })), 'CODPOS_QR_AMOUNT', 'tag 56');
  const fixed = parseMpm(withCrc(body({ '55': '02', '56': '1.50' })));
  t.equal(fixed.tipIndicator, 'fixed');
  t.equal(fixed.convenienceFeeFixed, '1.50');
  const percent = parseMpm(withCrc(body({ '55': '03', '57': '3.5' })));
  t.equal(percent.tipIndicator, 'percentage');
  t.equal(percent.convenienceFeePercentage, '3.5');
  t.equal(parseMpm(withCrc(body({ '01': '11' }))).pointOfInitiation, 'static');
  const unsaid = parseMpm(withCrc(body({ '01': undefined })));
  t.ok(Object.hasOwn(unsaid, 'pointOfInitiation') && unsaid.pointOfInitiation === undefined, 'said to be unsaid');
});

function randomText(random: () => number, min: number, max: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-/*';
  const length = min + Math.floor(random() * (max - min + 1));
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
  // Names are trimmed by nobody: keep them as they are, spaces included.
  return text;
}

function randomInput(random: () => number): MpmInput {
  const currencies = ['840', '392', '048', '156', '978', '704', '414'];
  const accountCount = 1 + Math.floor(random() * 3);
  const ids = new Set<string>();
  while (ids.size < accountCount) ids.add(String(26 + Math.floor(random() * 26)));
  const input: MpmInput = {
    pointOfInitiation: random() < 0.5 ? 'static' : 'dynamic',
    merchantAccounts: [...ids].map((id) => {
      const fields: Record<string, string> = {};
      const count = Math.floor(random() * 3);
      for (let i = 0; i < count; i++) {
        fields[String(1 + Math.floor(random() * 99)).padStart(2, '0')] = randomText(random, 1, 12);
      }
      return { id, globallyUniqueIdentifier: randomText(random, 1, 32), fields };
    }),
    merchantCategoryCode: String(Math.floor(random() * 10000)).padStart(4, '0'),
    currency: currencies[Math.floor(random() * currencies.length)]!,
    countryCode: String.fromCharCode(65 + Math.floor(random() * 26), 65 + Math.floor(random() * 26)),
    merchantName: randomText(random, 1, 25),
    merchantCity: randomText(random, 1, 15),
  };
  if (random() < 0.8) input.amountMinor = 1 + Math.floor(random() * 10 ** (1 + Math.floor(random() * 10)));
  if (random() < 0.5) input.postalCode = randomText(random, 1, 10);
  if (random() < 0.7) {
    input.additionalData = { billNumber: randomText(random, 1, 25) };
    if (random() < 0.5) input.additionalData.terminalLabel = randomText(random, 1, 25);
    if (random() < 0.5) input.additionalData.referenceLabel = randomText(random, 1, 25);
  }
  if (random() < 0.3) input.languageTemplate = { language: 'ZH', merchantName: '最佳运输', merchantCity: '北京' };
  return input;
}

t.test('parseMpm(buildMpm(x)) gives x back over seeded random inputs', async (t) => {
  const random = prng(16_2026);
  let checked = 0;
  for (let i = 0; i < 500; i++) {
    const input = randomInput(random);
    const payload = buildMpm(input);
    const parsed = parseMpm(payload);
    const back: MpmInput = {
      pointOfInitiation: parsed.pointOfInitiation!,
      merchantAccounts: parsed.merchantAccounts.map((a) => ({
        id: a.id,
        globallyUniqueIdentifier: a.globallyUniqueIdentifier!,
        fields: a.fields,
      })),
      merchantCategoryCode: parsed.merchantCategoryCode,
      currency: parsed.currency,
      countryCode: parsed.countryCode,
      merchantName: parsed.merchantName,
      merchantCity: parsed.merchantCity,
    };
    if (parsed.amountMinor !== undefined) back.amountMinor = parsed.amountMinor;
    if (parsed.postalCode !== undefined) back.postalCode = parsed.postalCode;
    if (parsed.additionalData !== undefined) back.additionalData = parsed.additionalData;
    if (parsed.languageTemplate !== undefined) back.languageTemplate = parsed.languageTemplate;
    const expected = {
      ...input,
      merchantAccounts: [...input.merchantAccounts].sort((a, b) => Number(a.id) - Number(b.id)),
    };
    if (!t.same(back, expected, `input ${i}`)) break;
    t.equal(serializeMpm(parsed), payload);
    checked++;
  }
  t.equal(checked, 500);
});

t.test('buildMpm: a dynamic code for a COD amount, in ID order, CRC last', async (t) => {
  const payload = buildMpm({
    pointOfInitiation: 'dynamic',
    merchantAccounts: [{ id: '26', globallyUniqueIdentifier: 'com.example', fields: { '01': 'X' } }],
    merchantCategoryCode: '4215',
    currency: '392',
    amountMinor: 500,
    countryCode: 'JP',
    merchantName: 'A',
    merchantCity: 'B',
    additionalData: { billNumber: 'WB1', terminalLabel: 'T1' },
  });
  t.equal(
    payload,
    withCrc('000201010212262000' + '11com.example0101X52044215530339254035005802JP5901A6001B62130103WB10702T1'),
  );
});

t.test('buildMpm refuses values the spec does not allow', async (t) => {
  const good: MpmInput = {
    pointOfInitiation: 'dynamic',
    merchantAccounts: [{ id: '26', globallyUniqueIdentifier: 'com.example', fields: {} }],
    merchantCategoryCode: '4215',
    currency: '840',
    amountMinor: 2500,
    countryCode: 'US',
    merchantName: 'N',
    merchantCity: 'C',
  };
  t.ok(parseMpm(buildMpm(good)));
  const cases: [Partial<MpmInput>, ErrorCode, string][] = [
    [{ merchantName: 'A'.repeat(26) }, 'CODPOS_QR_FORMAT', 'tag 59'],
    [{ merchantCity: 'A'.repeat(16) }, 'CODPOS_QR_FORMAT', 'tag 60'],
    [{ merchantName: '' }, 'CODPOS_QR_LENGTH', 'tag 59'],
    [{ postalCode: '1'.repeat(100) }, 'CODPOS_QR_LENGTH', 'tag 61'],
    [{ amountMinor: 0 }, 'CODPOS_QR_AMOUNT', 'amount 0'],
    [{ currency: 'USD' }, 'CODPOS_QR_FORMAT', 'tag 53'],
    [{ merchantAccounts: [{ id: '25', globallyUniqueIdentifier: 'g', fields: {} }] }, 'CODPOS_QR_FORMAT', 'ID 25'],
    [{ merchantAccounts: [{ id: '52', globallyUniqueIdentifier: 'g', fields: {} }] }, 'CODPOS_QR_FORMAT', 'ID 52'],
    [{ merchantAccounts: [] }, 'CODPOS_QR_MISSING_TAG', 'merchant account'],
    [
      { merchantAccounts: [{ id: '26', globallyUniqueIdentifier: 'g', fields: { '00': 'x' } }] },
      'CODPOS_QR_FORMAT',
      'field ID 00',
    ],
    [
      { merchantAccounts: [{ id: '26', globallyUniqueIdentifier: 'g', fields: { '1': 'x' } }] },
      'CODPOS_QR_FORMAT',
      'field ID 1 ',
    ],
  ];
  for (const [change, code, named] of cases) {
    const error = posErrorOf(() => buildMpm({ ...good, ...change }));
    t.equal(error.code, code, `${named}: ${error.message}`);
    t.ok(error.message.includes(named), `"${error.message}" names ${named}`);
  }
  const badId = posErrorOf(() =>
    buildMpm({ ...good, merchantAccounts: [{ id: '25', globallyUniqueIdentifier: 'g', fields: {} }] }),
  );
  t.same(badId.details, { tag: '25' });
});
