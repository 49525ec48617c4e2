/** Seeded randomness for the property and fuzz tests, so a failure reproduces from its seed. */
import { compileDialect, type Dialect, type IsoFields, type IsoMessage } from '../../../emv/iso8583/index.js';

export { prng } from '../../helpers/prng.js';

export function randomInt(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

const DIGITS = '0123456789';
const AN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ';
const ANS = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

function pick(random: () => number, alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(random, alphabet.length)];
  return s;
}

type Compiled = ReturnType<typeof compileDialect>['body'];

/** A random valid message for `dialect`: random fields, each with a valid value of a legal length. */
export function randomMessage(random: () => number, dialect: Dialect): IsoMessage {
  const mti = pick(random, DIGITS, 4);
  return { mti, fields: randomFields(random, compileDialect(dialect).body, 0) };
}

function randomFields(random: () => number, set: Compiled, depth: number): IsoFields {
  const fields: IsoFields = {};
  const numbers = set.fields.map((f, n) => (f ? n : 0)).filter((n) => n > 0);
  const wanted = 1 + randomInt(random, Math.min(numbers.length, 24));
  for (let i = 0; i < wanted; i++) {
    const number = numbers[randomInt(random, numbers.length)]!;
    const f = set.fields[number]!;
    // Variable fields: mostly short, sometimes empty, sometimes at their maximum.
    const roll = random();
    const length =
      f.lengthDigits === 0
        ? f.maxLength
        : roll < 0.1
          ? 0
          : roll < 0.2
            ? f.maxLength
            : randomInt(random, Math.min(f.maxLength, 48) + 1);
    if (f.sub !== undefined && depth === 0) {
      fields[number] = randomFields(random, f.sub, depth + 1);
      continue;
    }
    if (f.sub !== undefined) continue;
    switch (f.content) {
      case 0: // n
        fields[number] = pick(random, DIGITS, length);
        break;
      case 1: // z
        fields[number] = pick(random, DIGITS + '=', length);
        break;
      case 2: // xn
        fields[number] = pick(random, 'CD', 1) + pick(random, DIGITS, length);
        break;
      case 3:
        fields[number] = pick(random, AN, length);
        break;
      case 4:
        fields[number] = pick(random, ANS, length);
        break;
      default:
        fields[number] = Buffer.from(Array.from({ length }, () => randomInt(random, 256)));
    }
  }
  return fields;
}

/** A damaged copy of a valid message: bytes flipped, cut, extended, a bitmap bit set, or another message spliced in. */
export function mutateMessage(random: () => number, source: Buffer): Buffer {
  const bytes = Buffer.from(source);
  switch (randomInt(random, 5)) {
    case 0: // flip a few bytes
      for (let k = 1 + randomInt(random, 3); k > 0; k--)
        bytes[randomInt(random, bytes.length)] = randomInt(random, 256);
      return bytes;
    case 1: // cut
      return bytes.subarray(0, randomInt(random, bytes.length));
    case 2: // extend
      return Buffer.concat([
        bytes,
        Buffer.from(Array.from({ length: 1 + randomInt(random, 8) }, () => randomInt(random, 256))),
      ]);
    case 3: // set a bitmap bit
      bytes[2 + randomInt(random, Math.min(16, bytes.length - 2))] ^= 1 << randomInt(random, 8);
      return bytes;
    default: // splice a slice of another message in
      return Buffer.concat([
        bytes.subarray(0, randomInt(random, bytes.length)),
        source.subarray(randomInt(random, source.length)),
      ]);
  }
}
