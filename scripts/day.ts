#!/usr/bin/env node
/**
 * `npm start [-- --once] [-- --dir DIR]`: a courier's day on the simulated terminal, played
 * through the daemon's local API as the screen app would play it (scripts/day/player.ts).
 * The daemon runs in this process on a fresh data directory (default ./var/day), every device
 * and the acquirer simulated, against a back-end simulator this script runs (so it can take it
 * away for a while); the daemon's JSON logs go to codposd.log in the data directory, and this
 * prints one line per step and a summary. Then the daemon stays up for a look (the status
 * page, `codpos status`, `codpos events` with CODPOS_DATA_DIR set to the directory) until Ctrl-C;
 * `--once` exits after the summary: 0 when everything reconciled, 1 when not.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { validateConfig } from '../config/load.js';
import { packageRoot } from '../config/paths.js';
import { createLogger } from '../runtime/log.js';
import { createDaemon, simulateEverything } from '../runtime/daemon.js';
import { apiSocketPath } from '../runtime/api/server.js';
import { BackendSimulator } from '../runtime/uplink/simulator.js';
import { DaemonApi, EventFollower } from './day/api.js';
import { dayTaskList } from './day/plan.js';
import { outageMidRound, playDay } from './day/player.js';

async function main(argv: string[]): Promise<number> {
  const once = argv.includes('--once');
  const dirAt = argv.indexOf('--dir');
  const dir = resolve(dirAt >= 0 && argv[dirAt + 1] ? argv[dirAt + 1]! : 'var/day');
  // Each day starts from an empty terminal: the last day's spool, logs and receipts go.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const print = (line: string) => process.stdout.write(`${line}\n`);

  const backend = new BackendSimulator({ taskList: dayTaskList(), basePath: '/api/v1' });
  const { url } = await backend.start();
  const tcpPort = await freePort();
  const token = randomBytes(16).toString('hex');
  const base = simulateEverything(
    validateConfig({
      data: { dir },
      api: { tcpPort, bearerToken: token },
      emv: { cardWaitMs: 30_000 },
      log: { level: 'info' },
    }),
  );
  const config = { ...base, uplink: { ...base.uplink, mode: 'http' as const, url } };
  const logFile = join(dir, 'codposd.log');
  const log = createLogger({ level: config.log.level, destination: pino.destination({ dest: logFile, sync: true }) });
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const daemon = createDaemon(config, log, version);
  print(`codpos ${version}: a courier's day on the simulated terminal (data ${dir}, daemon log ${logFile})`);
  await daemon.start();
  const socket = apiSocketPath(config);
  const events = new EventFollower(socket);
  let code: number;
  try {
    const summary = await playDay(new DaemonApi(socket), events, outageMidRound(backend), dir, print);
    print('');
    print('The day:');
    print(`  ${summary.deliveries} deliveries, ${summary.pickups} pickups, ${summary.exceptions} exceptions`);
    print(
      `  card USD ${(summary.card.amount / 100).toFixed(2)} (${summary.card.count}), cash USD ${(summary.cash.amount / 100).toFixed(2)} (${summary.cash.count})`,
    );
    print(`  ${summary.settlement}`);
    print(
      `  reconciliation: ${summary.reconciled ? 'every COD waybill reconciled' : `NOT reconciled: ${summary.problems.join('; ')}`}`,
    );
    print(`  handover: ${summary.handover}`);
    print(`  receipts: ${summary.receipts.length} files in ${join(dir, 'receipts')}`);
    print(`  signatures: ${summary.signatures.join(', ')}`);
    print(`  status page: http://127.0.0.1:${tcpPort}/status?token=${token}`);
    code = summary.reconciled ? 0 : 1;
  } catch (error) {
    print(`the day stopped: ${(error as Error).message} (the daemon's log: ${logFile})`);
    code = 1;
  }
  if (!once) {
    print(`The terminal stays up (socket ${socket}); Ctrl-C stops it.`);
    await new Promise<void>((resolveStop) => {
      process.once('SIGINT', () => resolveStop());
      process.once('SIGTERM', () => resolveStop());
    });
  }
  events.close();
  await daemon.stop();
  await backend.stop();
  return code;
}

/** A loopback port nobody listens on now (for the API's TCP side and the status page). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

process.exit(await main(process.argv.slice(2)));
