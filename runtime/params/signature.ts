/**
 * The operator's signature over a parameter package: Ed25519 (RFC 8032) or ES256 (ECDSA P-256,
 * SHA-256, r || s as IEEE P1363), always over the payload's exact bytes, so there is no canonical
 * JSON to agree on: the box checks what the operator signed, byte for byte.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { PosError } from '../../config/errors.js';
import {
  PARAMS_FORMAT,
  type OperatorKey,
  type ParameterSet,
  type ParamsEnvelope,
  type SignatureAlgorithm,
} from './types.js';

/** Both algorithms give 64 bytes: Ed25519 R || S, ES256 r || s. */
const SIGNATURE_BYTES = 64;

/** The algorithm a key (public or private) signs with, or undefined for a key type packages do not use. */
export function signatureAlgorithmOf(key: KeyObject): SignatureAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `${key.asymmetricKeyType ?? key.type}${curve === undefined ? '' : ` ${curve}`}`;
}

/** Signs exactly `payload` (the UTF-8 JSON of a parameter set) into an envelope. */
export function signPayload(payload: Buffer, signer: { keyId: string; privateKey: KeyObject }): ParamsEnvelope {
  const alg = signatureAlgorithmOf(signer.privateKey);
  if (alg === undefined || signer.privateKey.type !== 'private')
    throw new PosError(
      'CODPOS_USAGE_BAD_OPTION',
      `signing key: expected an Ed25519 or EC P-256 private key, not ${signer.privateKey.type} ${describeKey(signer.privateKey)}`,
    );
  const value =
    alg === 'Ed25519'
      ? sign(null, payload, signer.privateKey)
      : sign('sha256', payload, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return {
    format: PARAMS_FORMAT,
    payload: payload.toString('base64'),
    signature: { alg, keyId: signer.keyId, value: value.toString('base64') },
  };
}

/** The operator's tool: the set as UTF-8 JSON, signed with the key's algorithm. */
export function signParameterSet(set: ParameterSet, signer: { keyId: string; privateKey: KeyObject }): ParamsEnvelope {
  return signPayload(Buffer.from(JSON.stringify(set), 'utf8'), signer);
}

function refuse(message: string, keyId: string): never {
  throw new PosError('CODPOS_PARAMS_SIGNATURE', message, { details: { keyId } });
}

/**
 * Checks the envelope's signature over its payload's bytes with the installed key it names and
 * returns that key. The envelope is assumed well-formed (verify.ts reads it first).
 */
export function verifyEnvelopeSignature(envelope: ParamsEnvelope, keys: readonly OperatorKey[]): OperatorKey {
  const { alg, keyId } = envelope.signature;
  const operatorKey = keys.find((k) => k.keyId === keyId);
  if (operatorKey === undefined) {
    const installed = keys.map((k) => k.keyId).join(', ');
    refuse(
      `signed with key ${JSON.stringify(keyId)}, which is not installed (installed: ${installed === '' ? 'none' : installed})`,
      keyId,
    );
  }
  const publicKey = operatorKey.key.type === 'private' ? createPublicKey(operatorKey.key) : operatorKey.key;
  const keyAlg = signatureAlgorithmOf(publicKey);
  if (keyAlg !== alg)
    refuse(
      `signature says ${alg} but key ${JSON.stringify(keyId)} is ${keyAlg ?? describeKey(publicKey)}: refused without checking`,
      keyId,
    );
  const signature = Buffer.from(envelope.signature.value, 'base64');
  if (signature.length !== SIGNATURE_BYTES)
    refuse(`an ${alg} signature is ${SIGNATURE_BYTES} bytes, this one ${signature.length}`, keyId);
  const payload = Buffer.from(envelope.payload, 'base64');
  const good =
    alg === 'Ed25519'
      ? verify(null, payload, publicKey, signature)
      : verify('sha256', payload, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!good) refuse(`the ${alg} signature does not verify with key ${JSON.stringify(keyId)}`, keyId);
  return operatorKey;
}
