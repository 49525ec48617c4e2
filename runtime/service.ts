/**
 * One lifecycle for every part of the daemon: start, stop, health. The manager
 * starts services in the order given (config -> spool -> drivers -> host link ->
 * uplink -> local API) and stops them in reverse, so nothing stops while a later
 * service still depends on it.
 */
import type { Logger } from './log.js';
import { PosError } from '../config/errors.js';

export type HealthState = 'starting' | 'up' | 'degraded' | 'down' | 'stopped';

export interface Health {
  state: HealthState;
  /** Why the service is degraded or down, in words a technician can act on. */
  reason?: string;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Finishes the work in hand (the record being written) and releases resources. */
  stop(): Promise<void>;
  health(): Health;
}

export class ServiceManager {
  private readonly started: Service[] = [];

  constructor(
    private readonly services: readonly Service[],
    private readonly log: Logger,
  ) {}

  async startAll(): Promise<void> {
    for (const service of this.services) {
      const began = performance.now();
      try {
        await service.start();
      } catch (error) {
        this.log.error({ service: service.name, err: error }, 'service failed to start');
        await this.stopAll();
        if (error instanceof PosError) throw error;
        throw new PosError('CODPOS_DAEMON_START_FAILED', `${service.name} failed to start: ${(error as Error).message}`, { cause: error });
      }
      this.started.push(service);
      this.log.debug({ service: service.name, ms: Math.round(performance.now() - began) }, 'service started');
    }
  }

  /** Stops what was started, in reverse order; one service failing to stop does not keep the others up. */
  async stopAll(): Promise<void> {
    while (this.started.length > 0) {
      const service = this.started.pop()!;
      try {
        await service.stop();
        this.log.debug({ service: service.name }, 'service stopped');
      } catch (error) {
        this.log.error({ service: service.name, err: error }, 'service failed to stop cleanly');
      }
    }
  }

  health(): Record<string, Health> {
    return Object.fromEntries(this.services.map((s) => [s.name, this.started.includes(s) ? s.health() : { state: 'stopped' as const }]));
  }
}
