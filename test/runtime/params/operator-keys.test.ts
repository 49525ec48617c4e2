/**
 * The operator keys a box trusts (runtime/params/operator-keys.ts) and the lab key
 * (runtime/params/lab-operator-key.ts): PEM files relative to data.dir or from
 * $CREDENTIALS_DIRECTORY, the lab key only with trustLabKey, and each bad key a
 * CODPOS_CONFIG_INVALID naming its setting.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { Config } from '../../../config/schema.js';
import { loadOperatorKeys } from '../../../runtime/params/operator-keys.js';
import {
  LAB_OPERATOR_KEY_ID,
  LAB_OPERATOR_SEED_PHRASE,
  labOperatorKey,
  labOperatorSigner,
} from '../../../runtime/params/lab-operator-key.js';
import { signParameterSet, verifyEnvelopeSignature } from '../../../runtime/params/signature.js';
import { ed25519Pair, es256Pair, validSet } from './params-fixtures.js';

type KeyConfig = Pick<Config, 'params' | 'data'>;

const pem = (key: import('node:crypto').KeyObject) => key.export({ format: 'pem', type: 'spki' }).toString();
const configError = (message: RegExp | string) => ({ name: 'PosError', code: 'CODPOS_CONFIG_INVALID', message });

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-opkeys-'));
  const credentials = mkdtempSync(join(tmpdir(), 'codpos-creds-'));
  return { dir, credentials };
}

t.test('the lab key is derived from the published phrase and signs what it verifies', async (t) => {
  const seed = createHash('sha256').update(LAB_OPERATOR_SEED_PHRASE, 'utf8').digest();
  const raw = labOperatorSigner().privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  t.same(raw, seed, 'the private key is the seed');
  t.equal(labOperatorKey().keyId, LAB_OPERATOR_KEY_ID);
  t.equal(LAB_OPERATOR_KEY_ID, 'lab-operator');
  t.equal(labOperatorKey().key.type, 'public');
  const envelope = signParameterSet(validSet(), labOperatorSigner());
  t.equal(verifyEnvelopeSignature(envelope, [labOperatorKey()]).keyId, 'lab-operator');
});

t.test('keys from files relative to data.dir and from credentials, plus the lab key when trusted', async (t) => {
  const { dir, credentials } = setup();
  const ed = ed25519Pair();
  const ec = es256Pair();
  writeFileSync(join(dir, 'ops-ed.pem'), pem(ed.publicKey));
  writeFileSync(join(credentials, 'ops-ec.pem'), pem(ec.publicKey));
  const config: KeyConfig = {
    data: { dir },
    params: {
      operatorKeys: [
        { keyId: 'ops-ed', publicKeyFile: 'ops-ed.pem' },
        { keyId: 'ops-ec', publicKeyFile: 'credential:ops-ec.pem' },
      ],
      trustLabKey: true,
    },
  };
  const keys = loadOperatorKeys(config, { CREDENTIALS_DIRECTORY: credentials });
  t.same(
    keys.map((k) => k.keyId),
    ['ops-ed', 'ops-ec', 'lab-operator'],
  );
  t.ok(keys[0]!.key.equals(ed.publicKey));
  t.ok(keys[1]!.key.equals(ec.publicKey));
  const untrusted = loadOperatorKeys(
    { ...config, params: { ...config.params, trustLabKey: false } },
    {
      CREDENTIALS_DIRECTORY: credentials,
    },
  );
  t.same(
    untrusted.map((k) => k.keyId),
    ['ops-ed', 'ops-ec'],
    'no lab key unless trusted',
  );
  // A private key file gives its public half (createPublicKey accepts one): still only public keys are kept.
  writeFileSync(join(dir, 'private.pem'), ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  const fromPrivate = loadOperatorKeys(
    {
      data: { dir },
      params: { operatorKeys: [{ keyId: 'p', publicKeyFile: 'private.pem' }], trustLabKey: false },
    },
    {},
  );
  t.equal(fromPrivate[0]!.key.type, 'public');
  t.ok(createPublicKey(ed.privateKey).equals(fromPrivate[0]!.key));
});

t.test('a key that cannot be used is a config error naming the setting', async (t) => {
  const { dir } = setup();
  const load = (publicKeyFile: string, env: NodeJS.ProcessEnv = {}, keyId = 'ops') =>
    loadOperatorKeys({ data: { dir }, params: { operatorKeys: [{ keyId, publicKeyFile }], trustLabKey: true } }, env);
  t.throws(
    () => load('missing.pem'),
    configError(/^params\.operatorKeys\[0\]\.publicKeyFile: cannot read .*missing\.pem \(ENOENT\)/),
  );
  writeFileSync(join(dir, 'junk.pem'), 'not a key');
  t.throws(
    () => load('junk.pem'),
    configError(/^params\.operatorKeys\[0\]\.publicKeyFile: .*junk\.pem holds no public key in PEM/),
  );
  writeFileSync(join(dir, 'rsa.pem'), pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey));
  t.throws(
    () => load('rsa.pem'),
    configError(
      /^params\.operatorKeys\[0\]\.publicKeyFile: .*rsa\.pem is a rsa key; operator keys are Ed25519 or EC P-256/,
    ),
  );
  writeFileSync(join(dir, 'p384.pem'), pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey));
  t.throws(() => load('p384.pem'), configError(/p384\.pem is a ec key/));
  t.throws(
    () => load('credential:ops.pem', {}),
    configError(/^params\.operatorKeys\[0\]\.publicKeyFile: credential:ops\.pem: CREDENTIALS_DIRECTORY is not set/),
  );
  writeFileSync(join(dir, 'ok.pem'), pem(ed25519Pair().publicKey));
  t.throws(
    () => load('ok.pem', {}, 'lab-operator'),
    configError(
      "params.operatorKeys[0].keyId: lab-operator is the lab key's id (params.trustLabKey is true): choose another",
    ),
  );
  t.throws(
    () =>
      loadOperatorKeys(
        {
          data: { dir },
          params: {
            operatorKeys: [
              { keyId: 'a', publicKeyFile: 'ok.pem' },
              { keyId: 'a', publicKeyFile: 'ok.pem' },
            ],
            trustLabKey: false,
          },
        },
        {},
      ),
    configError('params.operatorKeys[1].keyId: a is given twice'),
  );
});
