#!/usr/bin/env node
/**
 * `codposd [--config FILE] [--sim]`: the daemon. Takes the data directory's single-instance
 * lock, starts the services in order, logs `ready`, re-reads its config on SIGHUP, and on
 * SIGTERM/SIGINT stops them in reverse within the stop budget.
 * A bad config exits 2 with the same lines as `codpos config check`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../config/paths.js';
import { loadCheckedConfig } from '../runtime/config-check.js';
import { ERROR_AREAS } from '../config/errors.js';
import { createLogger } from '../runtime/log.js';
import { createDaemon, simulateEverything } from '../runtime/daemon.js';
import { createSystemdNotifier, type SystemdNotifier } from '../runtime/systemd-notify.js';
import { acquireInstanceLock, type InstanceLock } from '../runtime/instance-lock.js';
import { applyReload, planReload, type ReloadTargets } from '../runtime/config-reload.js';
import type { Config } from '../config/schema.js';
import type { LoadedConfig } from '../config/load.js';
import { reportError } from './cli/output.js';

/** SIGTERM to exit; systemd's default TimeoutStopSec is far longer, our promise is 2 s. */
const STOP_BUDGET_MS = 1800;

/** How often the STATUS= line `systemctl status` shows is refreshed while running. */
const STATUS_REFRESH_MS = 5000;

const USAGE = `Usage: codposd [options]

codpos daemon: devices, courier workflow, payments, spool

Options:
  -c, --config <file>  config file (default: CODPOS_CONFIG, else /etc/codpos/config.json when
                       installed, else the embedded simulated config)
  --sim                simulate every device, the acquirer host and the back-end
  -h, --help           display help for command

Signals: SIGHUP re-reads the config (the log level applies at once; other changes are logged
as needing a restart), SIGTERM and SIGINT stop the daemon.
`;

/**
 * Two options: node's own parseArgs, not commander (the CLI's), whose loading and set-up were
 * 10 ms of a boot that has 400 ms in all.
 */
function parseOptions(argv: string[]): { config?: string; sim?: boolean; help?: boolean } | number {
  try {
    return parseArgs({
      args: argv.slice(2),
      options: {
        config: { type: 'string', short: 'c' },
        sim: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n(run with --help for usage)\n`);
    return ERROR_AREAS.USAGE.exitCode;
  }
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (typeof opts === 'number') return opts;
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  // The same file again on SIGHUP, by the same rule (config/load.ts defaultConfigFile).
  const readConfig = (): LoadedConfig => {
    const loaded = loadCheckedConfig({ file: opts.config, sim: opts.sim });
    return opts.sim ? { ...loaded, config: simulateEverything(loaded.config) } : loaded;
  };
  let config: Config;
  let lock: InstanceLock;
  try {
    config = readConfig().config;
    // First, before any device, link or spool is opened: a second daemon stops here.
    lock = acquireInstanceLock(config.data.dir);
  } catch (error) {
    return reportError(error);
  }

  const log = createLogger({ level: config.log.level });
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const daemon = createDaemon(config, log, version);
  const began = performance.now();
  try {
    await daemon.start();
  } catch (error) {
    log.fatal({ err: error }, 'start failed');
    return reportError(error);
  }
  // Under systemd (Type=notify): READY=1 once ready, heartbeats from the event loop, a fresh
  // STATUS= line every few seconds. Run by hand there is no NOTIFY_SOCKET and all of this does nothing.
  const systemd = createSystemdNotifier({ log });
  let statusTimer: NodeJS.Timeout | undefined;

  // Before `ready` is said: a stop asked for the moment the daemon says it is ready (systemd, a
  // test, the build's code-cache run) must find the handler, not Node's default of dying at once.
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    clearInterval(statusTimer);
    systemd.stopping(`stopping (${signal})`);
    systemd.close();
    const watchdog = setTimeout(() => {
      log.error({ budgetMs: STOP_BUDGET_MS }, 'services did not stop in time; exiting anyway');
      resolveExit(1);
    }, STOP_BUDGET_MS);
    watchdog.unref();
    void daemon.stop().then(() => {
      clearTimeout(watchdog);
      log.info('stopped');
      lock.release();
      resolveExit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // ms: since the process started (performance's time origin), so Node's own start and the
  // module loading count, as they do for a courier waiting at a box that has just booted.
  log.info(
    {
      ms: Math.round(performance.now()),
      startMs: Math.round(performance.now() - began),
      terminal: config.terminal.id,
      sim: Boolean(opts.sim),
    },
    'ready',
  );
  systemd.ready(daemon.statusLine());
  systemd.startWatchdog();
  if (systemd.enabled) {
    statusTimer = setInterval(() => systemd.status(daemon.statusLine()), STATUS_REFRESH_MS);
    statusTimer.unref();
  }

  let running = config;
  process.on('SIGHUP', () => {
    running = reloadConfig(running, readConfig, daemon.reloadTargets(), systemd, () => daemon.statusLine());
  });
  return exited;
}

/**
 * SIGHUP: the config file read and checked again. What can change at run time is applied (the
 * log level), each other changed setting is logged as needing a restart, and a file that does not
 * load changes nothing: the error is logged with its code and problems, the daemon runs on.
 * Returns the config the daemon now runs with.
 */
function reloadConfig(
  running: Config,
  readConfig: () => LoadedConfig,
  targets: ReloadTargets,
  systemd: SystemdNotifier,
  statusLine: () => string,
): Config {
  const log = targets.log;
  systemd.reloading('reloading the config');
  let now = running;
  try {
    const { config: next, file } = readConfig();
    const plan = planReload(running, next);
    now = applyReload(plan, running, next, targets);
    // At the new level: after a change to debug, this is its first line.
    log.debug({ file }, 'config re-read');
    for (const key of plan.restartNeeded) log.warn({ setting: key }, 'config change needs a restart to apply');
    log.info({ applied: plan.apply, restartNeeded: plan.restartNeeded, logLevel: log.level }, 'config reloaded');
  } catch (error) {
    const { code, details } = error as { code?: unknown; details?: { problems?: unknown } };
    log.error({ err: error, code, problems: details?.problems }, 'config reload failed; the running config is kept');
  }
  systemd.ready(statusLine());
  return now;
}

// Not a top-level await: the bundle is CommonJS (scripts/build/bundle.ts says why).
void main(process.argv).then((code) => process.exit(code));
