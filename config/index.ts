export { configSchema, type Config, type ConfigInput } from './schema.js';
export {
  loadConfig,
  validateConfig,
  envNameToPath,
  pathToEnvName,
  CONFIG_FILE_ENV,
  type LoadedConfig,
} from './load.js';
export { PosError, isPosError, exitCodeFor, ERROR_AREAS, type ErrorArea, type ErrorCode } from './errors.js';
export { packageRoot, simConfigPath, inDataDir } from './paths.js';
