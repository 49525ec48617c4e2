/**
 * The EMV kernel's terminal from the configuration: `emv.*` (AIDs with their terminal action
 * codes and floor limits, capabilities, the certification authority keys) and `terminal.*`
 * (ids, country, merchant category code 9F15, IFD serial number 9F1E, and the time zone the
 * kernel dates the transaction in: 9A, 9F21 and the expiry checks). The CA keys come from `emv.caKeysFile`, or are the test keys shipped for the
 * lab and the virtual cards when it is empty.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { testCaPublicKeys } from '../../emv/card/test-ca.js';
import type { CaPublicKey, TerminalConfig } from '../../emv/kernel/index.js';

export function kernelTerminal(config: Pick<Config, 'terminal' | 'emv' | 'data'>): TerminalConfig {
  const { emv } = config;
  return {
    countryCode: config.terminal.country.padStart(4, '0'),
    capabilities: emv.capabilities.toUpperCase(),
    additionalCapabilities: emv.additionalCapabilities.toUpperCase(),
    terminalType: emv.terminalType,
    terminalId: config.terminal.id,
    merchantId: config.terminal.merchantId,
    merchantCategoryCode: config.terminal.merchantCategoryCode,
    ifdSerialNumber: config.terminal.ifdSerialNumber,
    timeZone: config.terminal.timeZone,
    applications: emv.applications.map((app) => ({ ...app, aid: app.aid.toUpperCase() })),
    caKeys: emv.caKeysFile === '' ? testCaPublicKeys() : readCaKeys(resolve(config.data.dir, emv.caKeysFile)),
    onlineCapable: true,
    pinPadPresent: true,
  };
}

/** A CA key file: `{ "keys": [{ rid, index, modulus, exponent, expiry }] }`, each checked. */
function readCaKeys(file: string): CaPublicKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PosError('CODPOS_CONFIG_CA_KEYS', `emv.caKeysFile ${file}: ${(error as Error).message}`, {
      cause: error,
      details: { problems: ['emv.caKeysFile'] },
    });
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new PosError(
      'CODPOS_CONFIG_CA_KEYS',
      `emv.caKeysFile ${file}: expected { "keys": [ ... ] } with at least one key`,
      { details: { problems: ['emv.caKeysFile'] } },
    );
  return keys.map((key: Record<string, unknown>, i) => {
    const field = (name: string, pattern: RegExp) => {
      const value = key[name];
      if (typeof value !== 'string' || !pattern.test(value))
        throw new PosError(
          'CODPOS_CONFIG_CA_KEYS',
          `emv.caKeysFile ${file}: keys[${i}].${name} is missing or malformed`,
          { details: { problems: ['emv.caKeysFile'] } },
        );
      return value.toUpperCase();
    };
    return {
      rid: field('rid', /^[0-9A-Fa-f]{10}$/),
      index: field('index', /^[0-9A-Fa-f]{2}$/),
      modulus: field('modulus', /^([0-9A-Fa-f]{2}){64,248}$/),
      exponent: field('exponent', /^(03|010001)$/),
      expiry: field('expiry', /^[0-9]{6}$/),
    };
  });
}
