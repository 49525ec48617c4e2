/** Parameter sets and keys for the params tests: a valid set built from published vectors, and signers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { packageRoot } from '../../../config/paths.js';
import { validateConfig } from '../../../config/load.js';
import { defaultSimTariff } from '../../../runtime/uplink/simulator.js';
import { signParameterSet } from '../../../runtime/params/signature.js';
import { labOperatorSigner } from '../../../runtime/params/lab-operator-key.js';
import { caKeyChecksum } from '../../../runtime/params/ca-key.js';
import { testCaPublicKeys } from '../../../emv/card/test-ca.js';
import type { CaKeyParams, ParameterSet, ParamsEnvelope } from '../../../runtime/params/types.js';
import { call } from '../daemon-fixtures.js';

interface CapkVector {
  rid: string;
  index: string;
  expiry: string;
  exponent: string;
  modulus: string;
  sha1: string;
}

export const capkVectors = JSON.parse(
  readFileSync(join(packageRoot, 'test', 'vectors', 'capk-test.json'), 'utf8'),
) as CapkVector[];

/** The vector key RID/index as a package carries it. */
export function vectorCaKey(rid: string, index: string): CaKeyParams {
  const v = capkVectors.find((k) => k.rid === rid && k.index === index);
  if (v === undefined) throw new Error(`no CA key vector ${rid}/${index}`);
  return { rid: v.rid, index: v.index, modulus: v.modulus, exponent: v.exponent, expiry: v.expiry, checksum: v.sha1 };
}

/** Before every dated vector key's expiry (the earliest dated one used, A000000003/07, ends 2017-12-31). */
export const BEFORE_EXPIRY = new Date('2017-06-01T00:00:00Z');

export function validSet(overrides: Partial<ParameterSet> = {}): ParameterSet {
  return {
    format: 'codpos-params/1',
    version: 7,
    issuedAt: '2017-05-30T10:00:00Z',
    description: 'spring limits',
    emv: {
      terminalType: '22',
      applications: [
        {
          aid: 'A0000000031010',
          partialSelection: true,
          applicationVersion: '0096',
          tacDenial: '0010000000',
          tacOnline: 'DC4004F800',
          tacDefault: 'DC4000A800',
          floorLimit: 0,
        },
        {
          aid: 'A0000000041010',
          partialSelection: false,
          applicationVersion: '0002',
          tacDenial: '0400000000',
          tacOnline: 'FC50BCF800',
          tacDefault: 'FC50BCA000',
          floorLimit: 1500,
        },
      ],
    },
    caKeys: [vectorCaKey('A000000003', '07'), vectorCaKey('A000000003', '08'), vectorCaKey('A000000003', '09')],
    revocations: [{ rid: 'A000000003', index: '07', serial: '0A1B2C' }],
    contactless: {
      combinations: [
        {
          aid: 'A0000000031010',
          kernelId: 3,
          transactionLimit: 50000,
          floorLimit: 0,
          cvmRequiredLimit: 5000,
          // The schema's defaults written out: a read set equals this one.
          statusCheck: false,
          zeroAmountAllowed: true,
          ttq: '36004000',
          magStripeMode: false,
        },
      ],
    },
    tariff: defaultSimTariff(),
    receiptHeader: ['CODPOS COURIER', '12 HARBOUR ROAD'],
    ...overrides,
  };
}

export function es256Pair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function ed25519Pair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/* The daemon's packages (codposd --sim: its configured applications, the shipped test CA keys, signed with the lab operator key) and card payments read back from their TVR: the local API's tests (params-apply) and the fleet's over the broker (daemon-params). */

export const VISA = 'A0000000031010';

/** The configured applications and the shipped test CA keys, with the changes a test makes. */
export function parameterSet(
  version: number,
  changes: { visaFloorLimit?: number } & Partial<ParameterSet> = {},
): ParameterSet {
  const { visaFloorLimit = 0, ...rest } = changes;
  return {
    format: 'codpos-params/1',
    version,
    issuedAt: new Date().toISOString(),
    emv: {
      // The configured applications (config/schema.ts defaults), the Visa AID's floor limit changed.
      applications: validateConfig({}).emv.applications.map((app) =>
        app.aid === VISA ? { ...app, floorLimit: visaFloorLimit } : app,
      ),
    },
    caKeys: testCaPublicKeys().map((key) => ({ ...key, checksum: caKeyChecksum(key) })),
    revocations: [],
    ...rest,
  };
}

export function signed(set: ParameterSet): ParamsEnvelope {
  return signParameterSet(set, labOperatorSigner());
}

/**
 * Three packages refused while version `running` runs, each with the code and version its report
 * names: a bad signature, an older version, a CA key with a bad checksum. Each would raise the
 * Visa floor limit above the test amounts, were it applied.
 */
export function refusedPackages(running: number) {
  const forged = signed(parameterSet(running + 1, { visaFloorLimit: 10_000 }));
  const value = Buffer.from(forged.signature.value, 'base64');
  value[0]! ^= 0x01;
  forged.signature.value = value.toString('base64');
  const older = signed(parameterSet(running - 1, { visaFloorLimit: 10_000 }));
  const badKey = parameterSet(running + 1, { visaFloorLimit: 10_000 });
  badKey.caKeys[0] = { ...badKey.caKeys[0]!, checksum: '0'.repeat(40) };
  return [
    [forged, 'CODPOS_PARAMS_SIGNATURE', running + 1],
    [older, 'CODPOS_PARAMS_VERSION', running - 1],
    [signed(badKey), 'CODPOS_PARAMS_CA_KEY', running + 1],
  ] as const;
}

/** One card payment with the card inserted first; the card is taken out after. Answers the TVR's bytes. */
export async function pay(socketPath: string, card: string, amount = 2500): Promise<Buffer> {
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card });
  const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount });
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
  const tvr = (paid.json.receipt as { tvr?: string } | undefined)?.tvr;
  if (tvr === undefined) throw new Error(`the payment has no TVR: ${JSON.stringify(paid.json)}`);
  return Buffer.from(tvr, 'hex');
}

/** TVR byte 4 bit 8: transaction exceeds floor limit. */
export const exceedsFloorLimit = (tvr: Buffer) => (tvr[3]! & 0x80) !== 0;
/** TVR byte 1 bits 7, 4, 3: SDA, DDA or CDA failed. */
export const odaFailed = (tvr: Buffer) => tvr[0]! & 0x4c;
