/**
 * The technician's view of the daemon process itself (docs/api.md), for `npm run bench -- daemon`
 * and for a box that seems slow or fat in the field:
 *
 *   GET  /v1/diagnostics/process            memory, CPU time, event-loop delay, uptime
 *                                           (?gc=1: after a full collection, when node runs with --expose-gc)
 *   POST /v1/diagnostics/event-loop/reset   the event-loop delay percentiles start again from now
 *   POST /v1/diagnostics/log-level          {level}: the daemon's log level from now on, no file edit
 *
 * The event-loop delay is sampled only from the first diagnostics request on: the sampler wakes
 * the process every EVENT_LOOP_RESOLUTION_MS (event-loop-delay.ts), and a box no one diagnoses should not pay for that.
 * The histogram belongs to the process (there is one event loop), not to one API server.
 */
import { PosError } from '../../config/errors.js';
import type { ApiRoutes } from './server.js';
import { EventLoopDelay } from './event-loop-delay.js';
import type { Logger } from '../log.js';
import { z } from 'zod';

export interface ProcessDiagnostics {
  pid: number;
  uptimeMs: number;
  /** True when a full garbage collection ran just before the figures were read (?gc=1). */
  collected: boolean;
  memory: {
    rssBytes: number;
    heapUsedBytes: number;
    heapTotalBytes: number;
    externalBytes: number;
    arrayBuffersBytes: number;
  };
  /** CPU time of the whole process since it started (process.cpuUsage). */
  cpu: { userMicros: number; systemMicros: number };
  /**
   * How late the event loop ran a timer due every EVENT_LOOP_RESOLUTION_MS, since `since` (the first
   * diagnostics request or the last reset); the figures are null until a sample was taken.
   */
  eventLoopDelay: {
    since: string;
    samples: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    meanMs: number | null;
  };
}

/** The process's event-loop delay (there is one event loop), sampled from the first diagnostics request on. */
const eventLoopDelay = new EventLoopDelay();

const PROCESS_QUERY = z.object({
  gc: z
    .enum(['0', '1'], { error: 'expected 1 (collect garbage first) or 0' })
    .optional()
    .meta({ description: '1: a full garbage collection first (the daemon must run with node --expose-gc)' }),
});

const LOG_LEVEL_BODY = z.object({
  level: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .meta({ description: "the daemon's log level from now on (as log.level in the config)", examples: ['debug'] }),
});

/**
 * The log level set at run time: until the next reload (SIGHUP) that changes log.level in the
 * file, or a restart. Only with the daemon's logger (`log`) is the route there.
 */
function logLevelRoutes(log: Logger): ApiRoutes {
  return {
    '/v1/diagnostics/log-level': {
      POST: {
        summary:
          "sets the daemon's log level at once, without editing the config (until a reload that changes log.level, or a restart)",
        body: LOG_LEVEL_BODY,
        refusal: 'CODPOS_USAGE_LOG_LEVEL',
        handler: async (body) => {
          const { level } = body as z.infer<typeof LOG_LEVEL_BODY>;
          const previous = log.level;
          log.level = level;
          // Said at warn, so the change is in the journal whatever the new level lets through.
          log.warn({ previous, logLevel: level }, 'log level set through the local API');
          return { level, previous };
        },
      },
    },
  };
}

export function diagnosticsRoutes(options: { log?: Logger } = {}): ApiRoutes {
  return {
    ...(options.log ? logLevelRoutes(options.log) : {}),
    '/v1/diagnostics/process': {
      GET: {
        summary:
          'the daemon process: memory, CPU time, event-loop delay since the last reset, uptime; ?gc=1 after a full collection',
        query: PROCESS_QUERY,
        handler: async (_body, request) => processDiagnostics(request.query.get('gc') === '1'),
      },
    },
    '/v1/diagnostics/event-loop/reset': {
      POST: {
        summary: 'starts the event-loop delay percentiles again from now',
        handler: async () => {
          eventLoopDelay.reset();
          return { since: eventLoopDelay.since.toISOString() };
        },
      },
    },
  };
}

/** The figures now; with `collect`, after a full garbage collection, so heap used is what is live. */
export function processDiagnostics(collect: boolean): ProcessDiagnostics {
  const eventLoop = eventLoopDelay.read();
  if (collect) {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) {
      throw new PosError(
        'CODPOS_USAGE_GC_NOT_EXPOSED',
        'gc=1: this daemon cannot collect garbage on request; start it as node --expose-gc codposd.js to read the heap after a collection',
      );
    }
    gc();
  }
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    pid: process.pid,
    uptimeMs: Math.round(process.uptime() * 1000),
    collected: collect,
    memory: {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      arrayBuffersBytes: memory.arrayBuffers,
    },
    cpu: { userMicros: cpu.user, systemMicros: cpu.system },
    eventLoopDelay: { since: eventLoopDelay.since.toISOString(), ...eventLoop },
  };
}
