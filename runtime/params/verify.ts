/**
 * A parameter package from any link (fleet, uplink, API, file), checked before anything runs it.
 * The order matters: the envelope's shape, then the signature, and only a signed payload is read
 * beyond JSON, so a forged package never reaches the set's reader; then the set's content, whether
 * it is for this box, whether it is newer than the running one, and last its CA keys.
 */
import { PosError } from '../../config/errors.js';
import { checkCaKeys } from './ca-key.js';
import { readEnvelope, readParameterSet } from './package.js';
import { verifyEnvelopeSignature } from './signature.js';
import type { ParameterSet, VerifiedPackage, VerifyOptions } from './types.js';

/** A package is a few KiB (a CA key is at most 248 bytes); anything near this is not one. */
export const MAX_PACKAGE_BYTES = 1024 * 1024;

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PosError('CODPOS_PARAMS_FORMAT', `${what} is not JSON (${(error as Error).message})`, { cause: error });
  }
}

function envelopeJson(input: unknown): unknown {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return input;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_PACKAGE_BYTES)
    throw new PosError('CODPOS_PARAMS_FORMAT', `the package is ${size} bytes, over the ${MAX_PACKAGE_BYTES} allowed`);
  return parseJson(typeof input === 'string' ? input : input.toString('utf8'), 'the package');
}

function decodePayload(payload: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(payload, 'base64'));
  } catch (error) {
    throw new PosError('CODPOS_PARAMS_FORMAT', 'the payload is not UTF-8', { cause: error });
  }
  return parseJson(text, 'the payload');
}

const listed = (names: readonly string[]) =>
  names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');

/** Absent audience, or one with neither list: any box. Otherwise this terminal or its group must be named. */
function checkAudience(set: ParameterSet, options: VerifyOptions): void {
  const { groups, terminals } = set.audience ?? {};
  if (groups === undefined && terminals === undefined) return;
  if (terminals?.includes(options.terminalId)) return;
  if (options.group !== undefined && groups?.includes(options.group)) return;
  const forWhom = [
    ...(terminals ? [`terminals ${listed(terminals)}`] : []),
    ...(groups ? [`groups ${listed(groups)}`] : []),
  ].join(' and ');
  const us = `terminal ${options.terminalId}${options.group === undefined ? ' (no fleet group)' : ` in group ${options.group}`}`;
  throw new PosError('CODPOS_PARAMS_NOT_FOR_US', `version ${set.version} is for ${forWhom}, not ${us}`, {
    details: { version: set.version },
  });
}

export function verifyParameterPackage(input: unknown, options: VerifyOptions): VerifiedPackage {
  const envelope = readEnvelope(envelopeJson(input));
  const key = verifyEnvelopeSignature(envelope, options.operatorKeys);
  const set = readParameterSet(decodePayload(envelope.payload));
  checkAudience(set, options);
  if (options.runningVersion !== undefined && set.version <= options.runningVersion)
    throw new PosError(
      'CODPOS_PARAMS_VERSION',
      `running version ${options.runningVersion}, package version ${set.version}: only a newer version is applied`,
      { details: { version: set.version, runningVersion: options.runningVersion } },
    );
  try {
    checkCaKeys(set.caKeys, options.now);
  } catch (error) {
    if (error instanceof PosError)
      throw new PosError(error.code, error.message, {
        cause: error,
        details: { ...error.details, version: set.version },
      });
    throw error;
  }
  return { envelope, set, keyId: key.keyId };
}
