/** The ICC private key of a profile (JWK) as the key pair emv/crypto/oda-sign.ts signs with. */
import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import type { RsaKeyPair } from '../crypto/oda-sign.js';
import { rsaPublicKey } from '../crypto/rsa.js';

const cache = new WeakMap<JsonWebKey, RsaKeyPair>();

export function iccKeyPair(jwk: JsonWebKey): RsaKeyPair {
  let pair = cache.get(jwk);
  if (!pair) {
    pair = {
      privateKey: createPrivateKey({ key: jwk, format: 'jwk' }),
      publicKey: rsaPublicKey(Buffer.from(jwk.n!, 'base64url'), Buffer.from(jwk.e!, 'base64url')),
    };
    cache.set(jwk, pair);
  }
  return pair;
}
