/**
 * `npm run bench -- tlv`: decodes a 250-byte READ RECORD template (70 81 F7 ...) with
 * codpos' emv/tlv beside the npm parsers node-emv and ber-tlv, in the same run.
 * Each parser gets its native input: a Buffer for ours and ber-tlv, the hex string for
 * node-emv (it parses strings). node-emv prints debug lines with console.log for every
 * long length (81 xx); those are silenced while it runs, so its figure is parsing only.
 * Target: ours >= 10x the faster peer.
 */
import { createRequire } from 'node:module';
import { decodeTlv, encodeTlv, type Tlv } from '../../emv/tlv/index.js';
import { opsPerSecond, type BenchOptions, type BenchResult } from './harness.js';

// The peers ship no usable types: the minimal shapes used here.
interface NodeEmv {
  parse(hex: string, callback: (objects: Array<{ tag: string; value: unknown }>) => void): void;
}
interface BerTlv {
  TlvFactory: { parse(data: Buffer): Array<{ tag: string; items: unknown[] | null }> };
}
const require = createRequire(import.meta.url);
const nodeEmv = require('node-emv') as NodeEmv;
const berTlv = require('ber-tlv') as BerTlv;

const hex = (s: string) => Buffer.from(s, 'hex');

/** A realistic record: track 2 equivalent, name, dates, AUC, CVM list, IACs, DOLs, limits. */
export function recordTemplate250(): Buffer {
  const children: Tlv[] = [
    { tag: 0x57, value: hex('4761739001010119D30122011143800000') },
    { tag: 0x5f20, value: Buffer.from('CARDHOLDER/VISA') },
    { tag: 0x9f1f, value: Buffer.from('1143800000') },
    { tag: 0x5a, value: hex('4761739001010119') },
    { tag: 0x5f24, value: hex('301231') },
    { tag: 0x5f25, value: hex('200101') },
    { tag: 0x5f28, value: hex('0840') },
    { tag: 0x5f34, value: hex('01') },
    { tag: 0x9f07, value: hex('FF00') },
    { tag: 0x9f08, value: hex('0096') },
    { tag: 0x8e, value: hex('000000000000000042031E031F03') },
    { tag: 0x9f0d, value: hex('DC4000A800') },
    { tag: 0x9f0e, value: hex('0010000000') },
    { tag: 0x9f0f, value: hex('DC4004F800') },
    { tag: 0x8c, value: hex('9F02069F03069F1A0295055F2A029A039C019F3704') },
    { tag: 0x8d, value: hex('8A029F02069F03069F1A0295055F2A029A039C019F3704') },
    { tag: 0x9f4a, value: hex('82') },
    { tag: 0x9f14, value: hex('03') },
    { tag: 0x9f23, value: hex('06') },
    { tag: 0x9f42, value: hex('0840') },
    { tag: 0x9f44, value: hex('02') },
    { tag: 0x9f49, value: hex('9F3704') },
  ];
  // Application discretionary data (9F05) fills the record to exactly 250 bytes.
  const withFiller = (n: number) =>
    encodeTlv([
      { tag: 0x70, value: Buffer.alloc(0), children: [...children, { tag: 0x9f05, value: Buffer.alloc(n, 0x5a) }] },
    ]);
  let filler = 0;
  while (withFiller(filler).length < 250) filler++;
  const record = withFiller(filler);
  if (record.length !== 250) throw new Error(`record template is ${record.length} bytes, not 250`);
  return record;
}

function parseWithNodeEmv(hexText: string): number {
  let count = 0;
  nodeEmv.parse(hexText, (objects) => {
    const inner = objects[0]?.value;
    count = Array.isArray(inner) ? inner.length : 0;
  });
  return count;
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const record = recordTemplate250();
  const recordHex = record.toString('hex').toUpperCase();
  const ours = () => decodeTlv(record)[0]!.children!.length;
  const theirsBerTlv = () => (berTlv.TlvFactory.parse(record)[0]!.items ?? []).length;

  const log = console.log;
  const quiet = <T>(fn: () => T): T => {
    console.log = () => {};
    try {
      return fn();
    } finally {
      console.log = log;
    }
  };
  // The three parsers must agree before any of them is timed.
  const counts = [ours(), theirsBerTlv(), quiet(() => parseWithNodeEmv(recordHex))];
  if (new Set(counts).size !== 1) throw new Error(`parsers disagree on the record: ${counts.join(', ')} objects`);

  const batch = 100;
  const oursRate = opsPerSecond(
    () => {
      for (let i = 0; i < batch; i++) ours();
    },
    options,
    batch,
  );
  const berRate = opsPerSecond(
    () => {
      for (let i = 0; i < batch; i++) theirsBerTlv();
    },
    options,
    batch,
  );
  const emvRate = quiet(() =>
    opsPerSecond(
      () => {
        for (let i = 0; i < batch; i++) parseWithNodeEmv(recordHex);
      },
      options,
      batch,
    ),
  );
  const faster = Math.max(berRate, emvRate);
  const note = `target >= 10x the faster peer: ${(oursRate / faster).toFixed(1)}x`;
  return [
    {
      bench: 'tlv.decode.record250',
      unit: 'ops_per_s',
      value: oursRate,
      peer: 'ber-tlv@0.9.2',
      peerValue: berRate,
      note,
    },
    {
      bench: 'tlv.decode.record250',
      unit: 'ops_per_s',
      value: oursRate,
      peer: 'node-emv@1.0.23',
      peerValue: emvRate,
      note,
    },
  ];
}
