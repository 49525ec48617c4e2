/**
 * A table per interpreter (emv/iso8583/interpreters/): for each row the encoder writes
 * the expected bytes, and the interpreter's checked reader, the checking decoder and the
 * generated decoder all read them back to the same value; each refusal names the field
 * and the byte offset. Wire bytes are written out by hand from the encodings' rules, not
 * computed by the code under test.
 */
import t, { type Test } from 'tap';
import type { FieldSpec } from '../../../emv/iso8583/index.js';
import { asciiInterpreter } from '../../../emv/iso8583/interpreters/ascii.js';
import { bcdInterpreter } from '../../../emv/iso8583/interpreters/bcd.js';
import { binaryInterpreter } from '../../../emv/iso8583/interpreters/binary.js';
import { ebcdicInterpreter } from '../../../emv/iso8583/interpreters/ebcdic.js';
import { hexInterpreter } from '../../../emv/iso8583/interpreters/hex.js';
import {
  signedAmountAscii,
  signedAmountBcd,
  signedAmountEbcdic,
} from '../../../emv/iso8583/interpreters/signed-amount.js';
import type { Interpreter } from '../../../emv/iso8583/interpreters/interpreter.js';
import { agree, compiledField, oneFieldDialect, refusesToRead, refusesToWrite } from './one-field.js';

const E = {
  TRUNCATED: 'CODPOS_ISO8583_TRUNCATED',
  LENGTH_OVER_MAX: 'CODPOS_ISO8583_LENGTH_OVER_MAX',
  BAD_DIGIT: 'CODPOS_ISO8583_BAD_DIGIT',
  BAD_CHARACTER: 'CODPOS_ISO8583_BAD_CHARACTER',
  BAD_PADDING: 'CODPOS_ISO8583_BAD_PADDING',
  BAD_VALUE: 'CODPOS_ISO8583_BAD_VALUE',
};

const fixed = (
  content: FieldSpec['content'],
  maxLength: number,
  encoding: FieldSpec['encoding'],
  pad?: 'left' | 'right',
): FieldSpec =>
  pad === undefined
    ? { name: 'Test', content, lengthType: 'fixed', maxLength, encoding }
    : { name: 'Test', content, lengthType: 'fixed', maxLength, encoding, pad };
const ll = (
  content: FieldSpec['content'],
  maxLength: number,
  encoding: FieldSpec['encoding'],
  lengthEncoding: FieldSpec['lengthEncoding'],
): FieldSpec => ({
  name: 'Test',
  content,
  lengthType: 'LL',
  maxLength,
  encoding,
  lengthEncoding,
});

function uses(t: Test, spec: FieldSpec, interpreter: Interpreter): void {
  t.equal(
    compiledField(oneFieldDialect(spec)).interpreter,
    interpreter,
    `compile picks ${interpreter.name} for ${spec.content} ${spec.encoding}`,
  );
}

t.test('bcd', async (t) => {
  uses(t, fixed('n', 6, 'bcd'), bcdInterpreter);
  uses(t, ll('z', 37, 'bcd', 'bcd'), bcdInterpreter);
  agree(t, fixed('n', 6, 'bcd'), '123456', '123456');
  agree(t, fixed('n', 12, 'bcd'), '000000005000', '000000005000');
  agree(t, fixed('n', 5, 'bcd'), '12345', '012345');
  agree(t, fixed('n', 5, 'bcd', 'right'), '12345', '123450');
  agree(t, fixed('n', 3, 'bcd'), '051', '0051');
  agree(t, fixed('n', 6, 'bcd'), '42', '000042', '000042');
  agree(t, fixed('n', 10, 'bcd'), '1129051500', '1129051500');
  agree(t, fixed('n', 9, 'bcd'), '123456789', '0123456789');
  agree(t, fixed('n', 11, 'bcd', 'right'), '12345678901', '123456789010');
  agree(t, fixed('n', 7, 'bcd', 'right'), '1234567', '12345670');
  agree(t, fixed('n', 1, 'bcd', 'right'), '7', '70');
  agree(t, fixed('n', 16, 'bcd'), '4761739001010119', '4761739001010119');
  agree(t, ll('n', 19, 'bcd', 'bcd'), '123', '031230');
  agree(t, ll('z', 37, 'bcd', 'bcd'), '476173=2212', '11476173D22120');
  agree(
    t,
    ll('z', 37, 'bcd', 'bcd'),
    '4761739001010119=22122011143804400000',
    '374761739001010119D221220111438044000000',
  );
  refusesToRead(t, fixed('n', 4, 'bcd'), '12A4', E.BAD_DIGIT, 1);
  refusesToRead(t, fixed('n', 3, 'bcd'), '1123', E.BAD_PADDING, 0);
  refusesToRead(t, fixed('n', 11, 'bcd', 'right'), '123456789011', E.BAD_PADDING, 5);
  refusesToRead(t, fixed('n', 12, 'bcd'), '1234567890A1', E.BAD_DIGIT, 5);
  refusesToRead(t, ll('n', 19, 'bcd', 'bcd'), '031231', E.BAD_PADDING, 2);
  refusesToRead(t, ll('z', 37, 'bcd', 'bcd'), '02E1', E.BAD_DIGIT, 1);
  refusesToRead(t, fixed('n', 6, 'bcd'), '1234', E.TRUNCATED, 0);
  refusesToWrite(t, fixed('n', 4, 'bcd'), '12A4', E.BAD_DIGIT);
  refusesToWrite(t, fixed('n', 4, 'bcd'), '12345', E.LENGTH_OVER_MAX);
  refusesToWrite(t, fixed('n', 4, 'bcd'), 1234, E.BAD_VALUE);
  refusesToWrite(t, fixed('z', 4, 'bcd'), '12', E.BAD_VALUE);
});

t.test('ascii', async (t) => {
  uses(t, fixed('ans', 4, 'ascii'), asciiInterpreter);
  agree(t, fixed('n', 4, 'ascii'), '0840', '30383430');
  agree(t, fixed('n', 6, 'ascii'), '000123', '303030313233');
  agree(t, fixed('n', 2, 'ascii'), '7', '3037', '07');
  agree(t, fixed('an', 8, 'ascii'), 'TERM01', '5445524D30312020', 'TERM01  ');
  agree(t, ll('ans', 99, 'ascii', 'ascii'), 'a=b!', '3034613D6221');
  agree(t, ll('z', 37, 'ascii', 'ascii'), '12=34', '303531323D3334');
  agree(
    t,
    ll('z', 37, 'ascii', 'ascii'),
    '4761739001010119=22122011143804400000',
    `3337${Buffer.from('4761739001010119=22122011143804400000').toString('hex')}`,
  );
  agree(t, { ...ll('ans', 999, 'ascii', 'ascii'), lengthType: 'LLL' }, 'x'.repeat(40), `303430${'78'.repeat(40)}`);
  refusesToRead(t, fixed('n', 4, 'ascii'), '30413030', E.BAD_DIGIT, 1);
  refusesToRead(t, fixed('n', 16, 'ascii'), `${'30'.repeat(13)}2F3030`, E.BAD_DIGIT, 13);
  refusesToRead(t, fixed('an', 2, 'ascii'), '4121', E.BAD_CHARACTER, 1);
  refusesToRead(t, fixed('ans', 2, 'ascii'), '417F', E.BAD_CHARACTER, 1);
  refusesToRead(t, ll('z', 37, 'ascii', 'ascii'), '30323141', E.BAD_DIGIT, 3);
  refusesToWrite(t, fixed('an', 4, 'ascii'), 'ab!', E.BAD_CHARACTER);
  refusesToWrite(t, fixed('n', 4, 'ascii'), '12x', E.BAD_DIGIT);
  refusesToWrite(t, fixed('ans', 40, 'ascii'), `${'a'.repeat(35)}\u0100`, E.BAD_CHARACTER);
});

t.test('ebcdic', async (t) => {
  uses(t, fixed('ans', 4, 'ebcdic'), ebcdicInterpreter);
  agree(t, fixed('n', 4, 'ebcdic'), '0840', 'F0F8F4F0');
  agree(t, ll('ans', 99, 'ebcdic', 'ebcdic'), 'AB c', 'F0F4C1C24083');
  agree(t, fixed('an', 3, 'ebcdic'), 'A1', 'C1F140', 'A1 ');
  agree(t, ll('z', 37, 'ebcdic', 'bcd'), '12=3', '04F1F27EF3');
  refusesToRead(t, fixed('n', 2, 'ebcdic'), 'F0C1', E.BAD_DIGIT, 1);
  refusesToRead(t, fixed('ans', 1, 'ebcdic'), '00', E.BAD_CHARACTER, 0);
  refusesToWrite(t, fixed('ans', 2, 'ebcdic'), 'a\u00e9', E.BAD_CHARACTER);
});

t.test('binary', async (t) => {
  uses(t, fixed('b', 4, 'binary'), binaryInterpreter);
  agree(t, fixed('b', 4, 'binary'), Buffer.from('01020304', 'hex'), '01020304');
  agree(t, { ...ll('b', 999, 'binary', 'binary'), lengthType: 'LLL' }, Buffer.from('AABB', 'hex'), '0002AABB');
  agree(t, ll('b', 99, 'binary', 'bcd'), Buffer.alloc(0), '00');
  refusesToRead(t, fixed('b', 4, 'binary'), '010203', E.TRUNCATED, 0);
  refusesToWrite(t, fixed('b', 4, 'binary'), '01020304', E.BAD_VALUE);
  refusesToWrite(t, fixed('b', 4, 'binary'), Buffer.alloc(3), E.LENGTH_OVER_MAX);
});

t.test('hex', async (t) => {
  uses(t, fixed('b', 2, 'hex'), hexInterpreter);
  agree(t, fixed('b', 2, 'hex'), Buffer.from('ABCD', 'hex'), '41424344');
  agree(t, ll('b', 99, 'hex', 'ascii'), Buffer.from('01FF', 'hex'), '303230314646');
  refusesToRead(t, fixed('b', 1, 'hex'), '4147', E.BAD_DIGIT, 1);
  refusesToRead(t, fixed('b', 2, 'hex'), '41424344'.slice(0, 6), E.TRUNCATED, 0);
  refusesToWrite(t, fixed('b', 2, 'hex'), 'ABCD', E.BAD_VALUE);
});

t.test('hex: the reader takes lowercase digits too', async (t) => {
  const f = compiledField(oneFieldDialect(fixed('b', 2, 'hex')));
  t.same(hexInterpreter.read(Buffer.from('abCD'), 0, 2, f, { text: () => '' }), Buffer.from('ABCD', 'hex'));
});

t.test('signed amount', async (t) => {
  uses(t, fixed('xn', 8, 'bcd'), signedAmountBcd);
  uses(t, fixed('xn', 8, 'ascii'), signedAmountAscii);
  uses(t, fixed('xn', 8, 'ebcdic'), signedAmountEbcdic);
  agree(t, fixed('xn', 8, 'bcd'), 'C00001234', '4300001234');
  agree(t, fixed('xn', 4, 'bcd'), 'D12', '440012', 'D0012');
  agree(t, fixed('xn', 8, 'ascii'), 'D00001234', '443030303031323334');
  agree(t, fixed('xn', 8, 'ebcdic'), 'C00001234', 'C3F0F0F0F0F1F2F3F4');
  refusesToRead(t, fixed('xn', 4, 'bcd'), '580012', E.BAD_CHARACTER, 0);
  refusesToRead(t, fixed('xn', 4, 'ascii'), '4330314130', E.BAD_DIGIT, 3);
  refusesToRead(t, fixed('xn', 4, 'ebcdic'), '43F0F0F0F0', E.BAD_CHARACTER, 0);
  refusesToWrite(t, fixed('xn', 4, 'bcd'), '12', E.BAD_VALUE);
  refusesToWrite(t, fixed('xn', 4, 'ascii'), 'C12345', E.LENGTH_OVER_MAX);
});
