/**
 * Loading a config as the daemon uses it: the schema (config/load.ts), then the checks
 * that need the parts the config names — the host's ISO 8583 dialect with its field
 * overrides, the EMV CA key file, the operator's public keys, the fleet link's password and TLS files. `codposd` and `codpos config check|show` both go through here, so a config
 * that passes the check starts the daemon.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { PosError } from '../config/errors.js';
import type { HostTls } from '../config/schema.js';
import { hostDialect } from './host/dialect.js';
import { TLS_FILE_SETTINGS, resolveTlsFile } from './host/channel.js';
import { kernelTerminal } from './payment/terminal.js';
import { loadOperatorKeys } from './params/operator-keys.js';
import { fleetLinkSettingsFromConfig } from './fleet/options.js';

export function loadCheckedConfig(options: LoadOptions = {}): LoadedConfig {
  const loaded = loadConfig(options);
  if (loaded.config.host.tls) {
    const problems = hostTlsProblems(loaded.config.host.tls, loaded.config.data.dir, options.env ?? process.env);
    if (problems.length > 0)
      throw new PosError('CODPOS_CONFIG_INVALID', problems.join('\n'), { details: { problems } });
  }
  if (loaded.config.api.tcpPort > 0 && loaded.config.api.bearerToken === '') {
    const line = 'api.bearerToken: must be set when api.tcpPort opens the local API on TCP';
    throw new PosError('CODPOS_CONFIG_INVALID', line, { details: { problems: [line] } });
  }
  hostDialect(loaded.config.host);
  // The CA key file is read now, so a bad one fails `config check`, not the first payment.
  if (loaded.config.emv.caKeysFile !== '') kernelTerminal(loaded.config);
  // So are the operator's keys and the fleet link's files: not at the first package or connection.
  const env = options.env ?? process.env;
  loadOperatorKeys(loaded.config, env);
  if (loaded.config.fleet?.enabled) fleetLinkSettingsFromConfig(loaded.config, env);
  return loaded;
}

/**
 * The files `host.tls` names, checked before the link needs them: each a readable regular
 * file, the CA bundle X.509 (PEM), the client certificate matching its key. One line per
 * problem, naming the setting. (The pins' form is the schema's.)
 */
export function hostTlsProblems(tls: HostTls, dataDir: string, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const contents = new Map<string, Buffer>();
  for (const setting of TLS_FILE_SETTINGS) {
    const value = tls[setting];
    if (value === undefined) continue;
    const path = `host.tls.${setting}`;
    let file: string;
    try {
      file = resolveTlsFile(path, value, dataDir, env);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    try {
      if (!statSync(file).isFile()) {
        problems.push(`${path}: ${file} is not a regular file`);
        continue;
      }
      accessSync(file, fsConstants.R_OK);
      contents.set(setting, readFileSync(file));
    } catch (error) {
      problems.push(
        `${path}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
  }
  const ca = contents.get('caFile');
  if (ca !== undefined) {
    // X509Certificate reads one certificate: each PEM block of the bundle is parsed on its own.
    const blocks = ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0)
      problems.push('host.tls.caFile: no PEM certificate in the bundle (expected -----BEGIN CERTIFICATE----- blocks)');
    blocks.forEach((block, i) => {
      try {
        new X509Certificate(block);
      } catch (error) {
        problems.push(`host.tls.caFile: certificate ${i + 1} of the bundle is not X.509 (${(error as Error).message})`);
      }
    });
  }
  const cert = contents.get('certFile');
  const key = contents.get('keyFile');
  let certificate: X509Certificate | undefined;
  if (cert !== undefined) {
    try {
      certificate = new X509Certificate(cert);
    } catch (error) {
      problems.push(`host.tls.certFile: not a PEM X.509 certificate (${(error as Error).message})`);
    }
  }
  if (key !== undefined) {
    try {
      const privateKey = createPrivateKey(key);
      if (certificate !== undefined && !certificate.checkPrivateKey(privateKey))
        problems.push('host.tls.keyFile: the key does not match the certificate of host.tls.certFile');
    } catch (error) {
      problems.push(`host.tls.keyFile: not a PEM private key (${(error as Error).message})`);
    }
  }
  return problems;
}
