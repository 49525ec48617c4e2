/**
 * One lifecycle for every part of the daemon: start, stop, health. The manager
 * starts services in the order given (config -> spool -> drivers, host link and
 * uplink together -> payments -> local API) and stops them in reverse, so nothing
 * stops while a later service still depends on it. A stage given as a list starts
 * its services at once: they depend on what came before, not on each other, and
 * the box is ready sooner when the acquirer link and the devices open side by side.
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

/** One service, or services that start together (each depends only on earlier stages). */
export type ServiceStage = Service | readonly Service[];

export class ServiceManager {
  private readonly started: Service[] = [];
  private readonly services: readonly Service[];

  constructor(
    private readonly stages: readonly ServiceStage[],
    private readonly log: Logger,
  ) {
    this.services = stages.flat();
  }

  async startAll(): Promise<void> {
    for (const stage of this.stages) {
      const services: readonly Service[] = Array.isArray(stage) ? stage : [stage as Service];
      const results = await Promise.allSettled(services.map((service) => this.startOne(service)));
      const failure = results.findIndex((r) => r.status === 'rejected');
      if (failure === -1) continue;
      // Every service of the stage has settled, so what did start is in `started` and stops too.
      const service = services[failure]!;
      const error = (results[failure] as PromiseRejectedResult).reason as unknown;
      this.log.error({ service: service.name, err: error }, 'service failed to start');
      await this.stopAll();
      if (error instanceof PosError) throw error;
      throw new PosError('CODPOS_DAEMON_START_FAILED', `${service.name} failed to start: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private async startOne(service: Service): Promise<void> {
    const began = performance.now();
    await service.start();
    this.started.push(service);
    this.log.debug({ service: service.name, ms: Math.round(performance.now() - began) }, 'service started');
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
    return Object.fromEntries(
      this.services.map((s) => [s.name, this.started.includes(s) ? s.health() : { state: 'stopped' as const }]),
    );
  }
}
