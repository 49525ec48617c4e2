import t from 'tap';
import { parseDol, buildDolData, fitToLength } from '../../../emv/kernel/dol.js';
import { tagInfo, tagName, describeTlv, formatDescribed } from '../../../emv/tags/index.js';
import { decodeTlv } from '../../../emv/tlv/index.js';
import { PosError } from '../../../config/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('dictionary knows names, formats, sources and templates', async (t) => {
  t.equal(tagName(0x9f26), 'Application Cryptogram');
  t.equal(tagInfo(0x9f02)!.format, 'n');
  t.equal(tagInfo(0x5a)!.format, 'cn');
  t.equal(tagInfo(0x5a)!.sensitivity, 'pan');
  t.equal(tagInfo(0x9f37)!.source, 'terminal');
  t.equal(tagInfo(0x8c)!.template, '70/77');
  t.equal(tagName(0xdf8101), 'Unknown tag');
});

t.test('parseDol: multi-byte tags and one-byte lengths', async (t) => {
  // A CDOL1 from the CDA vector's card: 9F02 06, 9F03 06, 9F1A 02, 95 05, 5F2A 02, 9A 03, 9C 01, 9F37 04.
  t.same(parseDol(hex('9F02069F03069F1A0295055F2A029A039C019F3704')), [
    { tag: 0x9f02, length: 6 },
    { tag: 0x9f03, length: 6 },
    { tag: 0x9f1a, length: 2 },
    { tag: 0x95, length: 5 },
    { tag: 0x5f2a, length: 2 },
    { tag: 0x9a, length: 3 },
    { tag: 0x9c, length: 1 },
    { tag: 0x9f37, length: 4 },
  ]);
  for (const [dol, offset] of [
    ['9F02069F', 3],
    ['9F02', 0],
  ] as const) {
    try {
      parseDol(hex(dol));
      t.fail(`accepted ${dol}`);
    } catch (e) {
      t.ok(
        e instanceof PosError && e.code === 'CODPOS_TLV_BAD_DOL' && e.details?.offset === offset,
        `${dol}: offset ${offset}`,
      );
    }
  }
});

t.test('fitting rules of Book 3 5.4: n pads/truncates on the left, cn pads F, b pads 00 on the right', async (t) => {
  t.equal(fitToLength(0x9f02, hex('1500'), 6).toString('hex'), '000000001500', 'n shorter: leading zeros');
  t.equal(fitToLength(0x9f02, hex('AA000000001500'), 6).toString('hex'), '000000001500', 'n longer: rightmost kept');
  t.equal(fitToLength(0x5a, hex('47617390'), 6).toString('hex'), '47617390ffff', 'cn shorter: trailing FF');
  t.equal(fitToLength(0x9f37, hex('0102'), 4).toString('hex'), '01020000', 'b shorter: trailing zeros');
  t.equal(fitToLength(0x9f37, hex('0102030405'), 4).toString('hex'), '01020304', 'b longer: leftmost kept');
  t.equal(fitToLength(0x9f4e, Buffer.from('ABCDEF'), 3).toString(), 'ABC', 'ans longer: leftmost kept');
  t.equal(fitToLength(0x9f99, undefined, 3).toString('hex'), '000000', 'absent: zeros');
  t.equal(fitToLength(0x70, hex('5A01AA'), 2).toString('hex'), '0000', 'constructed: zeros');
});

t.test('buildDolData reproduces the CDA vector CDOL1 data from terminal values', async (t) => {
  // The CDA vector's CDOL1 (from its static data, tag 8C) and its CDOL1-related data.
  const cdol1 = hex('9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F3403');
  const values = new Map<number, Buffer>([
    [0x9f02, hex('000000000000')],
    [0x9f03, hex('000000000000')],
    [0x9f1a, hex('0643')],
    [0x95, hex('0000000000')],
    [0x5f2a, hex('0643')],
    [0x9a, hex('140925')],
    [0x9c, hex('50')],
    [0x9f37, hex('12345779')],
    [0x9f35, hex('23')],
    [0x9f34, hex('1E0300')],
  ]);
  const data = buildDolData(cdol1, (tag) => values.get(tag));
  t.equal(
    data.toString('hex').toUpperCase(),
    '000000000000000000000000064300000000000643140925501234577923000000000000000000001E0300',
  );
});

t.test('describe: names tags, nests templates, masks PAN and track 2 unless unmasked', async (t) => {
  const items = decodeTlv(hex('70 1F 5A 08 4761739001010119 57 0B 4761739001010119D2212F 5F20 05 4A2E444F45'));
  const masked = describeTlv(items);
  t.equal(masked[0]!.name, 'READ RECORD Response Message Template');
  t.equal(masked[0]!.children![0]!.text, '476173******0119');
  t.equal(masked[0]!.children![0]!.value, '[WIPED]');
  t.equal(masked[0]!.children![1]!.value, '[WIPED]');
  t.equal(masked[0]!.children![2]!.value, '[WIPED]', 'cardholder name wiped too');
  t.equal(describeTlv(items, { unmask: true })[0]!.children![2]!.text, 'J.DOE');
  const text = formatDescribed(masked).join('\n');
  t.notMatch(text, /4761739001010119/, 'no full PAN in the printed lines');
  t.match(text, /^  5A Application Primary Account Number \(PAN\) \(8\)/m);
  const clear = describeTlv(items, { unmask: true });
  t.equal(clear[0]!.children![0]!.value, '4761739001010119');
  t.equal(clear[0]!.children![1]!.value, '4761739001010119D2212F');
});

t.test('describe: contactless track data (56 Track 1, 9F6B Track 2) is wiped unless unmasked', async (t) => {
  const track1 = Buffer.from('B4761739001010119^DOE/J^22122011143804400000', 'latin1');
  const items = decodeTlv(
    Buffer.concat([hex('56'), Buffer.from([track1.length]), track1, hex('9F6B 0B 4761739001010119D2212F')]),
  );
  const masked = describeTlv(items);
  t.same(
    masked.map((d) => [d.name, d.value, d.text]),
    [
      ['Track 1 Data', '[WIPED]', undefined],
      ['Track 2 Data', '[WIPED]', undefined],
    ],
  );
  t.notMatch(formatDescribed(masked).join('\n'), /4761739001010119/);
  t.equal(describeTlv(items, { unmask: true })[1]!.value, '4761739001010119D2212F');
});
