/**
 * `npm run bench -- iso8583`: pack and unpack a 0200 purchase (fields 2, 3,
 * 4, 7, 11, 12, 13, 14, 22, 23, 25, 35, 37, 41, 42, 49, 52 and a 100-byte DE55) with
 * our codec in `pos87b` (binary DE55) and `iso87a` (DE55 as 200 hex characters, as
 * ISO87APackager carries it), beside the npm package iso_8583@2.6.7 in the same run.
 * Targets: pack >= 30x iso_8583's pack rate, unpack >= 10x its unpack rate.
 */
import Iso8583 from 'iso_8583';
import {
  decodeIso8583,
  encodeIso8583,
  iso87a,
  pos87b,
  type Dialect,
  type IsoMessage,
} from '../../emv/iso8583/index.js';
import { median, opsPerSecond, type BenchOptions, type BenchResult } from './harness.js';

const DE55 = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff));

const fields = {
  2: '4761739001010119',
  3: '000000',
  4: '000000005000',
  7: '1129051500',
  11: '000123',
  12: '051500',
  13: '1129',
  14: '2212',
  22: '051',
  23: '001',
  25: '00',
  35: '4761739001010119=22122011143804400000',
  37: '123456789012',
  41: 'TERM0001',
  42: 'MERCHANT0000001',
  49: '840',
};
const PIN_BLOCK = Buffer.from('0123456789ABCDEF', 'hex');

const pos87bMessage: IsoMessage = { mti: '0200', fields: { ...fields, 52: PIN_BLOCK, 55: DE55 } };
const iso87aMessage: IsoMessage = {
  mti: '0200',
  fields: { ...fields, 52: PIN_BLOCK, 55: DE55.toString('hex').toUpperCase() },
};
const peerMessage: Record<string, string> = {
  0: '0200',
  ...fields,
  35: fields[35].replace('=', 'D'),
  52: PIN_BLOCK.toString('hex').toUpperCase(),
  55: DE55.toString('hex').toUpperCase(),
};

/** Calls per timed batch, so the clock is read rarely. */
const BATCH = 200;

/**
 * The dialects measured, each in a process of its own (BenchModule.parts): a box runs one, and
 * measured after another in the same process, the second's figures carried the first's JIT
 * state (the encoder's call sites already seeing the other dialect's interpreters): iso87a's
 * pack ratio moved between 25x and 41x with that alone.
 */
const MEASURED: ReadonlyArray<[Dialect, IsoMessage]> = [
  [pos87b, pos87bMessage],
  [iso87a, iso87aMessage],
];
export const parts: readonly string[] = MEASURED.map(([dialect]) => dialect.name);

export async function run(options: BenchOptions, part?: string): Promise<BenchResult[]> {
  // The peer's figures first, checked to be real work (it returns error objects instead of throwing).
  const peerWire = new Iso8583(peerMessage).getBufferMessage();
  if (!Buffer.isBuffer(peerWire))
    throw new Error(`iso_8583 could not pack the bench message: ${JSON.stringify(peerWire)}`);
  // getIsoJSON() reads the 2-byte length getBufferMessage() puts in front, so it gets the whole frame.
  const peerBack = new Iso8583().getIsoJSON(peerWire, {}) as Record<string, string>;
  if (peerBack[11] !== '000123' || peerBack[55]?.toUpperCase() !== peerMessage[55])
    throw new Error('iso_8583 did not unpack the bench message');
  const peerPack = () => {
    for (let i = 0; i < BATCH; i++) new Iso8583(peerMessage).getBufferMessage();
  };
  const peerUnpack = () => {
    for (let i = 0; i < BATCH; i++) new Iso8583().getIsoJSON(peerWire, {});
  };

  const results: BenchResult[] = [];
  for (const [dialect, message] of MEASURED.filter(([dialect]) => part === undefined || dialect.name === part)) {
    const wire = encodeIso8583(message, dialect);
    checkRoundTrip(decodeIso8583(wire, dialect), message, dialect.name);
    let sink = 0;
    const pack = sideBySide(
      () => {
        for (let i = 0; i < BATCH; i++) sink += encodeIso8583(message, dialect).length;
      },
      peerPack,
      options,
    );
    const unpack = sideBySide(
      () => {
        for (let i = 0; i < BATCH; i++) sink += decodeIso8583(wire, dialect).mti.length;
      },
      peerUnpack,
      options,
    );
    if (sink === 0) throw new Error('unreachable: keeps the work observable');
    results.push(
      {
        bench: `iso8583.pack.${dialect.name}`,
        unit: 'ops_per_s',
        value: pack.ours,
        peer: 'iso_8583@2.6.7',
        peerValue: pack.peer,
        pairedRatio: pack.ratio,
        note: `target >= 30x; ${wire.length}-byte message`,
      },
      {
        bench: `iso8583.unpack.${dialect.name}`,
        unit: 'ops_per_s',
        value: unpack.ours,
        peer: 'iso_8583@2.6.7',
        peerValue: unpack.peer,
        pairedRatio: unpack.ratio,
        note: 'target >= 10x',
      },
    );
  }
  return results;
}

/**
 * Our rate and the peer's, measured in paired rounds (the peer's, then ours at once) so that
 * a change in machine load (CI boxes are shared: measured here, both sides' rates halve and
 * recover over seconds) hits both sides of a pair alike. Each rate is the median of its
 * rounds, and the ratio the median of the pairs' ratios: the two medians could come from
 * rounds in different phases of the machine's speed.
 */
function sideBySide(
  ours: () => void,
  peer: () => void,
  options: BenchOptions,
): { ours: number; peer: number; ratio: number } {
  const oursRates: number[] = [];
  const peerRates: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const peerRate = opsPerSecond(peer, { rounds: 1, roundMs: options.roundMs }, BATCH);
    const oursRate = opsPerSecond(ours, { rounds: 1, roundMs: options.roundMs }, BATCH);
    peerRates.push(peerRate);
    oursRates.push(oursRate);
    ratios.push(oursRate / peerRate);
  }
  return { ours: median(oursRates), peer: median(peerRates), ratio: median(ratios) };
}

function checkRoundTrip(decoded: IsoMessage, original: IsoMessage, name: string): void {
  for (const [key, value] of Object.entries(original.fields)) {
    const got = decoded.fields[Number(key)];
    const same = Buffer.isBuffer(value) ? Buffer.isBuffer(got) && got.equals(value) : got === value;
    if (!same) throw new Error(`${name}: field ${key} did not survive encode -> decode`);
  }
}
