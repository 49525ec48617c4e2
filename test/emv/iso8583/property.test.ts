/**
 * Encode -> decode is the identity over random valid
 * messages in every shipped dialect and in the configured test dialects (EBCDIC,
 * hex bitmaps, binary length prefixes, nested DE127). Seeded: a failure names its seed.
 */
import t from 'tap';
import { DIALECTS, decodeIso8583, encodeIso8583, messageToJson, type Dialect } from '../../../emv/iso8583/index.js';
import { prng, randomMessage } from './random.js';
import { cupPos, jcb, postilion, pyisoAscii } from './vector-dialects.js';

const MESSAGES_PER_DIALECT = 400;
const dialects: Dialect[] = [...Object.values(DIALECTS), jcb, postilion, pyisoAscii, cupPos];

for (const dialect of dialects) {
  t.test(`encode -> decode is the identity in ${dialect.name}`, async (t) => {
    let failures = 0;
    for (let seed = 1; seed <= MESSAGES_PER_DIALECT && failures < 3; seed++) {
      const message = randomMessage(prng(seed), dialect);
      const wire = encodeIso8583(message, dialect);
      const back = decodeIso8583(wire, dialect);
      const same = JSON.stringify(messageToJson(back)) === JSON.stringify(messageToJson(message));
      if (!same) {
        failures++;
        t.same(messageToJson(back), messageToJson(message), `seed ${seed}`);
      }
      // And the bytes are canonical: re-encoding the decoded message gives them again.
      if (!encodeIso8583(back, dialect).equals(wire)) {
        failures++;
        t.fail(`seed ${seed}: re-encoding changed the bytes`);
      }
    }
    t.equal(failures, 0, `${MESSAGES_PER_DIALECT} random messages round-trip`);
  });
}
