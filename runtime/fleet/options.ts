/**
 * How the `fleet` config section (and terminal.id) becomes the fleet link's settings: the
 * password file and TLS files read here, once, at start (relative to data.dir unless absolute, or
 * credential:NAME for systemd's LoadCredential=, as host.tls and psp read theirs).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { PosError } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import { resolveTlsFile } from '../host/channel.js';
import type { FleetLinkSettings } from './link.js';

export type FleetConfig = NonNullable<Config['fleet']>;

/** MQTT topic levels cannot hold these; the terminal id is one level of every topic. */
const NOT_IN_A_TOPIC_LEVEL = /[/+#]/;

function configError(setting: string, problem: string, cause?: unknown): PosError {
  const line = `${setting}: ${problem}`;
  return new PosError('CODPOS_CONFIG_INVALID', line, {
    ...(cause === undefined ? {} : { cause }),
    details: { problems: [line] },
  });
}

function readSetting(setting: string, value: string, dataDir: string, env: NodeJS.ProcessEnv): Buffer {
  const file = resolveTlsFile(setting, value, dataDir, env);
  try {
    return readFileSync(file);
  } catch (error) {
    throw configError(
      setting,
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      error,
    );
  }
}

/**
 * The fleet link's settings from the config; CODPOS_FLEET_DISABLED when there is no fleet section
 * or it is disabled, CODPOS_CONFIG_INVALID naming the setting when a file cannot be read.
 */
export function fleetLinkSettingsFromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): FleetLinkSettings {
  const fleet = config.fleet;
  if (fleet === undefined || !fleet.enabled)
    throw new PosError(
      'CODPOS_FLEET_DISABLED',
      'the fleet link is not configured (no fleet section, or fleet.enabled false)',
    );
  const terminalId = config.terminal.id;
  if (NOT_IN_A_TOPIC_LEVEL.test(terminalId))
    throw configError(
      'terminal.id',
      `${JSON.stringify(terminalId)} cannot be an MQTT topic level (no /, + or #) for the fleet link`,
    );
  const dataDir = config.data.dir;
  const password =
    fleet.passwordFile !== undefined
      ? readSetting('fleet.passwordFile', fleet.passwordFile, dataDir, env)
          .toString('utf8')
          .replace(/\r?\n$/, '')
      : undefined;
  if (password !== undefined && password === '') throw configError('fleet.passwordFile', 'the file is empty');
  const tls = fleet.url.startsWith('mqtts:');
  const host = new URL(fleet.url).hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    url: fleet.url,
    terminalId,
    group: fleet.group,
    topicPrefix: fleet.topicPrefix,
    username: fleet.username ?? terminalId,
    ...(password !== undefined ? { password } : {}),
    ...(tls && fleet.caFile !== undefined ? { ca: readSetting('fleet.caFile', fleet.caFile, dataDir, env) } : {}),
    ...(tls && fleet.certFile !== undefined
      ? { cert: readSetting('fleet.certFile', fleet.certFile, dataDir, env) }
      : {}),
    ...(tls && fleet.keyFile !== undefined ? { key: readSetting('fleet.keyFile', fleet.keyFile, dataDir, env) } : {}),
    // SNI takes a host name, never an address (RFC 6066 3).
    ...(tls && isIP(host) === 0 ? { servername: host } : {}),
    keepaliveSeconds: fleet.keepaliveSeconds,
    sessionExpirySeconds: fleet.sessionExpirySeconds,
    connectTimeoutMs: fleet.connectTimeoutMs,
    reconnectMinMs: fleet.reconnectMinMs,
    reconnectMaxMs: fleet.reconnectMaxMs,
  };
}
