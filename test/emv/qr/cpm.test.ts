import t from 'tap';
import { readFileSync } from 'node:fs';
import { PosError } from '../../../config/errors.js';
import { encodeTlv, tagToHex } from '../../../emv/tlv/index.js';
import { buildCpm, CPM_TAG_NAMES, parseConsumerCode, parseCpm, type CpmCardData } from '../../../emv/qr/index.js';

interface CpmVector {
  name: string;
  source: string;
  payload: string;
  expect: {
    payloadFormatIndicator: string;
    applications: Record<string, string>[];
    commonData?: Record<string, string>;
    commonTransparent?: Record<string, string>;
  };
}
const vectors = JSON.parse(readFileSync(new URL('../../vectors/emv-qr.json', import.meta.url), 'utf8')) as {
  cpm: CpmVector[];
};
const EXAMPLE_1 = vectors.cpm[0]!.payload;
const EXAMPLE_2 = vectors.cpm[1]!.payload;

function posErrorOf(fn: () => unknown): PosError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PosError) return error;
    throw error;
  }
  throw new Error('expected a PosError, got none');
}

/** The typed fields of a template, without its raw elements. */
function typed(data: CpmCardData): Record<string, string> {
  const { elements: _elements, ...fields } = data;
  return fields as Record<string, string>;
}

const base64Of = (items: Parameters<typeof encodeTlv>[0]) => encodeTlv(items).toString('base64');
const PFI = { tag: 0x85, value: Buffer.from('CPV01') };
const APP = {
  tag: 0x61,
  value: Buffer.alloc(0),
  children: [{ tag: 0x4f, value: Buffer.from('A0000000555555', 'hex') }],
};

t.test('the published CPM examples decode to what their source states', async (t) => {
  t.equal(vectors.cpm.length, 2);
  for (const vector of vectors.cpm) {
    t.ok(vector.source.length > 0);
    const cpm = parseCpm(vector.payload);
    t.equal(cpm.payloadFormatIndicator, vector.expect.payloadFormatIndicator, vector.name);
    t.same(cpm.applications.map(typed), vector.expect.applications, `${vector.name}: applications`);
    if (vector.expect.commonData) t.same(typed(cpm.commonData!), vector.expect.commonData, `${vector.name}: common`);
    else t.equal(cpm.commonData, undefined);
    if (vector.expect.commonTransparent) {
      const transparent = cpm.commonData!.elements.find((e) => e.tag === 0x64)!;
      t.same(
        Object.fromEntries(transparent.children!.map((c) => [tagToHex(c.tag), c.value.toString('hex').toUpperCase()])),
        vector.expect.commonTransparent,
      );
    }
  }
});

t.test('buildCpm gives the published example 2 byte for byte, and reads back', async (t) => {
  const built = buildCpm({
    applications: [
      { aid: 'A0000000555555', label: 'Product1' },
      { aid: 'A0000000666666', label: 'Product2' },
    ],
    commonData: {
      pan: '1234567890123458',
      cardholderName: 'CARDHOLDER/EMV',
      languagePreference: 'ruesdeen',
      transparent: { '9F10': '06010A03000000', '9F26': '584FD385FA234BCC', '9F36': '0001', '9F37': '6D58EF13' },
    },
  });
  t.equal(built, EXAMPLE_2);
  const oddPan = parseCpm(buildCpm({ applications: [{ pan: '123456789012345', track2Equivalent: '1234D2512F' }] }));
  t.equal(oddPan.applications[0]!.pan, '123456789012345', 'an odd PAN is padded with F and read back without it');
  t.equal(parseCpm(EXAMPLE_1).applications[0]!.track2Equivalent, '1234567890123458D191220112345F');
  const inApp = parseCpm(
    buildCpm({ applications: [{ aid: 'A0000000031010', transparent: { '9F26': '0102030405060708' } }] }),
  );
  t.equal(inApp.applications[0]!.applicationCryptogram, '0102030405060708', 'read from the transparent template 63');
  t.equal(inApp.applications[0]!.elements[1]!.tag, 0x63);
});

t.test('each CPM tag sets its own typed field and no other', async (t) => {
  const single: [Parameters<typeof buildCpm>[0]['applications'][0], Record<string, string>][] = [
    [{ aid: 'A0000000031010' }, { aid: 'A0000000031010' }],
    [{ label: 'VISA' }, { label: 'VISA' }],
    [{ pan: '4761739001010119' }, { pan: '4761739001010119' }],
    [{ track2Equivalent: '4761739001010119D2212F' }, { track2Equivalent: '4761739001010119D2212F' }],
    [{ cardholderName: 'J.DOE' }, { cardholderName: 'J.DOE' }],
    [{ languagePreference: 'en' }, { languagePreference: 'en' }],
    [{ transparent: { '9F26': '0102030405060708' } }, { applicationCryptogram: '0102030405060708' }],
    [{ transparent: { '9F36': '0042' } }, { applicationTransactionCounter: '0042' }],
    [{ transparent: { '9F37': '11223344' } }, {}],
  ];
  for (const [input, fields] of single) {
    t.same(typed(parseCpm(buildCpm({ applications: [input] })).applications[0]!), fields, JSON.stringify(input));
  }
  t.same(CPM_TAG_NAMES, {
    '85': 'Payload Format Indicator',
    '61': 'Application Template',
    '62': 'Common Data Template',
    '63': 'Application Specific Transparent Template',
    '64': 'Common Data Transparent Template',
  });
});

t.test('buildCpm refuses what it cannot encode', async (t) => {
  t.equal(posErrorOf(() => buildCpm({ applications: [] })).code, 'CODPOS_QR_CPM');
  t.match(posErrorOf(() => buildCpm({ applications: [{ pan: '12AB' }] })).message, /PAN that is not 8 to 19 digits/);
  t.match(posErrorOf(() => buildCpm({ applications: [{ aid: 'A00' }] })).message, /aid that is not whole bytes/);
  t.equal(posErrorOf(() => buildCpm({ applications: [{ transparent: { '9F': '01' } }] })).code, 'CODPOS_QR_CPM');
});

t.test('CPM faults: base64, TLV, indicator, application template; the text is never in the message', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /is empty/],
    ['hQVD UFYw', /outside the base64 alphabet at position 4/],
    ['hQVDUFYwMW=E', /padding misplaced/],
    ['hQVDUFYwMWE', /padding misplaced or length/],
    ['hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF9=', /not canonical base64/],
    [EXAMPLE_1.slice(0, 20), /is not BER-TLV: TLV: tag 61 value of 26 bytes runs past the end/],
    [base64Of([APP]), /lacks the payload format indicator/],
    [base64Of([APP, PFI]), /does not start with the payload format indicator/],
    [base64Of([{ tag: 0x85, value: Buffer.from('CPV02') }, APP]), /not "CPV01"/],
    [base64Of([PFI]), /no application template \(tag 61\)/],
    [
      base64Of([
        PFI,
        APP,
        { tag: 0x62, value: Buffer.alloc(0), children: [] },
        { tag: 0x62, value: Buffer.alloc(0), children: [] },
      ]),
      /more than one common data template/,
    ],
  ];
  for (const [text, why] of cases) {
    const error = posErrorOf(() => parseCpm(text));
    t.equal(error.code, 'CODPOS_QR_CPM', why.source);
    t.match(error.message, why);
    if (text.length > 8) t.notOk(error.message.includes(text.slice(0, 8)), 'no part of the code in the message');
    t.notOk(error.message.includes('1234567890123458'), 'no PAN in the message');
  }
  const tlvFault = posErrorOf(() => parseCpm(EXAMPLE_1.slice(0, 20)));
  t.equal(tlvFault.details!.tlvCode, 'CODPOS_TLV_TRUNCATED');
  t.ok(tlvFault.cause instanceof PosError);
});

t.test('parseConsumerCode: CPM, wallet token, or a CODPOS_QR_CONSUMER_CODE naming why', async (t) => {
  const cpm = parseConsumerCode(EXAMPLE_2);
  t.equal(cpm.kind, 'cpm');
  t.equal(cpm.kind === 'cpm' && cpm.cpm.applications.length, 2);
  t.same(parseConsumerCode('A1b2C3d4E5f6G7h8'), { kind: 'token', token: 'A1b2C3d4E5f6G7h8' }, '16 characters');
  t.same(parseConsumerCode('Z'.repeat(32)), { kind: 'token', token: 'Z'.repeat(32) }, '32 characters');
  t.same(
    parseConsumerCode('hQ345678901234567'),
    { kind: 'token', token: 'hQ345678901234567' },
    'an hQ token that is not CPM',
  );
  const badCpm = posErrorOf(() => parseConsumerCode('hQVDUFYwMWE='));
  t.equal(badCpm.code, 'CODPOS_QR_CPM', 'an hQ code that is neither: the CPM fault');
  const cases: [string, RegExp, number | undefined][] = [
    ['', /is empty/, undefined],
    ['A'.repeat(15), /15 characters, a token has 16 to 32/, undefined],
    ['A'.repeat(33), /33 characters/, undefined],
    ['ABCDEFGH-IJKLMNOPQ', /position 8 is not a letter or digit/, 8],
    ['00020101021229300012D1560000', /merchant-presented code \(MPM\)/, undefined],
  ];
  for (const [text, why, offset] of cases) {
    const error = posErrorOf(() => parseConsumerCode(text));
    t.equal(error.code, 'CODPOS_QR_CONSUMER_CODE', why.source);
    t.equal(error.area, 'QR');
    t.match(error.message, why);
    if (text.length > 0) t.notOk(error.message.includes(text), 'the code is not in the message');
    t.equal(error.details!.offset, offset);
    t.equal(error.details!.length, text.length);
  }
});
