/**
 * 100,000 random and mutated inputs to the decoder end only in
 * PosErrors (CODPOS_ISO8583_*) or in a message that re-encodes and decodes to itself
 * — no other exception, no hang. Seeded, so a failure reproduces from its number.
 */
import t from 'tap';
import { PosError } from '../../../config/errors.js';
import {
  DIALECTS,
  IsoStreamFramer,
  decodeIso8583,
  encodeIso8583,
  messageToJson,
  type Dialect,
} from '../../../emv/iso8583/index.js';
import { mutateMessage, prng, randomInt, randomMessage } from './random.js';
import { jcb, postilion, pyisoAscii } from './vector-dialects.js';

const INPUTS = 100_000;
const dialects: Dialect[] = [...Object.values(DIALECTS), jcb, postilion, pyisoAscii];
const random = prng(8583);

// Valid messages to mutate, per dialect.
const seeds = dialects.map((dialect) =>
  Array.from({ length: 20 }, () => encodeIso8583(randomMessage(random, dialect), dialect)),
);

t.test(`${INPUTS} random and mutated inputs end in PosErrors or consistent messages`, async (t) => {
  const codes = new Map<string, number>();
  let accepted = 0;
  let other = 0;
  let firstOther = '';
  for (let i = 0; i < INPUTS; i++) {
    const which = i % dialects.length;
    const dialect = dialects[which]!;
    const input =
      i % 2 === 0
        ? Buffer.from(Array.from({ length: randomInt(random, 300) }, () => randomInt(random, 256)))
        : mutateMessage(random, seeds[which]![randomInt(random, seeds[which]!.length)]!);
    try {
      const message = decodeIso8583(input, dialect);
      // Whatever is accepted must be a real message: encoding it and decoding that gives it back.
      const again = decodeIso8583(encodeIso8583(message, dialect), dialect);
      if (JSON.stringify(messageToJson(again)) !== JSON.stringify(messageToJson(message)))
        throw new Error('accepted input is not a stable message');
      accepted++;
    } catch (error) {
      if (
        error instanceof PosError &&
        error.code.startsWith('CODPOS_ISO8583_') &&
        typeof error.details?.field === 'string'
      ) {
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      } else {
        other++;
        if (!firstOther)
          firstOther = `input ${i} (${dialect.name}) ${input.toString('hex')}: ${String((error as Error)?.stack ?? error)}`;
      }
    }
  }
  t.equal(other, 0, firstOther || 'no exception but PosErrors');
  t.ok(accepted > 0, `some mutated inputs are still valid messages (${accepted})`);
  t.ok(codes.size >= 6, `the errors cover many codes: ${[...codes.entries()].map(([c, n]) => `${c} ${n}`).join(', ')}`);
});

t.test('the stream framer survives random bytes: only PosErrors', async (t) => {
  let other = 0;
  for (let i = 0; i < 2000; i++) {
    const framer = new IsoStreamFramer({ lengthHeader: i % 2 ? 'bcd2' : 'ascii4', tpdu: i % 3 === 0 });
    try {
      for (let k = 0; k < 5; k++)
        framer.push(Buffer.from(Array.from({ length: randomInt(random, 64) }, () => randomInt(random, 256))));
    } catch (error) {
      if (!(error instanceof PosError && error.code === 'CODPOS_ISO8583_BAD_FRAME')) other++;
    }
  }
  t.equal(other, 0);
});
