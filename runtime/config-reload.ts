/**
 * What a SIGHUP reload can do with a changed config: which changed settings apply at once and
 * which need a restart. Pure: the running config and the new one in, two lists of dotted key
 * paths out (paths, never values: a changed token or key must not reach the log).
 *
 * Only what a running service can take without being rebuilt applies live: the log level (pino's
 * `logger.level`) and the uplink's token, batch size and intervals (UplinkService.reconfigure).
 * Receipts and limits are read by their services when they start (options copied into drivers and
 * flows), and none of those has a setter yet, so they are honestly listed as needing a restart
 * (docs/install.md), as is everything else.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.js';
import type { Logger } from './log.js';

/** Settings a reload applies to the running daemon. Everything else changed needs a restart. */
export const LIVE_SETTINGS: ReadonlySet<string> = new Set([
  'log.level',
  'uplink.token',
  'uplink.batchSize',
  'uplink.intervalMs',
  'uplink.probeIntervalMs',
  'uplink.probeTimeoutMs',
]);

/** What applyReload acts on: the logger, and the uplink when the daemon runs one. */
export interface ReloadTargets {
  log: Logger;
  uplink?: { reconfigure(next: Config['uplink']): void };
}

export interface ReloadPlan {
  /** Changed settings that apply at once (LIVE_SETTINGS). */
  apply: string[];
  /** Changed settings that the running daemon keeps until it is restarted. */
  restartNeeded: string[];
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const apply: string[] = [];
  const restartNeeded: string[] = [];
  for (const path of changedPaths(running, next, [])) (isLive(path, running, next) ? apply : restartNeeded).push(path);
  return { apply, restartNeeded };
}

function isLive(path: string, running: Config, next: Config): boolean {
  // In sim mode the back-end simulator was started with the token: a new one there would only
  // lock the daemon out of its own simulator until a restart gives both the same.
  if (path === 'uplink.token') return running.uplink.mode === 'http' && next.uplink.mode === 'http';
  return LIVE_SETTINGS.has(path);
}

/**
 * Applies the plan's live settings to the running daemon and returns the config it now runs with:
 * the running one with only those settings taken from the new one (so a later reload still names
 * the changes that wait for a restart).
 */
export function applyReload(plan: ReloadPlan, running: Config, next: Config, targets: ReloadTargets): Config {
  let now = running;
  for (const path of plan.apply) {
    // Every live setting is `section.key`, one level down.
    const [section, key] = path.split('.') as ['log' | 'uplink', string];
    now = { ...now, [section]: { ...now[section], [key]: (next[section] as Record<string, unknown>)[key] } };
  }
  if (plan.apply.includes('log.level')) targets.log.level = now.log.level;
  if (plan.apply.some((path) => path.startsWith('uplink.'))) targets.uplink?.reconfigure(now.uplink);
  return now;
}

/** Leaf paths (`a.b.c`) whose values differ; arrays compare whole (a list is one setting). */
function changedPaths(a: unknown, b: unknown, at: string[]): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => changedPaths(a[key], b[key], [...at, key]));
  }
  return isDeepStrictEqual(a, b) ? [] : [at.join('.') || '(config)'];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
