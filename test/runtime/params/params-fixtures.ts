/** Parameter sets and keys for the params tests: a valid set built from published vectors, and signers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { packageRoot } from '../../../config/paths.js';
import { defaultSimTariff } from '../../../runtime/uplink/simulator.js';
import type { CaKeyParams, ParameterSet } from '../../../runtime/params/types.js';

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
