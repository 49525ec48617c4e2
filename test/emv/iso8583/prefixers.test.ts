/**
 * A table per length prefixer (emv/iso8583/prefixers/): each length type in each length
 * encoding a spec allows writes the expected prefix, the three readers read the field
 * back, and a bad prefix byte, a length over the maximum and a cut-off prefix are
 * refused naming the field and offset. Prefix bytes are written out by hand.
 */
import t from 'tap';
import type { FieldSpec, LengthEncoding, LengthType } from '../../../emv/iso8583/index.js';
import { PREFIXERS, fixedPrefixer } from '../../../emv/iso8583/prefixers/index.js';
import { agree, compiledField, oneFieldDialect, refusesToRead, refusesToWrite } from './one-field.js';

const E = {
  TRUNCATED: 'CODPOS_ISO8583_TRUNCATED',
  LENGTH_OVER_MAX: 'CODPOS_ISO8583_LENGTH_OVER_MAX',
  BAD_DIGIT: 'CODPOS_ISO8583_BAD_DIGIT',
};

const MAX: Record<Exclude<LengthType, 'fixed'>, number> = { LL: 99, LLL: 999, LLLL: 9999, LLLLLL: 999999 };

function text(
  lengthType: Exclude<LengthType, 'fixed'>,
  lengthEncoding: LengthEncoding,
  maxLength = MAX[lengthType],
): FieldSpec {
  return { name: 'Test', content: 'ans', lengthType, maxLength, encoding: 'ascii', lengthEncoding };
}

const TWELVE = 'abcdefghijkl';
const TWELVE_HEX = Buffer.from(TWELVE).toString('hex');

/** The prefix of a 12-character value, by length type and encoding. */
const PREFIX_OF_12: Record<LengthEncoding, Record<Exclude<LengthType, 'fixed'>, string>> = {
  bcd: { LL: '12', LLL: '0012', LLLL: '0012', LLLLLL: '000012' },
  ascii: { LL: '3132', LLL: '303132', LLLL: '30303132', LLLLLL: '303030303132' },
  ebcdic: { LL: 'F1F2', LLL: 'F0F1F2', LLLL: 'F0F0F1F2', LLLLLL: 'F0F0F0F0F1F2' },
  binary: { LL: '0C', LLL: '000C', LLLL: '000C', LLLLLL: '00000C' },
};

t.test('fixed: no prefix', async (t) => {
  const spec: FieldSpec = { name: 'Test', content: 'ans', lengthType: 'fixed', maxLength: 3, encoding: 'ascii' };
  t.equal(compiledField(oneFieldDialect(spec)).prefixer, fixedPrefixer);
  agree(t, spec, 'abc', '616263');
  refusesToRead(t, spec, '6162', E.TRUNCATED, 0);
});

for (const lengthEncoding of ['bcd', 'ascii', 'ebcdic', 'binary'] as const) {
  t.test(`${lengthEncoding} prefixes`, async (t) => {
    t.equal(
      compiledField(oneFieldDialect(text('LL', lengthEncoding))).prefixer,
      PREFIXERS[lengthEncoding],
      `compile picks the ${lengthEncoding} prefixer`,
    );
    for (const lengthType of ['LL', 'LLL', 'LLLL', 'LLLLLL'] as const) {
      const spec = text(lengthType, lengthEncoding);
      const prefix = PREFIX_OF_12[lengthEncoding][lengthType];
      agree(t, spec, TWELVE, prefix + TWELVE_HEX);
      const zeroByte = lengthEncoding === 'ascii' ? '30' : lengthEncoding === 'ebcdic' ? 'F0' : '00';
      agree(t, spec, '', zeroByte.repeat(prefix.length / 2));
      // The prefix cut off: after its first byte, or before it when it has one byte.
      const prefixBytes = prefix.length / 2;
      refusesToRead(t, spec, prefixBytes > 1 ? prefix.slice(0, 2) : '', E.TRUNCATED, 0);
      // The data shorter than the prefix says.
      refusesToRead(t, spec, prefix + TWELVE_HEX.slice(0, -2), E.TRUNCATED, prefixBytes);
    }
    // A length over the field's maximum: 12 in a field of at most 11.
    refusesToRead(
      t,
      text('LL', lengthEncoding, 11),
      PREFIX_OF_12[lengthEncoding].LL + TWELVE_HEX,
      E.LENGTH_OVER_MAX,
      0,
    );
    refusesToWrite(t, text('LL', lengthEncoding, 11), TWELVE, E.LENGTH_OVER_MAX);
  });
}

t.test('a prefix byte that is not a digit is refused at that byte', async (t) => {
  refusesToRead(t, text('LL', 'bcd'), `1A${TWELVE_HEX}`, E.BAD_DIGIT, 0);
  refusesToRead(t, text('LLL', 'bcd'), `0A12${TWELVE_HEX}`, E.BAD_DIGIT, 0);
  refusesToRead(t, text('LLL', 'ascii'), `303A32${TWELVE_HEX}`, E.BAD_DIGIT, 1);
  refusesToRead(t, text('LL', 'ascii'), `312F${TWELVE_HEX}`, E.BAD_DIGIT, 1);
  refusesToRead(t, text('LL', 'ebcdic'), `F131${TWELVE_HEX}`, E.BAD_DIGIT, 1);
});

t.test('a binary prefix counts in bytes, so it can say more than its decimal digits', async (t) => {
  // LL binary: one byte, up to 255 (compile allows maxLength 255 where LL bcd stops at 99).
  agree(t, text('LL', 'binary', 255), 'x'.repeat(200), `C8${'78'.repeat(200)}`);
  t.throws(() => compiledField(oneFieldDialect(text('LL', 'bcd', 255))), { code: 'CODPOS_ISO8583_BAD_DIALECT' });
});
