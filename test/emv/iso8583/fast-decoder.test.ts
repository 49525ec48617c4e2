/**
 * The generated decoder (decode-fast.ts) against the checking decoder (decode-checked.ts),
 * which is the reference: on valid messages the generated one must take the message
 * itself (not hand it over) and read the same values; on damaged input it must never
 * accept what the checking decoder refuses, nor read a different value. Also the word
 * checks of ascii-scan.ts against a byte-by-byte reference, and the rule that nothing
 * but integers from a dialect reaches the generated source.
 */
import t from 'tap';
import { PosError } from '../../../config/errors.js';
import {
  DIALECTS,
  compileDialect,
  decodeIso8583,
  encodeIso8583,
  messageToJson,
  withFields,
  iso87a,
  type Dialect,
  type IsoMessage,
} from '../../../emv/iso8583/index.js';
import { decodeIso8583Checked } from '../../../emv/iso8583/decode.js';
import { fastDecoderFor, fastDecoderSource } from '../../../emv/iso8583/decode-fast.js';
import { DIGIT } from '../../../emv/iso8583/charsets.js';
import { AsciiScanner } from '../../../emv/iso8583/ascii-scan.js';
import { mutateMessage, prng, randomInt, randomMessage } from './random.js';
import { jcb, postilion, pyisoAscii, pyisoDe55 } from './vector-dialects.js';

/** Short fixed BCD numerics (n1-n8) with the filler on either side: the generated decoder builds these itself. */
const shortBcd: Dialect = {
  name: 'short-bcd-test',
  description: 'n1-n8 BCD, filler left in fields 2-9 and right in fields 10-17',
  mtiEncoding: 'bcd',
  bitmapEncoding: 'binary',
  fields: Object.fromEntries(
    Array.from({ length: 16 }, (_, i) => [
      2 + i,
      {
        name: `n${1 + (i % 8)} ${i < 8 ? 'left' : 'right'}`,
        content: 'n',
        lengthType: 'fixed',
        maxLength: 1 + (i % 8),
        encoding: 'bcd',
        pad: i < 8 ? 'left' : 'right',
      },
    ]),
  ),
};

const dialects: Dialect[] = [...Object.values(DIALECTS), jcb, postilion, pyisoAscii, pyisoDe55, shortBcd];
const random = prng(20261129);

function json(message: IsoMessage): string {
  return JSON.stringify(messageToJson(message));
}

/** The generated decoder alone, with no checking decoder behind it. */
function fastOnly(buf: Buffer, dialect: Dialect): IsoMessage {
  return fastDecoderFor(compileDialect(dialect))(buf);
}

t.test(
  'valid messages: the generated decoder reads them itself, to the same values as the checking decoder',
  async (t) => {
    for (const dialect of dialects) {
      let refused = 0;
      let differ = 0;
      for (let i = 0; i < 1500; i++) {
        const wire = encodeIso8583(randomMessage(random, dialect), dialect);
        let fast: IsoMessage;
        try {
          fast = fastOnly(wire, dialect);
        } catch {
          refused++;
          continue;
        }
        if (json(fast) !== json(decodeIso8583Checked(wire, dialect))) differ++;
      }
      t.equal(refused, 0, `${dialect.name}: no valid message is handed over to the checking decoder`);
      t.equal(differ, 0, `${dialect.name}: the same values`);
    }
  },
);

t.test('damaged messages: the generated decoder never accepts what the checking decoder refuses', async (t) => {
  for (const dialect of dialects) {
    const seeds = Array.from({ length: 20 }, () => encodeIso8583(randomMessage(random, dialect), dialect));
    let acceptedBoth = 0;
    let refusedBoth = 0;
    let fastOnlyAccepts = 0;
    let fastOnlyRefuses = 0;
    let differ = 0;
    for (let i = 0; i < 3000; i++) {
      const input = mutateMessage(random, seeds[randomInt(random, seeds.length)]!);
      let fast: IsoMessage | undefined;
      let checked: IsoMessage | undefined;
      try {
        fast = fastOnly(input, dialect);
      } catch {
        fast = undefined;
      }
      try {
        checked = decodeIso8583Checked(input, dialect);
      } catch (error) {
        if (!(error instanceof PosError)) throw error;
      }
      if (fast && checked) {
        acceptedBoth++;
        if (json(fast) !== json(checked)) differ++;
      } else if (fast) fastOnlyAccepts++;
      else if (checked) fastOnlyRefuses++;
      else refusedBoth++;
    }
    t.equal(fastOnlyAccepts, 0, `${dialect.name}: nothing the checking decoder refuses is accepted`);
    t.equal(fastOnlyRefuses, 0, `${dialect.name}: nothing the checking decoder reads is refused`);
    t.equal(differ, 0, `${dialect.name}: accepted messages read the same`);
    t.ok(
      acceptedBoth > 0 && refusedBoth > 0,
      `${dialect.name}: both outcomes seen (${acceptedBoth} read, ${refusedBoth} refused)`,
    );
  }
});

t.test('a fault the generated decoder finds is reported by the checking decoder, with field and offset', async (t) => {
  const wire = encodeIso8583(
    { mti: '0200', fields: { 3: '000000', 4: '000000005000', 11: '000123', 41: 'TERM0001' } },
    iso87a,
  );
  const bad = Buffer.from(wire);
  const at = wire.indexOf('000123');
  bad[at + 3] = 0x41; // 'A' inside DE11, in the middle of a run of numeric fields
  t.throws(() => fastOnly(bad, iso87a), 'the generated decoder refuses it');
  t.throws(() => decodeIso8583(bad, iso87a), {
    code: 'CODPOS_ISO8583_BAD_DIGIT',
    details: { field: '11', offset: at + 3 },
  });
});

t.test('word checks agree with a byte-by-byte reference for every byte value at every alignment', async (t) => {
  const view = Buffer.alloc(64).subarray(1); // an odd byteOffset: runs start at every alignment
  const scan = new AsciiScanner();
  scan.begin(view);
  let mismatches = 0;
  for (let length = 1; length <= 24; length++) {
    for (let start = 0; start < 4; start++) {
      for (let position = 0; position < length; position++) {
        for (let value = 0; value < 256; value++) {
          view.fill(0x35, start, start + length); // '5': a digit, so printable too
          view[start + position] = value;
          const digit = value >= 0x30 && value <= 0x39;
          const printable = value >= 0x20 && value <= 0x7e;
          if (scan.allInRange(start, start + length, 0x30, 0x39) !== digit) mismatches++;
          if (scan.allInRange(start, start + length, 0x20, 0x7e) !== printable) mismatches++;
          if (scan.allInClass(start, start + length, DIGIT) !== digit) mismatches++;
          if (scan.allTrack2(start, start + length) !== (digit || value === 0x3d)) mismatches++;
        }
      }
    }
  }
  scan.release();
  t.equal(mismatches, 0);
});

t.test('only integers from a dialect reach the generated source', async (t) => {
  const hostile = "x'); globalThis.pwned = true; ('";
  const dialect = withFields(iso87a, {
    name: hostile,
    description: hostile,
    fields: {
      48: {
        name: hostile,
        content: 'ans',
        lengthType: 'LLL',
        maxLength: 999,
        encoding: 'ascii',
        lengthEncoding: 'ascii',
      },
    },
  });
  const source = fastDecoderSource(compileDialect(dialect));
  t.notOk(source.includes('pwned'), 'no name or description is pasted into code');
  const message = decodeIso8583(encodeIso8583({ mti: '0100', fields: { 48: 'abc' } }, dialect), dialect);
  t.equal(message.fields[48], 'abc');
  t.equal((globalThis as { pwned?: boolean }).pwned, undefined);
});
