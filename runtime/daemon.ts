/**
 * The daemon's composition root: builds the services from the config in start
 * order and runs them until asked to stop.
 */
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from './log.js';
import { ServiceManager, type Service, type Health } from './service.js';
import { StorageMonitor } from './storage-monitor.js';
import { SpoolService } from '../spool/service.js';
import { DevicesService } from './devices-service.js';
import { HostService } from './host/service.js';

export interface Daemon {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Record<string, Health>;
}

/** Services in start order: storage -> spool -> drivers -> host link -> uplink -> local API. */
export function buildServices(config: Config, log: Logger): Service[] {
  const spool = new SpoolService(config);
  return [
    new StorageMonitor({ dir: resolve(config.data.dir) }, log),
    spool,
    new DevicesService(config.devices, log),
    new HostService(config, log, { spool: () => spool.spool }),
  ];
}

export function createDaemon(config: Config, log: Logger): Daemon {
  const manager = new ServiceManager(buildServices(config, log), log);
  return {
    start: () => manager.startAll(),
    stop: () => manager.stopAll(),
    health: () => manager.health(),
  };
}

/** `--sim`: every device, the acquirer host and the back-end simulated, whatever the file says. */
export function simulateEverything(config: Config): Config {
  const sim = { kind: 'sim' as const };
  const devices = config.devices;
  return {
    ...config,
    devices: {
      scanner: { ...devices.scanner, transport: sim },
      cardReader: { ...devices.cardReader, transport: sim },
      pinpad: { ...devices.pinpad, transport: sim },
      printer: { ...devices.printer, transport: sim },
    },
    host: { ...config.host, mode: 'sim' },
    uplink: { ...config.uplink, mode: 'sim' },
  };
}
