/**
 * The event loop's delay as the diagnostics and /metrics routes report it: Node's
 * monitorEventLoopDelay histogram, sampled every EVENT_LOOP_RESOLUTION_MS, started only when
 * first asked for (the sampler wakes the process at that rate, and a box no one measures should
 * not pay for it). Each route keeps its own: the diagnostics one per process, reset on request;
 * the metrics one per daemon, reset at each scrape.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** How often the sampler looks at the event loop: fine enough for a p99 target of 20 ms. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/** The figures since the sampler started or was last reset, in milliseconds (null before any sample). */
export interface EventLoopFigures {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
}

export class EventLoopDelay {
  private histogram: IntervalHistogram | undefined;
  /** When the figures began: the first read, or the last reset. */
  since = new Date();

  /** The figures now, starting the sampler at the first call (which then has none). */
  read(): EventLoopFigures {
    const histogram = this.sampling();
    const sampled = histogram.count > 0;
    // The histogram holds the time between two samples, the resolution included: the delay is what is over it.
    const ms = (nanoseconds: number) => (sampled ? Math.max(0, nanoseconds / 1e6 - EVENT_LOOP_RESOLUTION_MS) : null);
    return {
      samples: histogram.count,
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      meanMs: ms(histogram.mean),
    };
  }

  /** The figures start again from now (the sampler started if it was not). */
  reset(): void {
    this.sampling().reset();
    this.since = new Date();
  }

  private sampling(): IntervalHistogram {
    if (this.histogram === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
      this.histogram.enable();
      this.since = new Date();
    }
    return this.histogram;
  }

  /** Stops sampling; the next read starts again. */
  stop(): void {
    this.histogram?.disable();
    this.histogram = undefined;
  }
}
