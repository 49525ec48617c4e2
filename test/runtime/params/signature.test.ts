/**
 * Package signatures (runtime/params/signature.ts): RFC 8032's Ed25519 vectors verify through the
 * envelope check, Ed25519 and ES256 round trips, and every tampering refused: one payload bit, one
 * signature bit, a key id not installed, an algorithm that is not the key's.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { packageRoot } from '../../../config/paths.js';
import {
  signParameterSet,
  signPayload,
  signatureAlgorithmOf,
  verifyEnvelopeSignature,
} from '../../../runtime/params/signature.js';
import type { ParamsEnvelope } from '../../../runtime/params/types.js';
import { ed25519Pair, es256Pair, validSet } from './params-fixtures.js';

interface RfcVector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
const rfc = (
  JSON.parse(readFileSync(join(packageRoot, 'test', 'vectors', 'ed25519-rfc8032.json'), 'utf8')) as {
    vectors: RfcVector[];
  }
).vectors;

// RFC 8410: the DER prefixes of an Ed25519 SubjectPublicKeyInfo and PKCS#8 private key.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const refusal = (code: string, message: RegExp) => ({ name: 'PosError', code, message });

function flipBit(base64: string, byte: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[byte] = bytes[byte]! ^ 0x01;
  return bytes.toString('base64');
}

t.test('RFC 8032 TEST 1 and 2 verify as envelopes, and signing their messages gives their signatures', async (t) => {
  for (const v of rfc) {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, Buffer.from(v.publicKey, 'hex')]),
      format: 'der',
      type: 'spki',
    });
    const envelope: ParamsEnvelope = {
      format: 'codpos-params/1',
      payload: Buffer.from(v.message, 'hex').toString('base64'),
      signature: { alg: 'Ed25519', keyId: 'rfc', value: Buffer.from(v.signature, 'hex').toString('base64') },
    };
    t.equal(verifyEnvelopeSignature(envelope, [{ keyId: 'rfc', key }]).keyId, 'rfc', v.name);
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, Buffer.from(v.secretKey, 'hex')]),
      format: 'der',
      type: 'pkcs8',
    });
    const signed = signPayload(Buffer.from(v.message, 'hex'), { keyId: 'rfc', privateKey });
    t.equal(Buffer.from(signed.signature.value, 'base64').toString('hex'), v.signature, `${v.name} signature`);
  }
});

t.test('a signed set round-trips with Ed25519 and ES256; alg comes from the key', async (t) => {
  for (const [alg, pair] of [
    ['Ed25519', ed25519Pair()],
    ['ES256', es256Pair()],
  ] as const) {
    const set = validSet();
    const envelope = signParameterSet(set, { keyId: 'ops-1', privateKey: pair.privateKey });
    t.equal(envelope.format, 'codpos-params/1');
    t.equal(envelope.signature.alg, alg);
    t.equal(envelope.signature.keyId, 'ops-1');
    t.equal(Buffer.from(envelope.signature.value, 'base64').length, 64, `${alg} signature is 64 bytes`);
    t.same(JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')), set, 'the payload is the set');
    const used = verifyEnvelopeSignature(envelope, [
      { keyId: 'other', key: ed25519Pair().publicKey },
      { keyId: 'ops-1', key: pair.publicKey },
    ]);
    t.equal(used.keyId, 'ops-1');
    t.equal(used.key, pair.publicKey, 'the key used is returned');
  }
});

t.test('tampering is refused with CODPOS_PARAMS_SIGNATURE naming what is wrong', async (t) => {
  for (const pair of [ed25519Pair(), es256Pair()]) {
    const keys = [{ keyId: 'ops-1', key: pair.publicKey }];
    const good = signParameterSet(validSet(), { keyId: 'ops-1', privateKey: pair.privateKey });
    const alg = good.signature.alg;
    t.throws(
      () => verifyEnvelopeSignature({ ...good, payload: flipBit(good.payload, 10) }, keys),
      refusal('CODPOS_PARAMS_SIGNATURE', new RegExp(`the ${alg} signature does not verify with key "ops-1"`)),
      `${alg}: one payload bit`,
    );
    t.throws(
      () =>
        verifyEnvelopeSignature(
          { ...good, signature: { ...good.signature, value: flipBit(good.signature.value, 40) } },
          keys,
        ),
      refusal('CODPOS_PARAMS_SIGNATURE', /does not verify/),
      `${alg}: one signature bit`,
    );
    t.throws(
      () => verifyEnvelopeSignature({ ...good, signature: { ...good.signature, keyId: 'ops-2' } }, keys),
      refusal('CODPOS_PARAMS_SIGNATURE', /signed with key "ops-2", which is not installed \(installed: ops-1\)/),
      `${alg}: a key id not installed`,
    );
    const otherAlg = alg === 'Ed25519' ? 'ES256' : 'Ed25519';
    t.throws(
      () => verifyEnvelopeSignature({ ...good, signature: { ...good.signature, alg: otherAlg } }, keys),
      refusal('CODPOS_PARAMS_SIGNATURE', new RegExp(`signature says ${otherAlg} but key "ops-1" is ${alg}`)),
      `${alg}: the other algorithm`,
    );
    t.throws(
      () =>
        verifyEnvelopeSignature(
          {
            ...good,
            signature: {
              ...good.signature,
              value: Buffer.from(good.signature.value, 'base64').subarray(1).toString('base64'),
            },
          },
          keys,
        ),
      refusal('CODPOS_PARAMS_SIGNATURE', new RegExp(`an ${alg} signature is 64 bytes, this one 63`)),
      `${alg}: a short signature`,
    );
  }
  t.throws(
    () =>
      verifyEnvelopeSignature(
        signParameterSet(validSet(), { keyId: 'ops-1', privateKey: ed25519Pair().privateKey }),
        [],
      ),
    refusal('CODPOS_PARAMS_SIGNATURE', /\(installed: none\)/),
    'no key installed',
  );
});

t.test('only Ed25519 and P-256 private keys sign', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  t.equal(signatureAlgorithmOf(p384.publicKey), undefined);
  t.equal(signatureAlgorithmOf(es256Pair().publicKey), 'ES256');
  t.equal(signatureAlgorithmOf(ed25519Pair().privateKey), 'Ed25519');
  t.throws(
    () => signParameterSet(validSet(), { keyId: 'x', privateKey: p384.privateKey }),
    refusal('CODPOS_USAGE_BAD_OPTION', /expected an Ed25519 or EC P-256 private key, not private ec secp384r1/),
  );
  t.throws(
    () => signParameterSet(validSet(), { keyId: 'x', privateKey: ed25519Pair().publicKey }),
    refusal('CODPOS_USAGE_BAD_OPTION', /not public ed25519/),
  );
});
