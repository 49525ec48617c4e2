/**
 * `npm run bench -- crypto`: RSA recovery (the EMV offline data authentication hot
 * path) per EMV CA key size on node:crypto beside node-forge in the same run; plus
 * DUKPT derivation, PIN block and ODA chain rates, which have no peer in this run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { packageRoot } from '../../config/paths.js';
import { median, opsPerSecond, type BenchOptions, type BenchResult } from './harness.js';
import { rsaPublicKey, rsaRecover } from '../../emv/crypto/rsa.js';
import { authenticateDda } from '../../emv/crypto/oda.js';
import { deriveTdesKeys, parseTdesKsn } from '../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, parseAesKsn } from '../../emv/crypto/dukpt-aes.js';
import { decodePinBlock, encodePinBlock } from '../../emv/crypto/pin-block.js';

interface Capk {
  rid: string;
  index: string;
  exponent: string;
  modulus: string;
}

/** Test CA keys of the four EMV CA sizes (Visa test keys 01, 07, 08, 09). */
const CA_KEYS: Array<[string, string]> = [
  ['A000000003', '01'], // 1024 bits
  ['A000000003', '07'], // 1152 bits
  ['A000000003', '08'], // 1408 bits
  ['A000000003', '09'], // 1984 bits
];

function loadJson<T>(...path: string[]): T {
  return JSON.parse(readFileSync(join(packageRoot, ...path), 'utf8')) as T;
}

/** An input just below the modulus, with the same shape as a certificate. */
function inputBelow(modulus: Buffer): Buffer {
  const input = Buffer.alloc(modulus.length, 0x5a);
  input[0] = modulus[0]! - 1;
  return input;
}

/** node-forge's raw RSA operation (`ml = false`: no padding removal); its typings omit it. */
// eslint-disable-next-line @typescript-eslint/unbound-method -- forge's rsa.decrypt does not use `this`
const forgeRaw = (
  forge.pki.rsa as unknown as { decrypt(ed: string, key: forge.pki.rsa.PublicKey, pub: boolean, ml: boolean): string }
).decrypt;

function rsaBenches(options: BenchOptions): BenchResult[] {
  const capks = loadJson<Capk[]>('test', 'vectors', 'capk-test.json');
  const results: BenchResult[] = [];
  for (const [rid, index] of CA_KEYS) {
    const capk = capks.find((k) => k.rid === rid && k.index === index);
    if (!capk) throw new Error(`test/vectors/capk-test.json has no CA key ${rid}/${index}`);
    const key = rsaPublicKey(capk.modulus, capk.exponent);
    const input = inputBelow(key.modulus);
    const bits = key.modulus.length * 8;

    const forgeKey = forge.pki.setRsaPublicKey(
      new forge.jsbn.BigInteger(capk.modulus, 16),
      new forge.jsbn.BigInteger(capk.exponent, 16),
    );
    const forgeInput = input.toString('binary');
    // Same answer from both before timing either.
    const ours = rsaRecover(key, input);
    const theirs = Buffer.from(forgeRaw(forgeInput, forgeKey, true, false), 'binary');
    if (!ours.equals(theirs)) throw new Error(`RSA ${bits}: node:crypto and node-forge disagree`);

    // Rounds alternate between ours and the peer so a busy machine slows both alike.
    const ourRates: number[] = [];
    const peerRates: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      ourRates.push(opsPerSecond(() => rsaRecover(key, input), { rounds: 1, roundMs: options.roundMs }));
      peerRates.push(
        opsPerSecond(() => forgeRaw(forgeInput, forgeKey, true, false), { rounds: 1, roundMs: options.roundMs }),
      );
    }
    const value = median(ourRates);
    const peerValue = median(peerRates);
    results.push({
      bench: `crypto.rsa_recover.${bits}`,
      unit: 'ops_per_s',
      value,
      peer: 'node-forge',
      peerValue,
      note: `EMV CA ${rid}/${index}, e=${capk.exponent}`,
    });
  }
  return results;
}

function odaBench(options: BenchOptions): BenchResult {
  const vectors = loadJson<{ offline_data_authentication: Array<{ inputs: Record<string, string> }> }>(
    'test',
    'vectors',
    'emv-crypto.json',
  );
  const i = vectors.offline_data_authentication[1]!.inputs;
  const b = (hex: string) => Buffer.from(hex, 'hex');
  const input = {
    capk: {
      rid: i.capk_rid!,
      index: i.capk_index!,
      modulus: i.capk_modulus!,
      exponent: i.capk_exponent!,
      sha1: i.capk_sha1!,
    },
    issuerCertificate: b(i.issuer_cert_90!),
    issuerRemainder: b(i.issuer_remainder_92!),
    issuerExponent: b(i.issuer_exponent_9F32!),
    iccCertificate: b(i.icc_cert_9F46!),
    iccExponent: b(i.icc_exponent_9F47!),
    staticData: b(i.static_data_to_authenticate!),
    sdad: b(i.sdad_9F4B!),
    ddolData: b(i.ddol_data!),
    pan: i.pan_5A!,
    transactionDate: '150101',
  };
  if (!authenticateDda(input).ok) throw new Error('DDA vector does not verify');
  const value = opsPerSecond(() => authenticateDda(input), options, 1);
  return {
    bench: 'crypto.oda.dda_chain',
    unit: 'ops_per_s',
    value,
    note: 'no peer: CAPK check + 3 RSA recoveries + SHA-1s, 1408-bit CA',
  };
}

function dukptAndPinBenches(options: BenchOptions): BenchResult[] {
  const bdk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
  // A counter with 10 one-bits: the worst case, 10 non-reversible key steps.
  const worstKsn = parseTdesKsn('FFFF9876543210EFF800');
  const aesBdk = Buffer.from('FEDCBA9876543210F1F1F1F1F1F1F1F1', 'hex');
  const aesKsn = parseAesKsn('1234567890123456FFFF0000'); // 16 one-bits: worst case
  const tdesKey = deriveTdesKeys(bdk, worstKsn).pinKey;
  const aesKey = deriveAesKeys(aesBdk, parseAesKsn('123456789012345600000001')).pinKey;
  const pan = '4761739001010119';
  const fixed = () => Buffer.alloc(8, 0x3c);
  const f0 = encodePinBlock({ format: 0, pin: '1234', pan, key: tdesKey });
  const f4 = encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey, random: fixed });
  return [
    {
      bench: 'crypto.dukpt_tdes.derive_worst',
      unit: 'ops_per_s',
      value: opsPerSecond(() => deriveTdesKeys(bdk, worstKsn), options),
      note: 'no peer: BDK -> all keys, 10-bit counter',
    },
    {
      bench: 'crypto.dukpt_aes128.derive_worst',
      unit: 'ops_per_s',
      value: opsPerSecond(() => deriveAesKeys(aesBdk, aesKsn), options),
      note: 'no peer: BDK -> all keys, 16-bit counter',
    },
    {
      bench: 'crypto.pin_block.iso0_encrypt',
      unit: 'ops_per_s',
      value: opsPerSecond(() => encodePinBlock({ format: 0, pin: '1234', pan, key: tdesKey }), options),
      note: 'no peer',
    },
    {
      bench: 'crypto.pin_block.iso0_decrypt',
      unit: 'ops_per_s',
      value: opsPerSecond(() => decodePinBlock({ format: 0, block: f0, pan, key: tdesKey }), options),
      note: 'no peer',
    },
    {
      bench: 'crypto.pin_block.iso4_encrypt',
      unit: 'ops_per_s',
      value: opsPerSecond(() => encodePinBlock({ format: 4, pin: '1234', pan, key: aesKey, random: fixed }), options),
      note: 'no peer',
    },
    {
      bench: 'crypto.pin_block.iso4_decrypt',
      unit: 'ops_per_s',
      value: opsPerSecond(() => decodePinBlock({ format: 4, block: f4, pan, key: aesKey }), options),
      note: 'no peer',
    },
  ];
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  return [...rsaBenches(options), odaBench(options), ...dukptAndPinBenches(options)];
}
