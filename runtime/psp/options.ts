/**
 * What the PSP client needs (HttpPspClient's options), its defaults, and how the `psp` config
 * section becomes them: the key, secret and CA files read here, once, at start.
 */
import { readFileSync } from 'node:fs';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { resolveTlsFile } from '../host/channel.js';
import { ecdsaSigner, hmacSigner, type PspSigner } from './signing.js';

export interface PspClientOptions {
  /** The PSP's base URL (http or https); the API paths (/v1/...) go under its path. */
  url: string;
  merchantId: string;
  terminalId: string;
  signer: PspSigner;
  /** Each request's whole exchange, connect to last byte. */
  timeoutMs?: number;
  /** For https: the only CAs the PSP's certificate may chain to (PEM); absent: the system store. */
  ca?: Buffer | string;
  /** How far a notification's timestamp may be from our clock. */
  notificationWindowMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

export const PSP_CLIENT_DEFAULTS = {
  timeoutMs: 10_000,
  /** Five minutes: a box's clock is set by NTP over a cellular link, not to the millisecond. */
  notificationWindowMs: 300_000,
} as const;

export type PspConfig = NonNullable<Config['psp']>;

function readSetting(setting: string, value: string, dataDir: string, env: NodeJS.ProcessEnv): Buffer {
  const file = resolveTlsFile(setting, value, dataDir, env);
  try {
    return readFileSync(file);
  } catch (error) {
    throw new PosError('CODPOS_PSP_CONFIG', `${setting}: cannot read ${file} (${(error as Error).message})`, {
      cause: error,
      details: { setting },
    });
  }
}

/** The client options of the `psp` config section, its files read (relative to data.dir, or credential:NAME). */
export function pspClientOptionsFromConfig(
  psp: PspConfig,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): PspClientOptions {
  const signing = psp.signing;
  let signer: PspSigner;
  try {
    if (signing.scheme === 'hmac-sha256') {
      const secret =
        signing.secretFile !== undefined
          ? Buffer.from(readSetting('psp.signing.secretFile', signing.secretFile, dataDir, env).toString('utf8').trim())
          : Buffer.from(signing.secret ?? '', 'utf8');
      signer = hmacSigner(secret);
    } else {
      signer = ecdsaSigner(
        readSetting('psp.signing.privateKeyFile', signing.privateKeyFile, dataDir, env).toString('utf8'),
        readSetting('psp.signing.pspPublicKeyFile', signing.pspPublicKeyFile, dataDir, env).toString('utf8'),
      );
    }
  } catch (error) {
    if (error instanceof PosError) throw error;
    throw new PosError('CODPOS_PSP_CONFIG', `psp.signing: ${(error as Error).message}`, {
      cause: error,
      details: { setting: 'psp.signing' },
    });
  }
  return {
    url: psp.url,
    merchantId: psp.merchantId,
    terminalId: psp.terminalId,
    signer,
    timeoutMs: psp.timeoutMs,
    ...(psp.caFile !== undefined ? { ca: readSetting('psp.caFile', psp.caFile, dataDir, env) } : {}),
  };
}
