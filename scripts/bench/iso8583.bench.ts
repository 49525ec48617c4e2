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

export async function run(options: BenchOptions): Promise<BenchResult[]> {
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
  for (const [dialect, message] of [
    [pos87b, pos87bMessage],
    [iso87a, iso87aMessage],
  ] as [Dialect, IsoMessage][]) {
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
        note: `target >= 30x; ${wire.length}-byte message`,
      },
      {
        bench: `iso8583.unpack.${dialect.name}`,
        unit: 'ops_per_s',
        value: unpack.ours,
        peer: 'iso_8583@2.6.7',
        peerValue: unpack.peer,
        note: 'target >= 10x',
      },
    );
  }
  return results;
}

/**
 * Our rate and the peer's, measured in alternating rounds so that a change in machine
 * load (CI boxes are shared) hits both sides alike; each figure is a median.
 */
function sideBySide(ours: () => void, peer: () => void, options: BenchOptions): { ours: number; peer: number } {
  const oursRates: number[] = [];
  const peerRates: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    peerRates.push(opsPerSecond(peer, { rounds: 1, roundMs: options.roundMs }, BATCH));
    oursRates.push(opsPerSecond(ours, { rounds: 1, roundMs: options.roundMs }, BATCH));
  }
  return { ours: median(oursRates), peer: median(peerRates) };
}

function checkRoundTrip(decoded: IsoMessage, original: IsoMessage, name: string): void {
  for (const [key, value] of Object.entries(original.fields)) {
    const got = decoded.fields[Number(key)];
    const same = Buffer.isBuffer(value) ? Buffer.isBuffer(got) && got.equals(value) : got === value;
    if (!same) throw new Error(`${name}: field ${key} did not survive encode -> decode`);
  }
}
