/**
 * What a SIGHUP reload can do with a changed config: which changed settings apply at once and
 * which need a restart. Pure: the running config and the new one in, two lists of dotted key
 * paths out (paths, never values: a changed token or key must not reach the log).
 *
 * Only what a running service can take without being rebuilt applies live. Today that is the log
 * level (pino's `logger.level`). The uplink interval and token, receipts and limits are read by
 * their services when they start (timers set, clients built, options copied), and none of those
 * services has a setter yet, so they are honestly listed as needing a restart (docs/install.md).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.js';
import type { Logger } from './log.js';

/** Settings a reload applies to the running daemon. Everything else changed needs a restart. */
export const LIVE_SETTINGS: ReadonlySet<string> = new Set(['log.level']);

export interface ReloadPlan {
  /** Changed settings that apply at once (LIVE_SETTINGS). */
  apply: string[];
  /** Changed settings that the running daemon keeps until it is restarted. */
  restartNeeded: string[];
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const apply: string[] = [];
  const restartNeeded: string[] = [];
  for (const path of changedPaths(running, next, [])) (LIVE_SETTINGS.has(path) ? apply : restartNeeded).push(path);
  return { apply, restartNeeded };
}

/**
 * Applies the plan's live settings to the running daemon and returns the config it now runs with:
 * the running one with only those settings taken from the new one (so a later reload still names
 * the changes that wait for a restart).
 */
export function applyReload(plan: ReloadPlan, running: Config, next: Config, targets: { log: Logger }): Config {
  let now = running;
  for (const path of plan.apply) {
    if (path === 'log.level') {
      targets.log.level = next.log.level;
      now = { ...now, log: { ...now.log, level: next.log.level } };
    }
  }
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
