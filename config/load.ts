/**
 * Reads a config file, applies CODPOS_* environment overrides and validates the
 * result against the schema. Every problem becomes one `path: message` line; the
 * whole set is thrown as one PosError (CODPOS_CONFIG_INVALID) — never a stack trace.
 *
 * Environment overrides: `CODPOS_` + the setting's path, segments joined by `__`,
 * each segment in upper snake case: `devices.printer.baudRate` is
 * `CODPOS_DEVICES__PRINTER__BAUD_RATE`. Values are JSON where they parse as JSON
 * and the setting is not text (`9600`, `true`, `["visa-dda"]`), otherwise text.
 * `CODPOS_CONFIG` names the config file and is not a setting.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import type { core } from 'zod';
import { configSchema, type Config } from './schema.js';
import { PosError } from './errors.js';
import {
  CONFIG_FILE_ENV,
  INSTALLED_CONFIG_PATH,
  isInstalledPackage,
  packageRoot as runningPackageRoot,
  simConfigPath,
} from './paths.js';

export { CONFIG_FILE_ENV } from './paths.js';
const ENV_PREFIX = 'CODPOS_';
/** Variables of ours that are not settings. */
const RESERVED_ENV = new Set([CONFIG_FILE_ENV]);

export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when only defaults and environment were used. */
  file: string | undefined;
}

export interface LoadOptions {
  /** The config file; defaults as `defaultConfigFile` says. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** `codposd --sim`: with no file named, the embedded simulated config even on an install. */
  sim?: boolean;
  /** The package root of the running code (tests pretend to be installed); the real one by default. */
  packageRoot?: string;
}

/** Which config file is read, and why (the reason goes into errors about it). */
export interface ConfigFileChoice {
  file: string;
  from: 'option' | 'env' | 'installed-default' | 'sim-default';
}

/**
 * The config file rule, the same for `codposd` and `codpos config check|show`: the file named
 * (--config), else CODPOS_CONFIG, else /etc/codpos/config.json when the code runs from the
 * installed package (under /usr/lib/codpos), else the embedded simulated config (a source tree,
 * or --sim). An install never falls back to the simulator silently: its missing file is an error.
 */
export function defaultConfigFile(options: {
  file?: string;
  env: NodeJS.ProcessEnv;
  sim?: boolean;
  packageRoot: string;
}): ConfigFileChoice {
  if (options.file !== undefined) return { file: options.file, from: 'option' };
  const fromEnv = options.env[CONFIG_FILE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { file: fromEnv, from: 'env' };
  if (!options.sim && isInstalledPackage(options.packageRoot))
    return { file: INSTALLED_CONFIG_PATH, from: 'installed-default' };
  return { file: simConfigPath, from: 'sim-default' };
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const choice = defaultConfigFile({
    file: options.file,
    env,
    sim: options.sim,
    packageRoot: options.packageRoot ?? runningPackageRoot,
  });
  const input = readConfigFile(choice);
  return { config: validateConfig(input, env, choice.file), file: choice.file };
}

/** A config is a few KiB of JSON; anything near this is not one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Why `stats` is no config file (not a regular file, or over 1 MiB), or undefined when it may be
 * one: reading /dev/zero never ends and a FIFO waits for a writer, which would hang `config check`,
 * the daemon's start and its SIGHUP reload. The one check all three use.
 */
export function configFileProblem(file: string, stats: Stats): string | undefined {
  if (!stats.isFile()) return `${file}: not a regular file (${fileKind(stats)}); a config is a JSON file`;
  if (stats.size > MAX_CONFIG_BYTES)
    return `${file}: ${stats.size} bytes, over the ${MAX_CONFIG_BYTES} bytes (1 MiB) a config may have`;
  return undefined;
}

/**
 * Refuses, before anything reads it, a config that is not a regular file of at most 1 MiB
 * (`configFileProblem`). A file that cannot be stat'ed is left to the loader, which names why.
 */
export function assertReadableConfigFile(file: string | undefined): void {
  if (file === undefined) return; // the embedded simulated config
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch {
    return;
  }
  const problem = configFileProblem(file, stats);
  if (problem !== undefined) throw invalid([problem]);
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * Opens without blocking (O_NONBLOCK: a FIFO with no writer opens at once instead of waiting),
 * then checks what was opened, not what a path named a moment before, and only then reads.
 */
function readConfigText(choice: ConfigFileChoice): string {
  const { file } = choice;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' && choice.from === 'installed-default') {
      throw invalid(
        [
          `${file}: cannot read the file (ENOENT); the installed daemon reads its config there: put the box's config there (docs/install.md), or name one with --config, or run with --sim`,
        ],
        error,
      );
    }
    throw invalid([`${file}: cannot read the file (${code})`], error);
  }
  try {
    const problem = configFileProblem(file, fstatSync(fd));
    if (problem !== undefined) throw invalid([problem]);
    try {
      return readFileSync(fd, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw invalid([`${file}: cannot read the file (${code})`], error);
    }
  } finally {
    closeSync(fd);
  }
}

function readConfigFile(choice: ConfigFileChoice): Record<string, unknown> {
  const { file } = choice;
  const text = readConfigText(choice);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid([`${file}: not valid JSON (${(error as Error).message})`], error);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid([`${file}: expected a JSON object at the top level`]);
  }
  return parsed as Record<string, unknown>;
}

/** Validates an already-parsed config object with environment overrides applied. */
export function validateConfig(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
  source = '(config)',
): Config {
  const merged = structuredClone(input);
  const fromEnv = new Map<string, string>(); // dotted path -> variable name
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.has(name) || value === undefined) continue;
    const path = envNameToPath(name);
    fromEnv.set(path.join('.'), name);
    setPath(merged, path, value);
  }

  let result = configSchema.safeParse(merged, { reportInput: true });
  if (!result.success && fromEnv.size > 0) {
    // Environment values arrive as text; where the schema wanted something else, read them as JSON.
    let retyped = false;
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      if (issue.code === 'invalid_type' && fromEnv.has(key)) {
        const json = tryJson(env[fromEnv.get(key)!]!);
        if (json !== undefined) {
          setPath(merged, issue.path.map(String), json);
          retyped = true;
        }
      }
    }
    if (retyped) result = configSchema.safeParse(merged, { reportInput: true });
  }
  if (result.success) return result.data;
  throw invalid(
    result.error.issues.flatMap((issue) => describeIssue(issue, fromEnv)),
    undefined,
    source,
  );
}

function invalid(problems: string[], cause?: unknown, source?: string): PosError {
  return new PosError('CODPOS_CONFIG_INVALID', problems.join('\n'), {
    cause,
    details: { problems, ...(source ? { source } : {}) },
  });
}

/** One line per problem: `path: message`, naming the environment variable where it came from. */
function describeIssue(issue: core.$ZodIssue, fromEnv: Map<string, string>): string[] {
  const base = issue.path.map(String);
  const where = (path: string[]) => {
    const dotted = path.join('.') || '(top level)';
    const variable = fromEnv.get(path.join('.'));
    return variable ? `${dotted} (from ${variable})` : dotted;
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${where([...base, key])}: unknown setting`);
    case 'invalid_type': {
      const expected = issue.message.startsWith('expected ') ? issue.message : `expected ${article(issue.expected)}`;
      return [`${where(base)}: ${expected}, got ${show(issue.input)}`];
    }
    case 'invalid_value':
      return [
        `${where(base)}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(issue.input)}`,
      ];
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const expected = issue.message
          .replace(/^.*Expected /, '')
          .replace(/'/g, '"')
          .split(' | ')
          .join(', ');
        return [
          `${where(base)}: expected one of ${expected}, got ${show((issue.input as Record<string, unknown> | undefined)?.[String(issue.discriminator)] ?? issue.input)}`,
        ];
      }
      return [`${where(base)}: ${issue.message}`];
    case 'invalid_key': {
      // A record key that fails its own schema: say what the key should have been.
      const inner = issue.issues[0]?.message ?? issue.message;
      return [`${where(base)}: ${lowerFirst(inner)}, got ${show(base[base.length - 1])}`];
    }
    case 'too_small':
    case 'too_big':
      return [`${where(base)}: expected ${describeBound(issue)}, got ${show(issue.input)}`];
    default:
      return [
        `${where(base)}: ${lowerFirst(issue.message)}${'input' in issue && issue.input !== undefined ? `, got ${show(issue.input)}` : ''}`,
      ];
  }
}

function describeBound(issue: core.$ZodIssueTooSmall | core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = String(small ? (issue as core.$ZodIssueTooSmall).minimum : (issue as core.$ZodIssueTooBig).maximum);
  const relation = issue.inclusive === false ? (small ? 'more than' : 'less than') : small ? 'at least' : 'at most';
  const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
  const what =
    issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint' ? 'a number' : `a ${issue.origin}`;
  return `${what} ${relation} ${limit}${unit}`;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `CODPOS_DEVICES__PRINTER__BAUD_RATE` -> ['devices', 'printer', 'baudRate']. */
export function envNameToPath(name: string): string[] {
  return name
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((segment) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
}

/** ['devices', 'printer', 'baudRate'] -> `CODPOS_DEVICES__PRINTER__BAUD_RATE`. */
export function pathToEnvName(path: string[]): string {
  return ENV_PREFIX + path.map((segment) => segment.replace(/([A-Z])/g, '_$1').toUpperCase()).join('__');
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
