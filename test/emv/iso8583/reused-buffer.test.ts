import t from 'tap';
import { decodeIso8583, encodeIso8583, iso87a, pos87b } from '../../../emv/iso8583/index.js';

// The decoder cuts field text from one string of the whole message (decode.ts); a
// caller that decodes a message, then reuses the same Buffer for the next one, must
// get the next message's values, never the previous one's.
for (const dialect of [iso87a, pos87b]) {
  t.test(`${dialect.name}: a Buffer reused for the next message decodes to the new values`, async (t) => {
    const first = encodeIso8583(
      { mti: '0800', fields: { 11: '000001', 37: 'AAAAAAAAAAAA', 41: 'TERM0001', 70: '301' } },
      dialect,
    );
    const second = encodeIso8583(
      { mti: '0800', fields: { 11: '000002', 37: 'BBBBBBBBBBBB', 41: 'TERM0002', 70: '301' } },
      dialect,
    );
    t.equal(first.length, second.length);
    const reused = Buffer.from(first);
    t.match(decodeIso8583(reused, dialect).fields, { 11: '000001', 37: 'AAAAAAAAAAAA', 41: 'TERM0001' });
    second.copy(reused);
    t.match(decodeIso8583(reused, dialect).fields, { 11: '000002', 37: 'BBBBBBBBBBBB', 41: 'TERM0002' });
  });
}
