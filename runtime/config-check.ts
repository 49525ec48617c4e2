/**
 * Loading a config as the daemon uses it: the schema (config/load.ts), then the checks
 * that need the parts the config names — the host's ISO 8583 dialect with its field
 * overrides. `codposd` and `codpos config check|show` both go through here, so a config
 * that passes the check starts the daemon.
 */
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { hostDialect } from './host/dialect.js';

export function loadCheckedConfig(options: LoadOptions = {}): LoadedConfig {
  const loaded = loadConfig(options);
  hostDialect(loaded.config.host);
  return loaded;
}
