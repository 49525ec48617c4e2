/**
 * The operator keys a box trusts for parameter packages: the public keys config params.operatorKeys
 * names (PEM files, relative to data.dir, or credential:NAME), and the lab key when
 * params.trustLabKey. Read once, at start or reload: a key that cannot be read or is of a type
 * packages are not signed with is a config error naming the setting.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { resolveTlsFile } from '../host/channel.js';
import { LAB_OPERATOR_KEY_ID, labOperatorKey } from './lab-operator-key.js';
import { signatureAlgorithmOf } from './signature.js';
import type { OperatorKey } from './types.js';

function configError(setting: string, problem: string, cause?: unknown): PosError {
  const line = `${setting}: ${problem}`;
  return new PosError('CODPOS_CONFIG_INVALID', line, {
    ...(cause === undefined ? {} : { cause }),
    details: { problems: [line] },
  });
}

function readPublicKey(setting: string, value: string, dataDir: string, env: NodeJS.ProcessEnv): KeyObject {
  const file = resolveTlsFile(setting, value, dataDir, env);
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    throw configError(
      setting,
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      error,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw configError(setting, `${file} holds no public key in PEM (${(error as Error).message})`, error);
  }
  if (signatureAlgorithmOf(key) === undefined)
    throw configError(
      setting,
      `${file} is a ${key.asymmetricKeyType ?? 'unknown'} key; operator keys are Ed25519 or EC P-256`,
    );
  return key;
}

export function loadOperatorKeys(
  config: Pick<Config, 'params' | 'data'>,
  env: NodeJS.ProcessEnv = process.env,
): OperatorKey[] {
  const seen = new Set<string>();
  config.params.operatorKeys.forEach((entry, i) => {
    if (seen.has(entry.keyId)) throw configError(`params.operatorKeys[${i}].keyId`, `${entry.keyId} is given twice`);
    if (entry.keyId === LAB_OPERATOR_KEY_ID && config.params.trustLabKey)
      throw configError(
        `params.operatorKeys[${i}].keyId`,
        `${entry.keyId} is the lab key's id (params.trustLabKey is true): choose another`,
      );
    seen.add(entry.keyId);
  });
  const keys: OperatorKey[] = config.params.operatorKeys.map((entry, i) => ({
    keyId: entry.keyId,
    key: readPublicKey(`params.operatorKeys[${i}].publicKeyFile`, entry.publicKeyFile, config.data.dir, env),
  }));
  if (config.params.trustLabKey) keys.push(labOperatorKey());
  return keys;
}
