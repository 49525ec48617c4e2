/** Loads the copied vector files; each vector keeps the `source` it was published in. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../config/paths.js';

export interface Vector {
  name: string;
  source: string;
  inputs: Record<string, any>;
  expected: Record<string, any>;
  note?: string;
}

export interface CapkEntry {
  rid: string;
  index: string;
  expiry: string;
  exponent: string;
  modulus: string;
  sha1: string;
  checksum_ok: boolean;
  source: string;
}

const file = JSON.parse(readFileSync(join(packageRoot, 'test', 'vectors', 'emv-crypto.json'), 'utf8')) as Record<
  string,
  Vector[]
>;

export function vectors(
  section:
    | 'tdes_dukpt'
    | 'aes_dukpt'
    | 'pin_block_iso9564'
    | 'emv_arqc_arpc'
    | 'emv_scheme_cvn'
    | 'offline_data_authentication',
): Vector[] {
  const list = file[section];
  if (!Array.isArray(list) || list.length === 0)
    throw new Error(`test/vectors/emv-crypto.json has no ${section} vectors`);
  return list;
}

export function capks(): CapkEntry[] {
  return JSON.parse(readFileSync(join(packageRoot, 'test', 'vectors', 'capk-test.json'), 'utf8')) as CapkEntry[];
}

/** A test name that says where the vector comes from. */
export function named(vector: Vector): string {
  return `${vector.name} [source: ${vector.source}]`;
}

export const hex = (b: Buffer): string => b.toString('hex').toUpperCase();
export const bytes = (h: string): Buffer => Buffer.from(h, 'hex');
