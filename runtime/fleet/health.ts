/**
 * The health message the terminal publishes on t/T/health (retained: the operator's console reads
 * the latest on subscribing): what the status summary shows a technician, in brief — each
 * device's state, the services' and links' health, the spool's depths and its oldest record's
 * age, and the versions (codpos, spool schema, running parameters). It goes at
 * fleet.healthIntervalMs and at once when something the operator watches changes (a device or a
 * link goes or comes back, the spool starts or stops holding records, a record is dead-lettered),
 * but never more often than once per `minGapMs`, so a flapping device cannot flood the broker.
 */
import type { Health } from '../service.js';
import type { StreamStatus } from '../../spool/outbox.js';

export interface FleetHealth {
  at: string;
  terminal: string;
  versions: { codpos: string; schema: number; params: number | null };
  devices: Record<string, { state: string; reason?: string }>;
  /** Every service's health (host, uplink, fleet, ...): the links among them. */
  services: Record<string, Health>;
  spool: {
    depth: number;
    dead: number;
    oldestPendingAgeMs: number | null;
    streams: Record<string, { depth: number; dead: number }>;
  };
}

export interface HealthSources {
  terminal: string;
  codposVersion: string;
  schemaVersion: number;
  /** The running parameter set's version (null: none applied yet). */
  paramsVersion: () => number | null;
  deviceStates: () => Partial<Record<string, { state: string; reason?: string }>>;
  services: () => Record<string, Health>;
  /** The outbox's counts per stream (cheap, indexed: read at every check). */
  spoolStreams: () => StreamStatus[];
}

export function healthSnapshot(sources: HealthSources, now: number): FleetHealth {
  const devices: FleetHealth['devices'] = {};
  for (const [name, state] of Object.entries(sources.deviceStates())) {
    if (state) devices[name] = { state: state.state, ...(state.reason !== undefined ? { reason: state.reason } : {}) };
  }
  const streams = sources.spoolStreams();
  const oldest = streams.reduce<number | null>(
    (min, s) => (s.oldestPendingAt !== null && (min === null || s.oldestPendingAt < min) ? s.oldestPendingAt : min),
    null,
  );
  return {
    at: new Date(now).toISOString(),
    terminal: sources.terminal,
    versions: { codpos: sources.codposVersion, schema: sources.schemaVersion, params: sources.paramsVersion() },
    devices,
    services: sources.services(),
    spool: {
      depth: streams.reduce((sum, s) => sum + s.depth, 0),
      dead: streams.reduce((sum, s) => sum + s.dead, 0),
      oldestPendingAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      streams: Object.fromEntries(streams.map((s) => [s.stream, { depth: s.depth, dead: s.dead }])),
    },
  };
}

/**
 * What makes a health message go at once when it changes: device and service states, whether
 * the spool holds records, whether any is dead, the parameters' version. Not the depth itself
 * or the ages, which move with every payment and every second.
 */
export function healthSignature(health: FleetHealth): string {
  return JSON.stringify([
    Object.entries(health.devices).map(([name, d]) => [name, d.state]),
    Object.entries(health.services).map(([name, h]) => [name, h.state]),
    health.spool.depth > 0,
    health.spool.dead > 0,
    health.versions.params,
  ]);
}

export interface Timers {
  now: () => number;
  setTimeout: (run: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (run, ms) => {
    const timer = setTimeout(run, ms);
    // The health timer alone never keeps the daemon up.
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HealthPublisherOptions {
  intervalMs: number;
  /** The shortest time between two messages (1 s in the daemon). */
  minGapMs?: number;
  timers?: Timers;
}

/**
 * Publishes the health at its interval and when `check()` finds a change. The service calls
 * `check()` on every bus event and link state change, and at `pollMs` for what changes without
 * an event (the uplink emptying the spool).
 */
export class HealthPublisher {
  private readonly minGapMs: number;
  private readonly timers: Timers;
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastSignature: string | undefined;
  private timer: unknown;
  private running = false;
  /** Messages published since start (for tests and the service's stats). */
  published = 0;

  constructor(
    private readonly sources: HealthSources,
    private readonly publish: (health: FleetHealth) => void,
    private readonly options: HealthPublisherOptions,
  ) {
    this.minGapMs = options.minGapMs ?? 1000;
    this.timers = options.timers ?? realTimers;
  }

  start(): void {
    this.running = true;
    this.publishNow();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer();
  }

  /** Publishes at once (or as soon as the minimum gap allows) when what the operator watches changed. */
  check(): void {
    if (!this.running) return;
    if (healthSignature(this.snapshot()) === this.lastSignature) return;
    const wait = this.lastAt + this.minGapMs - this.timers.now();
    if (wait <= 0) this.publishNow();
    else this.schedule(wait);
  }

  private publishNow(): void {
    if (!this.running) return;
    const health = this.snapshot();
    this.lastSignature = healthSignature(health);
    this.lastAt = this.timers.now();
    this.published++;
    this.schedule(this.options.intervalMs);
    this.publish(health);
  }

  private snapshot(): FleetHealth {
    return healthSnapshot(this.sources, this.timers.now());
  }

  /** One timer at a time: the next message, whether it is the interval's or a change's held by the gap. */
  private schedule(ms: number): void {
    this.cancelTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.publishNow();
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
