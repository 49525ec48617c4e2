import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  parseTrack,
  parseTrack1,
  parseTrack2,
  parseTrack2Equivalent,
  track1Lrc,
  track2Lrc,
  isExpired,
  explainServiceCode,
  decideSwipe,
} from '../../../emv/magstripe/index.js';
import { PosError } from '../../../config/errors.js';
import { luhnValid } from '../../../config/masking.js';

interface Vector {
  name: string;
  inputs: Record<string, string>;
  expected: Record<string, string>;
}
const vectors = (
  JSON.parse(readFileSync(new URL('../../vectors/emv-kernel-tracks.json', import.meta.url), 'utf8')) as {
    track_and_luhn: Vector[];
  }
).track_and_luhn;

t.test('shared track vectors parse to their fields', async (t) => {
  let count = 0;
  for (const v of vectors) {
    if (v.inputs.track === undefined && v.inputs.tag57 === undefined) continue;
    const parsed =
      v.inputs.track !== undefined
        ? parseTrack(v.inputs.track)
        : parseTrack2Equivalent(Buffer.from(v.inputs.tag57!, 'hex'));
    t.equal(parsed.pan, v.expected.pan, `${v.name}: pan`);
    t.equal(parsed.expiry, v.expected.expiry_yymm, `${v.name}: expiry`);
    t.equal(parsed.serviceCode, v.expected.service_code, `${v.name}: service code`);
    t.equal(parsed.discretionary, v.expected.discretionary, `${v.name}: discretionary`);
    if (v.expected.name !== undefined) t.equal(parsed.name, v.expected.name);
    if (v.expected.luhn_ok !== undefined) t.equal(parsed.luhnOk, v.expected.luhn_ok === 'True');
    count++;
  }
  t.equal(count, 4, 'two tracks and two tag 57 values');
});

t.test('Luhn vectors through the shared masking module', async (t) => {
  for (const v of vectors.filter((v) => v.inputs.pan !== undefined))
    t.equal(luhnValid(v.inputs.pan!), v.expected.luhn_ok === 'True', v.name);
});

t.test('LRC: computed and checked (vector notes give > and 9)', async (t) => {
  t.equal(track1Lrc('%B4111111111111111^SMITH/JOHN^2512101000000000?'), '>');
  t.equal(track2Lrc(';4111111111111111=25121011234500000000?'), '9');
  t.equal(parseTrack1('%B4111111111111111^SMITH/JOHN^2512101000000000?>').lrcOk, true);
  t.equal(parseTrack1('%B4111111111111111^SMITH/JOHN^2512101000000000?A').lrcOk, false);
  t.equal(parseTrack2(';4111111111111111=25121011234500000000?9').lrcOk, true);
  t.equal(parseTrack2(';4111111111111111=25121011234500000000?8').lrcOk, false);
  t.equal(parseTrack2('4111111111111111=25121011234500000000').lrcOk, undefined, 'no sentinels, no LRC');
});

t.test('bad tracks end in PosErrors naming field and offset', async (t) => {
  const cases: Array<[string, string]> = [
    ['%A4111111111111111^SMITH/JOHN^2512101?', 'format code'],
    ['%B4111111111111111^SMITH/JOHN2512101?', 'field separators'],
    ['%B41111^SMITH/JOHN^2512101?', 'PAN'],
    [';4111111111111111=2513101?', 'expiry month'],
    [';4111111111111111=251?', 'expiry and service code'],
    [';41111111111111112512101?', 'field separator'],
    [';4111111111111111=2512101A?', 'discretionary data'],
    ['hello', 'start'],
    [';4111111111111111=2512101123', 'end sentinel'],
    ['%B4111111111111111^SMITH/JOHN^2512101000', 'end sentinel'],
  ];
  for (const [input, field] of cases) {
    try {
      parseTrack(input);
      t.fail(`accepted ${input}`);
    } catch (error) {
      t.ok(error instanceof PosError && error.code === 'CODPOS_EMV_BAD_TRACK', input);
      t.equal((error as PosError).details?.field, field, `${input}: names ${field}`);
      t.type((error as PosError).details?.offset, 'number');
    }
  }
  t.throws(() => parseTrack2Equivalent(Buffer.from('4761739001010119E2212201', 'hex')), {
    code: 'CODPOS_EMV_BAD_TRACK',
  });
});

t.test(
  'a track with its start sentinel but no end sentinel is a truncated read, refused naming the end sentinel',
  async (t) => {
    // Cut inside the discretionary data, where the rest of the track still parses.
    t.throws(() => parseTrack2(';4111111111111111=25121011234'), {
      code: 'CODPOS_EMV_BAD_TRACK',
      message: /track2: end sentinel is missing .*truncated read/,
      details: { field: 'end sentinel', offset: 29 },
    });
    t.throws(() => parseTrack1('%B4111111111111111^SMITH/JOHN^2512101000'), {
      code: 'CODPOS_EMV_BAD_TRACK',
      message: /track1: end sentinel is missing/,
      details: { field: 'end sentinel' },
    });
    t.equal(
      parseTrack2('4111111111111111=25121011234').discretionary,
      '1234',
      'no sentinel at all: the reader stripped both, taken as whole',
    );
    t.equal(parseTrack2(';4111111111111111=25121011234?').discretionary, '1234', 'both sentinels');
  },
);

t.test('expiry: valid through the last day of the month', async (t) => {
  t.equal(isExpired('2512', new Date('2025-12-31T23:00:00Z')), false);
  t.equal(isExpired('2512', new Date('2026-01-01T00:00:00Z')), true);
  t.equal(isExpired('2212', new Date('2021-05-01T00:00:00Z')), false);
  // A malformed expiry is never taken for "not expired".
  t.throws(() => isExpired('ab12', new Date('2021-05-01T00:00:00Z')), {
    code: 'CODPOS_EMV_BAD_TRACK',
    details: { field: 'YYMM' },
  });
  t.throws(() => isExpired('2513', new Date('2021-05-01T00:00:00Z')), {
    code: 'CODPOS_EMV_BAD_TRACK',
    details: { field: 'expiry month' },
  });
});

t.test('a track that is not a string is a PosError, not a TypeError', async (t) => {
  for (const parse of [parseTrack, parseTrack1, parseTrack2]) {
    t.throws(
      () => parse(undefined as unknown as string),
      { code: 'CODPOS_EMV_BAD_TRACK', details: { field: 'text' } },
      parse.name,
    );
    t.throws(
      () => parse(4761739001010119 as unknown as string),
      { code: 'CODPOS_EMV_BAD_TRACK', details: { field: 'text' } },
      parse.name,
    );
  }
});

t.test('service code meaning', async (t) => {
  const chip = explainServiceCode('201');
  t.equal(chip.chipCard, true);
  t.equal(chip.interchange, 'international interchange, use IC (chip) where feasible');
  t.equal(chip.services, 'no restrictions');
  t.equal(chip.pinRequired, false);
  t.equal(explainServiceCode('101').chipCard, false);
  t.equal(explainServiceCode('620').chipCard, true);
  t.equal(explainServiceCode('620').onlineRequired, true);
  t.equal(explainServiceCode('620').pinRequired, true);
  t.equal(explainServiceCode('120').services, 'no restrictions, PIN required');
});

t.test('chip first: 2xx/6xx swipes are refused until the chip failed on that card', async (t) => {
  t.same(decideSwipe('201', false), { accept: false, reason: 'insert-chip' });
  t.same(decideSwipe('601', false), { accept: false, reason: 'insert-chip' });
  t.same(decideSwipe('201', true), { accept: true, posEntryMode: '80', fallback: true });
  t.same(decideSwipe('101', false), { accept: true, posEntryMode: '90', fallback: false });
});
