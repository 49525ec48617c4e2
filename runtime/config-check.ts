/**
 * Loading a config as the daemon uses it: the schema (config/load.ts), then the checks
 * that need the parts the config names — the host's ISO 8583 dialect with its field
 * overrides, the EMV CA key file. `codposd` and `codpos config check|show` both go through here, so a config
 * that passes the check starts the daemon.
 */
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { PosError } from '../config/errors.js';
import { hostDialect } from './host/dialect.js';
import { kernelTerminal } from './payment/terminal.js';

export function loadCheckedConfig(options: LoadOptions = {}): LoadedConfig {
  const loaded = loadConfig(options);
  if (loaded.config.host.tls) {
    const line = 'host.tls: TLS to the acquirer is not supported yet; set it to false (or put a TLS tunnel in front)';
    throw new PosError('CODPOS_CONFIG_INVALID', line, { details: { problems: [line] } });
  }
  if (loaded.config.api.tcpPort > 0 && loaded.config.api.bearerToken === '') {
    const line = 'api.bearerToken: must be set when api.tcpPort opens the local API on TCP';
    throw new PosError('CODPOS_CONFIG_INVALID', line, { details: { problems: [line] } });
  }
  hostDialect(loaded.config.host);
  // The CA key file is read now, so a bad one fails `config check`, not the first payment.
  if (loaded.config.emv.caKeysFile !== '') kernelTerminal(loaded.config);
  return loaded;
}
