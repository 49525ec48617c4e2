/**
 * Strict decoding and encoding: every fault is a PosError (CODPOS_ISO8583_*) naming
 * the field and the byte offset, never a silently wrong value; dialects are data,
 * checked when first used, and a host that differs in one field is configured.
 */
import t, { type Test } from 'tap';
import { PosError } from '../../../config/errors.js';
import {
  decodeIso8583,
  encodeIso8583,
  iso87a,
  iso87b,
  iso93b,
  messageFromJson,
  messageToJson,
  pos87b,
  withFields,
  type Dialect,
  type IsoMessage,
} from '../../../emv/iso8583/index.js';
import { jcb, pyisoAscii } from './vector-dialects.js';

const PAN = '4761739001010119';
const purchase: IsoMessage = {
  mti: '0200',
  fields: {
    2: PAN,
    3: '000000',
    4: '000000001234',
    22: '051',
    35: `${PAN}=22122011143804400000`,
    41: 'TERM0001',
    52: Buffer.from('0123456789ABCDEF', 'hex'),
    55: Buffer.from('9F02060000000123455F340102', 'hex'),
  },
};
const wire = encodeIso8583(purchase, pos87b);
// Offsets in `wire`: MTI 0-1, bitmap 2-9, DE2 prefix 10 + 8 bytes, DE3 19-21, DE4 22-27, DE22 28-29, DE35 prefix 30 ...
const DE2 = 10;
const DE3 = 19;
const DE22 = 28;
const DE35 = 30;

function fault(t: Test, fn: () => unknown, code: string, field: string, offset: number | undefined, message: RegExp) {
  try {
    fn();
    t.fail(`expected ${code}`);
  } catch (error) {
    t.ok(error instanceof PosError, 'a PosError');
    const e = error as PosError;
    t.equal(e.code, code);
    t.equal(e.details?.field, field, 'names the field');
    if (offset !== undefined) t.equal(e.details?.offset, offset, 'names the byte offset');
    t.match(e.message, message);
    t.notMatch(e.message, new RegExp(PAN), 'never quotes card data');
  }
}

function patched(at: number, byte: number, source = wire): Buffer {
  const copy = Buffer.from(source);
  copy[at] = byte;
  return copy;
}

t.test('the sample decodes back exactly', async (t) => {
  t.same(messageToJson(decodeIso8583(wire, pos87b)), messageToJson(purchase));
});

t.test('every truncation is CODPOS_ISO8583_TRUNCATED naming where it ends', async (t) => {
  for (let length = 0; length < wire.length; length++) {
    try {
      decodeIso8583(wire.subarray(0, length), pos87b);
      t.fail(`a message cut at ${length} bytes decoded`);
    } catch (error) {
      if (!(error instanceof PosError) || error.code !== 'CODPOS_ISO8583_TRUNCATED') {
        t.fail(`cut at ${length}: ${String(error)}`);
        continue;
      }
      t.ok(
        typeof error.details?.offset === 'number' && typeof error.details?.field === 'string',
        `cut at ${length}: ${error.message}`,
      );
    }
  }
});

t.test('a length over the field maximum', async (t) => {
  fault(
    t,
    () => decodeIso8583(patched(DE2, 0x20), pos87b),
    'CODPOS_ISO8583_LENGTH_OVER_MAX',
    '2',
    DE2,
    /field 2 \(Primary account number \(PAN\)\) at byte 10: length 20 is over the field's maximum 19/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 2: '12345678901234567890' } }, pos87b),
    'CODPOS_ISO8583_LENGTH_OVER_MAX',
    '2',
    undefined,
    /20 digits; the field holds at most 19/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 3: '0000001' } }, pos87b),
    'CODPOS_ISO8583_LENGTH_OVER_MAX',
    '3',
    undefined,
    /holds exactly 6/,
  );
});

t.test('a non-digit in a numeric field, a BCD nibble, a length prefix or the MTI', async (t) => {
  fault(
    t,
    () => decodeIso8583(patched(DE3 + 1, 0x0a), pos87b),
    'CODPOS_ISO8583_BAD_DIGIT',
    '3',
    DE3 + 1,
    /byte 0x0A is not two BCD digits/,
  );
  fault(
    t,
    () => decodeIso8583(patched(DE2, 0x1a), pos87b),
    'CODPOS_ISO8583_BAD_DIGIT',
    '2',
    DE2,
    /length prefix byte 0x1A is not BCD/,
  );
  fault(t, () => decodeIso8583(patched(0, 0x0f), pos87b), 'CODPOS_ISO8583_BAD_DIGIT', 'mti', 0, /MTI at byte 0/);
  // Track 2: only digits and the separator D.
  fault(
    t,
    () => decodeIso8583(patched(DE35 + 3, 0x4e), pos87b),
    'CODPOS_ISO8583_BAD_DIGIT',
    '35',
    DE35 + 3,
    /not two BCD digits \(or the separator D\)/,
  );
  const ascii = encodeIso8583({ mti: '0200', fields: { ...purchase.fields, 55: '9F02' } }, iso87a);
  const at = ascii.indexOf('000000001234', 0, 'latin1') + 8;
  fault(
    t,
    () => decodeIso8583(patched(at, 0x41, ascii), iso87a),
    'CODPOS_ISO8583_BAD_DIGIT',
    '4',
    at,
    /byte 0x41 is not a digit/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 4: '0000000012E4' } }, pos87b),
    'CODPOS_ISO8583_BAD_DIGIT',
    '4',
    undefined,
    /character 11 is not a digit/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '02X0', fields: {} }, pos87b),
    'CODPOS_ISO8583_BAD_DIGIT',
    'mti',
    undefined,
    /MTI/,
  );
});

t.test('the filler nibble of an odd-length BCD value must be 0', async (t) => {
  // DE22 is n3 packed left-padded: 0x0051.
  fault(
    t,
    () => decodeIso8583(patched(DE22, 0x10), pos87b),
    'CODPOS_ISO8583_BAD_PADDING',
    '22',
    DE22,
    /filler nibble is 1, not 0/,
  );
  // iso93b pads on the right.
  const right = encodeIso8583({ mti: '1200', fields: { 22: 'ABCDEFGHIJKL', 24: '200' } }, iso93b);
  t.equal(right.subarray(-2).toString('hex'), '2000', 'n3 200 -> 20 00 (right-padded)');
  fault(
    t,
    () => decodeIso8583(patched(right.length - 1, 0x01, right), iso93b),
    'CODPOS_ISO8583_BAD_PADDING',
    '24',
    right.length - 1,
    /filler nibble is 1/,
  );
});

t.test('text fields refuse characters their content type does not allow', async (t) => {
  const at = wire.indexOf('TERM0001', 0, 'latin1');
  fault(
    t,
    () => decodeIso8583(patched(at + 2, 0x07), pos87b),
    'CODPOS_ISO8583_BAD_CHARACTER',
    '41',
    at + 2,
    /byte 0x07 is not printable ASCII/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0210', fields: { 39: '0-' } }, pos87b),
    'CODPOS_ISO8583_BAD_CHARACTER',
    '39',
    undefined,
    /character 2 is not a letter, digit or space/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 43: 'CAFÉ' } }, pos87b),
    'CODPOS_ISO8583_BAD_CHARACTER',
    '43',
    undefined,
    /character 4 is not printable ASCII/,
  );
});

t.test('a bitmap naming a field the dialect lacks', async (t) => {
  const without22: Dialect = withFields(pos87b, { name: 'no-22', fields: { 22: null } });
  fault(
    t,
    () => decodeIso8583(wire, without22),
    'CODPOS_ISO8583_UNKNOWN_FIELD',
    '22',
    2,
    /bitmap at byte 2: names field 22, which this dialect does not define/,
  );
  const secondary = encodeIso8583({ mti: '0200', fields: { 102: '1234' } }, pyisoAscii);
  const only64: Dialect = { ...pyisoAscii, name: 'no-secondary', fields: { 21: pyisoAscii.fields[21]! } };
  fault(
    t,
    () => decodeIso8583(secondary, only64),
    'CODPOS_ISO8583_UNKNOWN_FIELD',
    '1',
    4,
    /bit 1 announces a secondary bitmap/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 22: '051' } }, without22),
    'CODPOS_ISO8583_UNKNOWN_FIELD',
    '22',
    undefined,
    /field 22 is not in this dialect/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 1: 'x' } }, pos87b),
    'CODPOS_ISO8583_UNKNOWN_FIELD',
    '1',
    undefined,
    /secondary bitmap/,
  );
  const badHex = Buffer.from(secondary);
  badHex[6] = 0x47; // 'G'
  fault(
    t,
    () => decodeIso8583(badHex, pyisoAscii),
    'CODPOS_ISO8583_BAD_BITMAP',
    'bitmap',
    6,
    /byte 0x47 is not a hex digit/,
  );
});

t.test('bytes left over after the last field', async (t) => {
  fault(
    t,
    () => decodeIso8583(Buffer.concat([wire, Buffer.from([0x30])]), pos87b),
    'CODPOS_ISO8583_TRAILING_BYTES',
    'message',
    wire.length,
    /1 bytes are left/,
  );
});

t.test('jPOS would pack "EFGH" into BCD as 5678; we refuse it', async (t) => {
  fault(
    t,
    () => encodeIso8583({ mti: '1800', fields: { 56: 'EFGH' } }, iso93b),
    'CODPOS_ISO8583_BAD_DIGIT',
    '56',
    undefined,
    /character 1 is not a digit/,
  );
});

t.test('values of the wrong type', async (t) => {
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 52: '0123456789ABCDEF' } }, pos87b),
    'CODPOS_ISO8583_BAD_VALUE',
    '52',
    undefined,
    /binary data must be a Buffer, not string/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 52: Buffer.alloc(7) } }, pos87b),
    'CODPOS_ISO8583_LENGTH_OVER_MAX',
    '52',
    undefined,
    /7 bytes; the field holds exactly 8/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 4: 1234 as unknown as string } }, pos87b),
    'CODPOS_ISO8583_BAD_VALUE',
    '4',
    undefined,
    /must be a string, not number/,
  );
  fault(
    t,
    () => encodeIso8583({ mti: '0200', fields: { 28: '100' } }, iso87b),
    'CODPOS_ISO8583_BAD_VALUE',
    '28',
    undefined,
    /starts with C or D/,
  );
  fault(
    t,
    () => messageFromJson({ mti: '0200', fields: { 55: '9F0' } }, pos87b),
    'CODPOS_ISO8583_BAD_VALUE',
    '55',
    undefined,
    /even number/,
  );
  fault(
    t,
    () => messageFromJson({ mti: '0200', fields: { de2: PAN } }, pos87b),
    'CODPOS_ISO8583_BAD_VALUE',
    'de2',
    undefined,
    /field numbers/,
  );
});

t.test('short fixed values are padded the jPOS way, which never changes their meaning', async (t) => {
  const decoded = decodeIso8583(
    encodeIso8583({ mti: '0200', fields: { 4: '1234', 28: 'C100', 41: 'T1' } }, iso87b),
    iso87b,
  );
  t.equal(decoded.fields[4], '000000001234');
  t.equal(decoded.fields[28], 'C00000100');
  t.equal(decoded.fields[41], 'T1      ');
});

t.test('EBCDIC text and MTI, binary length prefixes', async (t) => {
  const message: IsoMessage = {
    mti: '0100',
    fields: { 2: '3560123456789012', 43: 'ACQUIRER NAME [TOKYO] #1 ~ ok!', 61: 'abc{}|' },
  };
  const bytes = encodeIso8583(
    { ...message, fields: { ...message.fields, 43: (message.fields[43] as string).padEnd(40) } },
    jcb,
  );
  t.equal(bytes.subarray(0, 4).toString('hex'), 'f0f1f0f0', 'MTI in EBCDIC');
  t.equal(bytes[12], 16, 'PAN length as one binary byte counting digits');
  t.equal(decodeIso8583(bytes, jcb).fields[61], 'abc{}|');
});

t.test('a host that differs in one field is configuration, not code', async (t) => {
  // This host sends DE48 as binary with a 2-byte binary length.
  const host = withFields(pos87b, {
    name: 'acme-host',
    fields: {
      48: {
        name: 'Acme private data',
        content: 'b',
        lengthType: 'LLLL',
        maxLength: 4096,
        encoding: 'binary',
        lengthEncoding: 'binary',
      },
    },
  });
  const bytes = encodeIso8583({ mti: '0200', fields: { 48: Buffer.from([0, 1, 2]) } }, host);
  t.equal(bytes.subarray(10).toString('hex'), '0003000102');
  t.same(decodeIso8583(bytes, host).fields[48], Buffer.from([0, 1, 2]));
  t.equal(pos87b.fields[48]!.content, 'ans', 'the base dialect is untouched');
});

t.test('a bad dialect is refused when first used, naming the field and the problem', async (t) => {
  const broken = (fields: Dialect['fields']): Dialect => ({
    name: 'broken',
    description: '',
    mtiEncoding: 'bcd',
    bitmapEncoding: 'binary',
    fields,
  });
  fault(
    t,
    () =>
      encodeIso8583(
        purchase,
        broken({ 2: { name: 'PAN', content: 'n', lengthType: 'LL', maxLength: 19, encoding: 'bcd' } }),
      ),
    'CODPOS_ISO8583_BAD_DIALECT',
    'field 2',
    undefined,
    /needs lengthEncoding/,
  );
  fault(
    t,
    () =>
      encodeIso8583(
        purchase,
        broken({ 3: { name: 'x', content: 'an', lengthType: 'fixed', maxLength: 6, encoding: 'bcd' } }),
      ),
    'CODPOS_ISO8583_BAD_DIALECT',
    'field 3',
    undefined,
    /content an can be encoded as ascii, ebcdic, not bcd/,
  );
  fault(
    t,
    () =>
      encodeIso8583(
        purchase,
        broken({
          3: { name: 'x', content: 'ans', lengthType: 'LL', maxLength: 120, encoding: 'ascii', lengthEncoding: 'bcd' },
        }),
      ),
    'CODPOS_ISO8583_BAD_DIALECT',
    'field 3',
    undefined,
    /does not fit a LL bcd length \(at most 99\)/,
  );
  fault(
    t,
    () =>
      encodeIso8583(
        purchase,
        broken({ 1: { name: 'x', content: 'b', lengthType: 'fixed', maxLength: 8, encoding: 'binary' } }),
      ),
    'CODPOS_ISO8583_BAD_DIALECT',
    '1',
    undefined,
    /field numbers run from 2 to 128/,
  );
});

t.test('long text is checked at every position and alignment (word-at-a-time check)', async (t) => {
  const text = 'ABCDEF0123456789'.repeat(12) + 'xyz ~!';
  const message = encodeIso8583({ mti: '0200', fields: { 55: text } }, iso87a);
  const start = message.length - text.length;
  let wrong = 0;
  for (const shift of [0, 1, 2, 3]) {
    // The same bytes at each alignment of their underlying memory.
    const holder = Buffer.alloc(message.length + 8);
    message.copy(holder, shift);
    const view = holder.subarray(shift, shift + message.length);
    if (decodeIso8583(view, iso87a).fields[55] !== text) wrong++;
    for (let i = 0; i < text.length; i++) {
      for (const bad of [0x00, 0x1f, 0x7f, 0x80, 0xff]) {
        const original = view[start + i]!;
        view[start + i] = bad;
        try {
          decodeIso8583(view, iso87a);
          wrong++;
        } catch (error) {
          const e = error as PosError;
          if (e.code !== 'CODPOS_ISO8583_BAD_CHARACTER' || e.details?.offset !== start + i) wrong++;
        }
        view[start + i] = original;
      }
    }
  }
  t.equal(wrong, 0, 'every bad byte found at its offset, the good text accepted, at all four alignments');
});

t.test('BCD values of every length: decoded exactly, a bad nibble found at its byte', async (t) => {
  const dialect = withFields(pos87b, {
    name: 'long-bcd',
    fields: {
      2: {
        name: 'Long number',
        content: 'n',
        lengthType: 'LL',
        maxLength: 41,
        encoding: 'bcd',
        lengthEncoding: 'bcd',
        pad: 'left',
      },
      35: { name: 'Long track', content: 'z', lengthType: 'LL', maxLength: 41, encoding: 'bcd', lengthEncoding: 'bcd' },
    },
  });
  let wrong = 0;
  for (const field of [2, 35]) {
    for (let digits = 1; digits <= 41; digits++) {
      const value = Array.from({ length: digits }, (_, i) =>
        field === 35 && i === 5 ? '=' : String((i * 7) % 10),
      ).join('');
      const bytes = encodeIso8583({ mti: '0200', fields: { [field]: value } }, dialect);
      if (decodeIso8583(bytes, dialect).fields[field] !== value) wrong++;
      const dataStart = 2 + 8 + 1;
      for (let at = dataStart; at < bytes.length; at++) {
        const bad = Buffer.from(bytes);
        bad[at] = field === 35 ? 0xee : 0xaa; // nibbles that are neither digits nor the separator D
        try {
          decodeIso8583(bad, dialect);
          wrong++;
        } catch (error) {
          const e = error as PosError;
          if (!['CODPOS_ISO8583_BAD_DIGIT', 'CODPOS_ISO8583_BAD_PADDING'].includes(e.code) || e.details?.offset !== at)
            wrong++;
        }
      }
    }
  }
  t.equal(wrong, 0);
});

t.test('input that is not bytes', async (t) => {
  t.throws(() => decodeIso8583('0200' as unknown as Buffer, pos87b), {
    code: 'CODPOS_ISO8583_BAD_VALUE',
    message: /must be bytes/,
  });
  t.same(
    messageToJson(decodeIso8583(new Uint8Array(wire), pos87b)),
    messageToJson(purchase),
    'a plain Uint8Array is fine',
  );
});
