/**
 * The codpos test CA public keys the shipped virtual cards are certified under (for a lab
 * terminal's CAPK table): test-ca.json for the contact cards, and one test-ca-*.json per maker of
 * further cards (each maker has its own CA index, since the CA private keys are not kept).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import type { CaPublicKey } from '../kernel/types.js';

export function testCaPublicKeys(): CaPublicKey[] {
  const dir = join(packageRoot, 'emv', 'card');
  return readdirSync(dir)
    .filter((file) => /^test-ca(-[a-z0-9-]+)?\.json$/.test(file))
    .sort()
    .flatMap((file) => (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { keys: CaPublicKey[] }).keys);
}
