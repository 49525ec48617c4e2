/** The codpos test CA public keys the shipped virtual cards are certified under (for a lab terminal's CAPK table). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import type { CaPublicKey } from '../kernel/types.js';

export function testCaPublicKeys(): CaPublicKey[] {
  return (JSON.parse(readFileSync(join(packageRoot, 'emv', 'card', 'test-ca.json'), 'utf8')) as { keys: CaPublicKey[] })
    .keys;
}
