/** Shared set-up for spool tests: a fresh database in a temp dir, a manual clock, a scripted random. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Spool, type SpoolOptions } from '../../spool/spool.js';
import { ManualClock } from '../../spool/clock.js';
import { Vault } from '../../spool/vault.js';

export function tempDir(prefix = 'codpos-spool-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestSpool {
  spool: Spool;
  clock: ManualClock;
  dir: string;
  file: string;
  /** The values the jitter random will return next (0.5 when empty). */
  randoms: number[];
  vault: Vault;
}

export function openTestSpool(options: Partial<SpoolOptions> = {}): TestSpool {
  const dir = tempDir();
  const file = join(dir, 'spool.db');
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 8, 0, 0));
  const randoms: number[] = [];
  const vault = Vault.fromKey(randomBytes(32));
  const spool = Spool.open({ file, vault, clock, randomFraction: () => randoms.shift() ?? 0.5, ...options });
  return { spool, clock, dir, file, randoms, vault };
}

/** A Visa test PAN from the public test card ranges (Luhn-valid). */
export const TEST_PAN = '4761739001010010';
export const TEST_TRACK2 = '4761739001010010=22122011143804400000';
export const TEST_PIN_BLOCK = '8F3A52C1D07B4E69';
