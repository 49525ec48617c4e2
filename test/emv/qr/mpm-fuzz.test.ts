/**
 * Fuzz of the MPM parser from the published vectors (seeded, so a failure reproduces):
 * 1. 10,000 mutated payloads (a character changed, deleted or inserted, the payload truncated,
 *    a length field changed), CRC left as it was: every one is refused with a QR PosError.
 * 2. 10,000 structural mutations with the CRC recomputed afterwards, so the parser's other
 *    checks are what stands: each is refused with a QR PosError or parses to a payload that
 *    serializes back to exactly itself. Nothing else (no TypeError, no RangeError) escapes.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { PosError } from '../../../config/errors.js';
import { prng } from '../../helpers/prng.js';
import { crc16Hex, parseMpm, serializeMpm } from '../../../emv/qr/index.js';

const vectors = JSON.parse(readFileSync(new URL('../../vectors/emv-qr.json', import.meta.url), 'utf8')) as {
  mpm: { payload: string }[];
};
const payloads = vectors.mpm.map((v) => v.payload);
const SEED = 0x51c0de;
const COUNT = 10_000;
const ALPHABET = Array.from('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .*-/é最');

type Mutation = 'flip' | 'delete' | 'insert' | 'truncate' | 'length';
const MUTATIONS: Mutation[] = ['flip', 'delete', 'insert', 'truncate', 'length'];

/** Offsets (in characters) of the length fields of the top-level objects and of the templates' inner ones. */
function lengthFieldOffsets(chars: string[]): number[] {
  const offsets: number[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let pos = start;
    while (pos + 4 <= end) {
      const length = Number(chars.slice(pos + 2, pos + 4).join(''));
      if (!Number.isInteger(length)) return;
      offsets.push(pos + 2);
      const id = Number(chars.slice(pos, pos + 2).join(''));
      const template = (id >= 26 && id <= 51) || id === 62 || id === 64 || id >= 80;
      if (depth === 0 && template) walk(pos + 4, pos + 4 + length, 1);
      pos += 4 + length;
    }
  };
  walk(0, chars.length, 0);
  return offsets;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** One mutation of `chars` that changes it; returns the new characters. */
function mutate(random: () => number, chars: string[], kind: Mutation): string[] {
  const out = [...chars];
  const at = Math.floor(random() * chars.length);
  switch (kind) {
    case 'flip': {
      let replacement = pick(random, ALPHABET);
      while (replacement === chars[at]) replacement = pick(random, ALPHABET);
      out[at] = replacement;
      return out;
    }
    case 'delete':
      out.splice(at, 1);
      return out;
    case 'insert':
      out.splice(Math.floor(random() * (chars.length + 1)), 0, pick(random, ALPHABET));
      return out;
    case 'truncate':
      return out.slice(0, at);
    case 'length': {
      const field = pick(random, lengthFieldOffsets(chars));
      const old = Number(chars.slice(field, field + 2).join(''));
      let length = Math.floor(random() * 100);
      while (length === old) length = Math.floor(random() * 100);
      out.splice(field, 2, ...String(length).padStart(2, '0'));
      return out;
    }
  }
}

function outcome(payload: string): 'refused' | 'accepted' {
  try {
    const parsed = parseMpm(payload);
    if (serializeMpm(parsed) !== payload) throw new Error('a parsed payload does not serialize back to itself');
    return 'accepted';
  } catch (error) {
    if (error instanceof PosError && error.area === 'QR') return 'refused';
    throw error;
  }
}

t.test('mutated payloads (CRC as it was) are all refused with a QR PosError', async (t) => {
  const random = prng(SEED);
  const byKind = new Map<Mutation, number>(MUTATIONS.map((k) => [k, 0]));
  const codes = new Map<string, number>();
  let accepted = 0;
  for (let i = 0; i < COUNT; i++) {
    const chars = Array.from(pick(random, payloads));
    const kind = MUTATIONS[i % MUTATIONS.length]!;
    const mutated = mutate(random, chars, kind).join('');
    byKind.set(kind, byKind.get(kind)! + 1);
    try {
      parseMpm(mutated);
      accepted++;
      t.fail(`mutation ${i} (${kind}) was accepted`);
    } catch (error) {
      if (!(error instanceof PosError) || error.area !== 'QR') throw error;
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
  }
  t.equal(accepted, 0);
  t.equal(
    [...byKind.values()].reduce((a, b) => a + b),
    COUNT,
  );
  t.comment(`seed ${SEED}: ${COUNT} mutations ${JSON.stringify(Object.fromEntries(byKind))} all refused`);
  t.comment(`refused by ${JSON.stringify(Object.fromEntries([...codes].sort()))}`);
  t.ok(codes.has('CODPOS_QR_CRC') && codes.has('CODPOS_QR_LENGTH'), 'both the CRC and the structure refuse some');
});

t.test('structural mutations with the CRC recomputed: refused with a QR PosError or round-trip exactly', async (t) => {
  const random = prng(SEED + 1);
  const counts = { refused: 0, accepted: 0 };
  const codes = new Map<string, number>();
  for (let i = 0; i < COUNT; i++) {
    // Mutate the payload without its CRC object, then append a CRC that matches.
    const body = Array.from(pick(random, payloads)).slice(0, -8);
    const kind = MUTATIONS[i % MUTATIONS.length]!;
    const mutated = mutate(random, body, kind).join('');
    const withCrc = `${mutated}6304${crc16Hex(`${mutated}6304`)}`;
    const result = outcome(withCrc);
    counts[result]++;
    if (result === 'refused') {
      try {
        parseMpm(withCrc);
      } catch (error) {
        const code = (error as PosError).code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
  }
  t.equal(counts.refused + counts.accepted, COUNT);
  t.ok(counts.refused > 0 && counts.accepted > 0, 'the set holds both outcomes');
  t.comment(
    `seed ${SEED + 1}: ${COUNT} with CRC recomputed: ${counts.refused} refused, ${counts.accepted} parsed and round-tripped`,
  );
  t.comment(`refused by ${JSON.stringify(Object.fromEntries([...codes].sort()))}`);
});
