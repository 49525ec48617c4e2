/**
 * `GET /metrics`: the daemon measured from outside, in the Prometheus text format (0.0.4), for a
 * fleet's Prometheus or a technician's curl (docs/api.md lists each metric):
 *
 *   codpos_device_up{device}                          1 online, 0 not
 *   codpos_link_state{link,state}                     host and uplink health, 1 for the state it is in
 *   codpos_spool_depth{stream}                        records still to forward
 *   codpos_spool_oldest_pending_age_seconds{stream}   age of the oldest of them (0: none)
 *   codpos_uplink_lag_seconds                         age of the oldest record waiting for the back-end
 *   codpos_uplink_records_sent_total{stream}          records the back-end took, since start
 *   codpos_payments_total{outcome}                    card payments ended, by outcome
 *   codpos_host_round_trip_seconds{mti}               request leaving to answer arriving (histogram)
 *   codpos_host_timeouts_total{mti}                   requests that left and got no answer in time
 *   codpos_event_loop_delay_seconds{quantile}         how late the event loop ran, since the last scrape
 *
 * The registry is this daemon's own, not prom-client's global one, so daemons in one process (the
 * tests) do not share figures. Every label takes its values from a fixed set (device names, the
 * spool's streams, outcomes, the MTIs the client sends): a waybill, a PAN or a reason is never a
 * label, so the series are bounded whatever the day brings. Gauges are read from their sources
 * when scraped (the spool's per-stream counts: indexed queries, no scan); counters follow the
 * event bus and the host link's exchanges as they happen.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Health, HealthState } from '../service.js';
import type { HostExchangeObserver } from '../host/mux.js';
import type { StreamStatus } from '../../spool/outbox.js';
import { EventLoopDelay } from './event-loop-delay.js';
import type { EventBus } from './events.js';
import type { ApiRoutes } from './server.js';
import { RawAnswer } from './raw-answer.js';

/** What the metrics read from the daemon (runtime/daemon.ts wires them). */
export interface MetricsSources {
  deviceStates(): Partial<Record<string, { state: string }>>;
  /** Every service's health; the host's and the uplink's are read. */
  health(): Record<string, Health>;
  /** The spool's outbox, per stream. */
  spoolStreams(): StreamStatus[];
  /** The streams that go to the back-end (the uplink's lag and records sent). */
  uplinkStreams: readonly string[];
  /** The host link's exchanges (absent: no round trips are measured). */
  hostExchanges?: (observer: HostExchangeObserver) => () => void;
  now?: () => number;
}

/** The outcomes a card payment ends with (runtime/payment/card-payment.ts; `use-chip` only asks for the chip and goes on). */
export const PAYMENT_OUTCOMES = ['approved', 'declined', 'cancelled', 'failed'] as const;
const LINK_STATES: readonly HealthState[] = ['starting', 'up', 'degraded', 'down', 'stopped'];
/** From a LAN acquirer's tenth of a second to a mobile link's worst seconds; the host time-out is 30 s at most. */
const ROUND_TRIP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30];

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly payments: Counter<'outcome'>;
  private readonly roundTrip: Histogram<'mti'>;
  private readonly timeouts: Counter<'mti'>;
  private readonly recordsSent: Counter<'stream'>;
  /** The outbox's forwarded count per stream at the last scrape: records sent is what it grew by since. */
  private readonly forwardedSeen = new Map<string, number>();
  /** The outbox per stream, read once per scrape for the spool gauges, the uplink lag and records sent. */
  private streams: StreamStatus[] = [];
  /** Sampled from the first scrape on; each scrape reports the figures since the one before. */
  private readonly eventLoop = new EventLoopDelay();
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly events: EventBus,
    private readonly sources: MetricsSources,
  ) {
    const registers = [this.registry];
    // The gauges' collect functions get the gauge as `this`; the daemon's figures through this name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- collect() has the gauge as `this`
    const metrics = this;
    const now = sources.now ?? Date.now;
    new Gauge({
      name: 'codpos_device_up',
      help: 'Whether the device link is online (1) or not (0).',
      labelNames: ['device'],
      registers,
      collect() {
        this.reset();
        for (const [device, state] of Object.entries(sources.deviceStates()))
          this.set({ device }, state?.state === 'online' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'codpos_link_state',
      help: 'Health of the acquirer (host) and back-end (uplink) links: 1 for the state the link is in, 0 for the others.',
      labelNames: ['link', 'state'],
      registers,
      collect() {
        this.reset();
        const health = sources.health();
        for (const link of ['host', 'uplink']) {
          const current = health[link]?.state;
          if (current === undefined) continue;
          for (const state of LINK_STATES) this.set({ link, state }, state === current ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'codpos_spool_depth',
      help: 'Records in the spool still to forward (ready, waiting for a retry, or on their way), per stream.',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const stream of metrics.streams) this.set({ stream: stream.stream }, stream.depth);
      },
    });
    new Gauge({
      name: 'codpos_spool_oldest_pending_age_seconds',
      help: 'Age in seconds of the oldest record still to forward, per stream (0 when none waits).',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const stream of metrics.streams)
          this.set({ stream: stream.stream }, ageSeconds(stream.oldestPendingAt, now()));
      },
    });
    new Gauge({
      name: 'codpos_uplink_lag_seconds',
      help: 'Age in seconds of the oldest record waiting to go to the back-end (0 when none waits).',
      registers,
      collect() {
        const oldest = metrics.streams
          .filter((s) => sources.uplinkStreams.includes(s.stream) && s.oldestPendingAt !== null)
          .map((s) => s.oldestPendingAt!);
        this.set(oldest.length === 0 ? 0 : ageSeconds(Math.min(...oldest), now()));
      },
    });
    this.recordsSent = new Counter({
      name: 'codpos_uplink_records_sent_total',
      help: 'Records the back-end took since the daemon started, per stream.',
      labelNames: ['stream'],
      registers,
    });
    this.payments = new Counter({
      name: 'codpos_payments_total',
      help: 'Card payments ended since the daemon started, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of PAYMENT_OUTCOMES) this.payments.inc({ outcome }, 0);
    this.roundTrip = new Histogram({
      name: 'codpos_host_round_trip_seconds',
      help: 'Time from a request leaving for the acquirer to its answer arriving, by request MTI.',
      labelNames: ['mti'],
      buckets: ROUND_TRIP_BUCKETS,
      registers,
    });
    this.timeouts = new Counter({
      name: 'codpos_host_timeouts_total',
      help: 'Requests that left for the acquirer and got no answer in time, by request MTI.',
      labelNames: ['mti'],
      registers,
    });
    new Gauge({
      name: 'codpos_event_loop_delay_seconds',
      help: 'How late the event loop ran a timer due every 10 ms, since the previous scrape (quantile 1 is the maximum).',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.reset();
        const figures = metrics.eventLoop.read();
        metrics.eventLoop.reset();
        if (figures.samples === 0) return;
        this.set({ quantile: '0.5' }, figures.p50Ms! / 1000);
        this.set({ quantile: '0.99' }, figures.p99Ms! / 1000);
        this.set({ quantile: '1' }, figures.maxMs! / 1000);
      },
    });
  }

  /** Begins counting: payments from the event bus, round trips from the host link. */
  start(): void {
    for (const stream of readOrNone(() => this.sources.spoolStreams()))
      this.forwardedSeen.set(stream.stream, stream.forwarded);
    const outcomes: readonly string[] = PAYMENT_OUTCOMES;
    this.detach.push(
      this.events.subscribe((event) => {
        const outcome = event.type.startsWith('payment.') ? event.type.slice('payment.'.length) : undefined;
        if (outcome !== undefined && outcomes.includes(outcome)) this.payments.inc({ outcome });
      }),
    );
    const observe = this.sources.hostExchanges;
    if (!observe) return;
    try {
      this.detach.push(
        observe((exchange) => {
          if (exchange.result === 'answered')
            this.roundTrip.observe({ mti: exchange.requestMti }, exchange.roundTripMs / 1000);
          else this.timeouts.inc({ mti: exchange.requestMti });
        }),
      );
    } catch {
      // No host link to watch (it did not start): the round-trip series stay empty, the rest is measured.
    }
  }

  stop(): void {
    for (const detach of this.detach.splice(0)) detach();
    this.eventLoop.stop();
  }

  /** The exposition text, read now. */
  scrape(): Promise<string> {
    this.streams = readOrNone(() => this.sources.spoolStreams());
    this.countSent(this.streams);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Records sent is what the outbox's forwarded count grew by since the last scrape. The
   * retention purge deletes forwarded records days old: a scrape after it counts what went
   * since, never less than 0 (a counter only grows).
   */
  private countSent(streams: StreamStatus[]): void {
    for (const stream of streams) {
      if (!this.sources.uplinkStreams.includes(stream.stream)) continue;
      const seen = this.forwardedSeen.get(stream.stream) ?? 0;
      this.recordsSent.inc({ stream: stream.stream }, Math.max(0, stream.forwarded - seen));
      this.forwardedSeen.set(stream.stream, stream.forwarded);
    }
  }
}

/** `GET /metrics` when the daemon has metrics (absent: no such path). */
export function metricsRoutes(metrics: DaemonMetrics | undefined): ApiRoutes {
  if (!metrics) return {};
  return {
    '/metrics': {
      GET: {
        summary:
          'the daemon measured, in the Prometheus text format: devices, links, spool, payments, host round trips, uplink, event loop',
        handler: async () =>
          new RawAnswer(metrics.contentType, await metrics.scrape(), { 'Cache-Control': 'no-store' }),
      },
    },
  };
}

/** A source that cannot be read (the spool not open yet, or failing) gives no series rather than a failed scrape. */
function readOrNone<T>(read: () => T[]): T[] {
  try {
    return read();
  } catch {
    return [];
  }
}

function ageSeconds(since: number | null, now: number): number {
  return since === null ? 0 : Math.max(0, now - since) / 1000;
}
