import t from 'tap';
import { prng } from '../../helpers/prng.js';
import { decodeTlv, encodeTlv, findTag, tagToHex, tagFromHex, type Tlv } from '../../../emv/tlv/index.js';
import { PosError } from '../../../config/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Throws-check that also returns the PosError for further assertions. */
function posErrorOf(fn: () => unknown): PosError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PosError) return error;
    throw error;
  }
  throw new Error('expected a PosError, got none');
}

t.test('a record template: multi-byte tags, nesting, values', async (t) => {
  // 70 template holding 5A (PAN), 5F24 (expiry), 9F07 (AUC) and a constructed BF0C holding 9F4D.
  const data = hex('70 1C 5A 08 4761739001010119 5F24 03 221231 9F07 02 FF00 BF0C 04 9F4D 01 0B');
  const items = decodeTlv(data);
  t.equal(items.length, 1);
  const [template] = items;
  t.equal(template!.tag, 0x70);
  t.equal(template!.children!.length, 4);
  t.equal(findTag(items, 0x5a)!.value.toString('hex'), '4761739001010119');
  t.equal(findTag(items, 0x5f24)!.value.toString('hex'), '221231');
  t.equal(findTag(items, 0x9f07)!.value.toString('hex'), 'ff00');
  t.equal(findTag(items, 0xbf0c)!.children![0]!.tag, 0x9f4d, 'constructed two-byte tag nests its children');
  t.equal(findTag(items, 0x9f4d)!.value[0], 0x0b, 'depth-first search reaches the nested tag');
  t.equal(findTag(items, 0x9f26), undefined);
  t.same(encodeTlv(items), data, 're-encodes to the same bytes');
});

t.test('three-byte tags', async (t) => {
  const data = hex('DF8101 02 ABCD');
  const [item] = decodeTlv(data);
  t.equal(item!.tag, 0xdf8101);
  t.equal(tagToHex(item!.tag), 'DF8101');
  t.same(encodeTlv([item!]), data);
});

t.test('long lengths 81, 82 and 83', async (t) => {
  for (const [len, prefix] of [
    [0x7f, '7F'],
    [0x80, '8180'],
    [0xff, '81FF'],
    [0x100, '820100'],
    [0xffff, '82FFFF'],
    [0x10000, '83010000'],
  ] as const) {
    const value = Buffer.alloc(len, 0x5a);
    const encoded = encodeTlv([{ tag: 0x9f10, value }]);
    t.equal(
      encoded
        .subarray(2, 2 + prefix.length / 2)
        .toString('hex')
        .toUpperCase(),
      prefix,
      `length ${len} uses ${prefix}`,
    );
    t.same(decodeTlv(encoded)[0]!.value, value);
  }
  t.equal(decodeTlv(hex('9F10 8103 010203'))[0]!.value.length, 3, 'non-minimal long form accepted on input');
});

t.test('00 and FF padding between objects is skipped', async (t) => {
  const items = decodeTlv(hex('00 00 5A 02 1234 FF FF 00 5F20 02 4142 00'));
  t.same(
    items.map((i) => i.tag),
    [0x5a, 0x5f20],
  );
  const nested = decodeTlv(hex('70 08 00 5A 02 1234 FF 00 00'));
  t.same(
    nested[0]!.children!.map((i) => i.tag),
    [0x5a],
    'padding inside a template too',
  );
});

t.test('strict errors name the byte offset', async (t) => {
  const cases: Array<[string, string, number]> = [
    ['5A 05 1234', 'CODPOS_TLV_TRUNCATED', 1],
    ['5A', 'CODPOS_TLV_TRUNCATED', 1],
    ['9F', 'CODPOS_TLV_TRUNCATED', 1],
    ['5A 02 1234 9F26', 'CODPOS_TLV_TRUNCATED', 6],
    ['5A 80 1234 0000', 'CODPOS_TLV_INDEFINITE_LENGTH', 1],
    ['5A 84 00000001 00', 'CODPOS_TLV_LENGTH_TOO_LONG', 1],
    ['5A 82 01', 'CODPOS_TLV_TRUNCATED', 1],
    ['DF 81 82 83 84 01 00', 'CODPOS_TLV_TAG_TOO_LONG', 0],
    ['70 04 5A 05 1234', 'CODPOS_TLV_TRUNCATED', 3],
    ['9F10 02 0102 70 03 5A 02 12', 'CODPOS_TLV_TRUNCATED', 8],
  ];
  for (const [input, code, offset] of cases) {
    const error = posErrorOf(() => decodeTlv(hex(input)));
    t.equal(error.code, code, input);
    t.equal(error.details?.offset, offset, `${input}: offset`);
    t.match(error.message, new RegExp(`offset ${offset}\\b`), 'message names the offset');
  }
  let deep = hex('5A 01 00');
  for (let i = 0; i < 20; i++) deep = Buffer.concat([Buffer.from([0x70, deep.length]), deep]);
  t.equal(posErrorOf(() => decodeTlv(deep)).code, 'CODPOS_TLV_TOO_DEEP');
});

t.test('encoder refuses malformed tags and children on primitive tags', async (t) => {
  t.equal(
    posErrorOf(() => encodeTlv([{ tag: 0x9f, value: Buffer.alloc(0) }])).code,
    'CODPOS_TLV_BAD_TAG',
    '9F alone announces a second byte',
  );
  t.equal(
    posErrorOf(() => encodeTlv([{ tag: 0x5a01, value: Buffer.alloc(0) }])).code,
    'CODPOS_TLV_BAD_TAG',
    '5A cannot have a second byte',
  );
  t.equal(
    posErrorOf(() => encodeTlv([{ tag: 0x9f8180, value: Buffer.alloc(0) }])).code,
    'CODPOS_TLV_BAD_TAG',
    'last byte with continuation bit',
  );
  t.equal(
    posErrorOf(() => encodeTlv([{ tag: 0xff, value: Buffer.alloc(0) }])).code,
    'CODPOS_TLV_BAD_TAG',
    'FF is padding',
  );
  t.equal(
    posErrorOf(() => encodeTlv([{ tag: 0x5a, value: Buffer.alloc(0), children: [] }])).code,
    'CODPOS_TLV_NOT_CONSTRUCTED',
  );
  t.same(
    encodeTlv([{ tag: 0x70, value: Buffer.from('ignored'), children: [{ tag: 0x5a, value: hex('12') }] }]),
    hex('70 03 5A 01 12'),
    'children win over value',
  );
  t.equal(tagFromHex('9f26'), 0x9f26);
  t.equal(posErrorOf(() => tagFromHex('9F2')).code, 'CODPOS_TLV_BAD_TAG');
});

function randomTag(rnd: () => number, constructed: boolean): number {
  for (;;) {
    const cls = Math.floor(rnd() * 4) << 6;
    const bytes = 1 + Math.floor(rnd() * 3);
    if (bytes === 1) {
      const first = cls | (constructed ? 0x20 : 0) | Math.floor(rnd() * 0x1f);
      if (first === 0x00 || first === 0xff) continue;
      return first;
    }
    let tag = cls | (constructed ? 0x20 : 0) | 0x1f;
    if (tag === 0xff) continue;
    for (let i = 1; i < bytes; i++) {
      const last = i === bytes - 1;
      tag = tag * 256 + (last ? Math.floor(rnd() * 0x80) : 0x80 | Math.floor(rnd() * 0x80));
    }
    return tag;
  }
}

function randomTree(rnd: () => number, depth: number): Tlv[] {
  const count = Math.floor(rnd() * 4) + (depth === 0 ? 1 : 0);
  const items: Tlv[] = [];
  for (let i = 0; i < count; i++) {
    if (depth < 3 && rnd() < 0.3) {
      const children = randomTree(rnd, depth + 1);
      const item: Tlv = { tag: randomTag(rnd, true), value: Buffer.alloc(0), children };
      item.value = encodeTlv(children);
      items.push(item);
    } else {
      const sizes = [0, 1, 5, 127, 128, 255, 256, 300];
      const size = rnd() < 0.8 ? Math.floor(rnd() * 20) : sizes[Math.floor(rnd() * sizes.length)]!;
      const value = Buffer.alloc(size);
      for (let b = 0; b < size; b++) value[b] = Math.floor(rnd() * 256);
      items.push({ tag: randomTag(rnd, false), value });
    }
  }
  return items;
}

function plain(items: Tlv[]): unknown[] {
  return items.map((i) =>
    i.children
      ? { tag: i.tag, value: i.value.toString('hex'), children: plain(i.children) }
      : { tag: i.tag, value: i.value.toString('hex') },
  );
}

t.test('property: decode(encode(x)) is x, and encode(decode(b)) is b', async (t) => {
  const rnd = prng(0xc0d905);
  let checked = 0;
  for (let n = 0; n < 2000; n++) {
    const tree = randomTree(rnd, 0);
    const encoded = encodeTlv(tree);
    const decoded = decodeTlv(encoded);
    if (JSON.stringify(plain(decoded)) !== JSON.stringify(plain(tree))) {
      t.fail(`round trip differs for ${encoded.toString('hex')}`);
      return;
    }
    if (!encodeTlv(decoded).equals(encoded)) {
      t.fail(`re-encoding differs for ${encoded.toString('hex')}`);
      return;
    }
    checked++;
  }
  t.equal(checked, 2000, '2000 random trees round-trip');
});

t.test('fuzz: 100,000 mutated inputs end only in PosErrors', async (t) => {
  const rnd = prng(20261129);
  const seeds = [
    hex('70 1C 5A 08 4761739001010119 5F24 03 221231 9F07 02 FF00 BF0C 04 9F4D 01 0B'),
    encodeTlv(randomTree(prng(7), 0)),
    encodeTlv(randomTree(prng(8), 0)),
    hex('77 1E 82 02 1980 94 08 08010100 10010300 9F36 02 0001 9F26 08 0102030405060708'),
    hex('6F 1A 84 07 A0000000031010 A5 0F 50 0A 56495341204445424954 87 01 01'),
  ];
  let accepted = 0;
  let refused = 0;
  const others: string[] = [];
  for (let n = 0; n < 100_000; n++) {
    const base = Buffer.from(seeds[n % seeds.length]!);
    let input: Buffer = base;
    const mutations = 1 + Math.floor(rnd() * 4);
    for (let m = 0; m < mutations; m++) {
      const kind = Math.floor(rnd() * 5);
      const at = Math.floor(rnd() * (input.length + 1));
      if (kind === 0 && input.length > 0) input[at % input.length] = Math.floor(rnd() * 256);
      else if (kind === 1) input = input.subarray(0, at);
      else if (kind === 2)
        input = Buffer.concat([input.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), input.subarray(at)]);
      else if (kind === 3) input = Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
      else if (input.length > 0)
        input[at % input.length] = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0xff, 0x1f, 0x7f][Math.floor(rnd() * 9)]!;
    }
    try {
      decodeTlv(input);
      accepted++;
    } catch (error) {
      if (
        error instanceof PosError &&
        error.code.startsWith('CODPOS_TLV_') &&
        typeof error.details?.offset === 'number'
      )
        refused++;
      else if (others.length < 5) others.push(`${input.toString('hex')}: ${String(error)}`);
    }
  }
  t.same(others, [], 'no exception other than a CODPOS_TLV_ PosError with an offset');
  t.equal(accepted + refused, 100_000);
  t.ok(refused > 10_000 && accepted > 1_000, `both outcomes exercised (accepted ${accepted}, refused ${refused})`);
});

t.test('decoded values are Buffer views of the input (no copy)', async (t) => {
  const data = hex('9F02 06 000000001500 5F20 04 4A4F484E');
  const [amount, name] = decodeTlv(data);
  t.ok(Buffer.isBuffer(amount!.value));
  t.ok(amount!.value instanceof Buffer);
  t.ok(amount!.value.equals(hex('000000001500')));
  t.equal(name!.value.toString('latin1'), 'JOHN');
  t.equal(amount!.value.readUInt16BE(4), 0x1500);
  t.equal(amount!.value.subarray(4).toString('hex'), '1500');
  t.same(Buffer.concat([amount!.value, name!.value]), hex('0000000015004A4F484E'));
  data[3] = 0x99;
  t.equal(amount!.value[0], 0x99, 'a view: it sees the input change');
});
