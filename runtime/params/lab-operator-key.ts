/**
 * The lab operator key: an Ed25519 key pair derived from a published phrase, so the simulator,
 * the tests and a technician's bench can sign parameter packages without any secret in the
 * repository. ANYONE CAN SIGN WITH IT: a box trusts it only with params.trustLabKey (config/sim.json
 * sets it; a production config must not).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { OperatorKey } from './types.js';

export const LAB_OPERATOR_KEY_ID = 'lab-operator';

/** Public on purpose: the seed is sha256 of this phrase. */
export const LAB_OPERATOR_SEED_PHRASE = 'codpos lab operator key: public, anyone can sign with it';

/** PKCS#8 (RFC 8410) wrapping of a 32-byte Ed25519 seed: everything before the seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function labOperatorPrivateKey(): KeyObject {
  const seed = createHash('sha256').update(LAB_OPERATOR_SEED_PHRASE, 'utf8').digest();
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** What `codpos params sign --key lab` signs with. */
export function labOperatorSigner(): { keyId: string; privateKey: KeyObject } {
  return { keyId: LAB_OPERATOR_KEY_ID, privateKey: labOperatorPrivateKey() };
}

/** What a box with params.trustLabKey trusts. */
export function labOperatorKey(): OperatorKey {
  return { keyId: LAB_OPERATOR_KEY_ID, key: createPublicKey(labOperatorPrivateKey()) };
}
