/**
 * `codpos params verify FILE` checks a parameter package with the keys of the config, as the box
 * would before applying it; `codpos params sign --key PEMFILE|lab --key-id ID SETFILE` is the
 * operator's tool that makes one (docs/params.md). `params show|apply|rollback` talk to the
 * daemon and live in another module under the same group.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PosError } from '../../../config/errors.js';
import { loadConfig } from '../../../config/load.js';
import { checkCaKeys } from '../../../runtime/params/ca-key.js';
import { LAB_OPERATOR_KEY_ID, labOperatorPrivateKey } from '../../../runtime/params/lab-operator-key.js';
import { loadOperatorKeys } from '../../../runtime/params/operator-keys.js';
import { readParameterSet } from '../../../runtime/params/package.js';
import { signParameterSet, signatureAlgorithmOf } from '../../../runtime/params/signature.js';
import { MAX_PACKAGE_BYTES, verifyParameterPackage } from '../../../runtime/params/verify.js';
import { groupCommand } from '../groups.js';
import { action, printJson, printLines } from '../output.js';

export const order = 40;

interface VerifyCliOptions {
  config?: string;
  runningVersion?: string;
  json?: boolean;
}

interface SignCliOptions {
  key: string;
  keyId?: string;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

function usage(option: string, message: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_OPTION', `${option}: ${message}`, { details: { option } });
}

function readArgumentFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw usage(what, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export function register(program: Command): void {
  const group = groupCommand(program, 'params', 'parameter packages: check, sign, show and apply them');

  group
    .command('verify')
    .description(
      'check a signed parameter package as this box would (keys, audience, content, CA keys); exit 8 if refused',
    )
    .argument('<file>', 'the package (codpos-params/1 envelope, JSON)')
    .option('--config <file>', 'config file, for the trusted operator keys, the terminal id and its fleet group')
    .option('--running-version <n>', 'refuse a package not above this version, as the box running it would')
    .option('--json', 'machine-readable output')
    .action(action(async (file: string, opts: VerifyCliOptions) => runVerify(file, opts)));

  group
    .command('sign')
    .description('sign a parameter set into a package (the operator tool): prints the envelope JSON')
    .argument('<set-file>', 'the parameter set (JSON, docs/params.md)')
    .requiredOption(
      '--key <pem-file|lab>',
      "the operator's private key (PEM, Ed25519 or EC P-256), or lab for the lab key",
    )
    .option('--key-id <id>', 'the key id the boxes know the public key by (with --key lab: lab-operator)')
    .action(action(async (setFile: string, opts: SignCliOptions) => runSign(setFile, opts)));
}

function runningVersionOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) throw usage('--running-version', `expected a whole number, not ${text}`);
  return Number(text);
}

function runVerify(file: string, opts: VerifyCliOptions): void {
  const runningVersion = runningVersionOf(opts.runningVersion);
  const { config } = loadConfig({ file: opts.config });
  const bytes = readArgumentFile('FILE', file);
  let verified;
  try {
    verified = verifyParameterPackage(bytes, {
      operatorKeys: loadOperatorKeys(config),
      terminalId: config.terminal.id,
      ...(config.fleet?.group === undefined ? {} : { group: config.fleet.group }),
      ...(runningVersion === undefined ? {} : { runningVersion }),
      now: new Date(),
    });
  } catch (error) {
    if (!(error instanceof PosError) || !error.code.startsWith('CODPOS_PARAMS_')) throw error;
    // The code in the text too: it is what terminal management's report would show.
    throw new PosError(error.code, opts.json ? error.message : `${file}: refused, ${error.code}: ${error.message}`, {
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  }
  const { set, envelope } = verified;
  const summary = {
    ok: true,
    version: set.version,
    issuedAt: set.issuedAt,
    ...(set.description === undefined ? {} : { description: set.description }),
    keyId: verified.keyId,
    alg: envelope.signature.alg,
    applications: set.emv.applications.length,
    caKeys: set.caKeys.length,
    revocations: set.revocations.length,
  };
  if (opts.json) {
    printJson(summary);
    return;
  }
  printLines([
    `${file}: ok`,
    `version       ${set.version}`,
    `issued at     ${set.issuedAt}`,
    ...(set.description === undefined ? [] : [`description   ${set.description}`]),
    `signed by     ${verified.keyId} (${envelope.signature.alg})`,
    `applications  ${summary.applications}`,
    `CA keys       ${summary.caKeys}`,
    `revocations   ${summary.revocations}`,
  ]);
}

function signingKey(opts: SignCliOptions): { keyId: string; privateKey: KeyObject } {
  if (opts.key === 'lab') {
    if (opts.keyId !== undefined && opts.keyId !== LAB_OPERATOR_KEY_ID)
      throw usage('--key-id', `the lab key is known as ${LAB_OPERATOR_KEY_ID}, not ${opts.keyId}`);
    return { keyId: LAB_OPERATOR_KEY_ID, privateKey: labOperatorPrivateKey() };
  }
  if (opts.keyId === undefined) throw usage('--key-id', 'required with a key file (the id the boxes know it by)');
  if (!KEY_ID.test(opts.keyId))
    throw usage('--key-id', 'expected 1 to 64 letters, digits, dots, dashes or underscores');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readArgumentFile('--key', opts.key));
  } catch (error) {
    if (error instanceof PosError) throw error;
    throw usage('--key', `${opts.key} holds no private key in PEM`);
  }
  if (signatureAlgorithmOf(privateKey) === undefined)
    throw usage(
      '--key',
      `${opts.key} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; sign with Ed25519 or EC P-256`,
    );
  return { keyId: opts.keyId, privateKey };
}

function runSign(setFile: string, opts: SignCliOptions): void {
  const signer = signingKey(opts);
  let json: unknown;
  try {
    json = JSON.parse(readArgumentFile('SETFILE', setFile).toString('utf8'));
  } catch (error) {
    if (error instanceof PosError) throw error;
    throw new PosError('CODPOS_USAGE_BAD_JSON', `${setFile}: not JSON (${(error as Error).message})`);
  }
  // Refuse here what every box would refuse: the operator learns it before shipping.
  const set = readParameterSet(json);
  checkCaKeys(set.caKeys, new Date());
  const envelope = signParameterSet(set, signer);
  if (Buffer.byteLength(JSON.stringify(envelope)) > MAX_PACKAGE_BYTES)
    throw new PosError('CODPOS_PARAMS_FORMAT', `the package would be over the ${MAX_PACKAGE_BYTES} bytes a box takes`);
  printJson(envelope);
}
