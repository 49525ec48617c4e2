/**
 * `npm run bench -- daemon [--payments N] [--outage-s S] [--spawns N]`: the daemon as a whole,
 * a real `codposd --sim` process (daemon-process.ts) measured from outside through its local API:
 *
 * - spawn to the `ready` line, the median of --spawns starts, each in a fresh data directory;
 *   the resident set (and its anonymous part: the rest is the node binary's own pages) ~1 s later;
 * - on one daemon: 500 warm-up chip payments, then --payments more, each timed; the resident set
 *   after them, the heap after a forced collection before and after them (growth per payment),
 *   and the whole process's CPU time per payment;
 * - the event-loop delay while 32 clients post waybill events for a few seconds;
 * - the back-end away (POST /v1/sim/backend) for --outage-s seconds while 10,000 waybill events
 *   are spooled, then back: the time until the uplink has had all of them acknowledged.
 *
 * No peer: each row's note names its target (README, "What the box needs").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { median, type BenchOptions, type BenchResult } from './harness.js';
import { customerTypesPin, payByChipThroughApi, procStatusMb, startBenchDaemon } from './daemon-process.js';
import type { DaemonApi } from '../day/api.js';
import type { ProcessDiagnostics } from '../../runtime/api/diagnostics-routes.js';

/**
 * Payments before the heap is first read. V8 goes on optimizing functions for the first few hundred
 * payments (measured: 2.0 KB of heap a payment over the next 1,000 after 300 warm-up payments, of
 * which 1.7 KB compiled code and deoptimization data; 0.7 KB after 1,200): the row is to catch
 * what the daemon keeps, not the compiler settling.
 */
const WARM_UP_PAYMENTS = 500;
const LOAD_CLIENTS = 32;
const LOAD_MS = 5000;
const OUTAGE_EVENTS = 10_000;
/** How long after `ready` the resident set is read: the start's last allocations settled. */
const SETTLE_MS = 1000;
/** How often the spool's depth is read while the uplink drains: the drain figure's resolution. */
const DRAIN_POLL_MS = 50;
const WAYBILL_STREAM = 'waybill-event';

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const { payments, outageS, spawns } = options.daemon;
  const rows: BenchResult[] = [];
  const progress = (text: string) => process.stderr.write(`daemon bench: ${text}\n`);

  progress(`${spawns} starts`);
  const readyTimes: number[] = [];
  const rss: number[] = [];
  const rssAnon: number[] = [];
  for (let i = 0; i < spawns; i++) {
    // As a box starts it: no --expose-gc (which would also make V8 refuse the code cache).
    const started = await startBenchDaemon({ exposeGc: false });
    try {
      readyTimes.push(started.readyMs);
      await sleep(SETTLE_MS);
      rss.push(procStatusMb(started.pid, 'VmRSS'));
      rssAnon.push(procStatusMb(started.pid, 'RssAnon'));
    } finally {
      await started.stop();
    }
  }
  rows.push(
    {
      bench: 'daemon.ready_ms',
      unit: 'ms',
      value: median(readyTimes),
      note: `target <= 400; spawn to the ready line, median of ${spawns}`,
    },
    {
      bench: 'daemon.rss_after_ready',
      unit: 'mb',
      value: median(rss),
      note: `target <= 70; VmRSS ${SETTLE_MS} ms after ready, median of ${spawns}`,
    },
    {
      bench: 'daemon.rss_anon_after_ready',
      unit: 'mb',
      value: median(rssAnon),
      note: 'RssAnon: the resident set less the files mapped (the node binary)',
    },
  );

  // The payments and what follows: one daemon that can be asked for a forced collection.
  const daemon = await startBenchDaemon({ exposeGc: true });
  const { api, pid } = daemon;
  try {
    progress(`${WARM_UP_PAYMENTS} warm-up payments, then ${payments}`);
    await customerTypesPin(api);
    for (let i = 0; i < WARM_UP_PAYMENTS; i++) await payByChipThroughApi(api);
    const heapBefore = (await diagnostics(api, true)).memory.heapUsedBytes;
    const cpuBefore = cpuMicros(await diagnostics(api, false));
    const paymentTimes: number[] = [];
    for (let i = 0; i < payments; i++) {
      const started = performance.now();
      await payByChipThroughApi(api);
      paymentTimes.push(performance.now() - started);
    }
    const cpuAfter = cpuMicros(await diagnostics(api, false));
    const rssAfterPayments = procStatusMb(pid, 'VmRSS');
    const heapAfter = (await diagnostics(api, true)).memory.heapUsedBytes;
    rows.push(
      {
        bench: 'daemon.payment',
        unit: 'ms',
        value: median(paymentTimes),
        note: `chip + online PIN through the API (card in, POST /v1/payments/card, card out), median of ${payments}`,
      },
      {
        bench: 'daemon.rss_after_payments',
        unit: 'mb',
        value: rssAfterPayments,
        note: `VmRSS after ${WARM_UP_PAYMENTS} + ${payments} payments`,
      },
      {
        bench: 'daemon.heap_growth_per_payment',
        unit: 'kb',
        value: (heapAfter - heapBefore) / payments / 1024,
        note: `target < 2; heap used after a forced GC, before and after ${payments} payments, over ${payments}`,
      },
      {
        bench: 'daemon.cpu_per_payment',
        unit: 'ms',
        value: (cpuAfter - cpuBefore) / 1000 / payments,
        note: `the whole process's user + system CPU over ${payments} payments`,
      },
    );

    progress(`${LOAD_CLIENTS} clients posting waybill events for ${LOAD_MS / 1000} s`);
    await api.post('/v1/diagnostics/event-loop/reset');
    const loadEnds = performance.now() + LOAD_MS;
    let posted = 0;
    const waybills = waybillNumbers(1);
    await Promise.all(
      Array.from({ length: LOAD_CLIENTS }, async () => {
        while (performance.now() < loadEnds) {
          await postWaybillEvent(api, waybills.next().value);
          posted++;
        }
      }),
    );
    const loaded = (await diagnostics(api, false)).eventLoopDelay;
    rows.push(
      {
        bench: 'daemon.event_loop_p99',
        unit: 'ms',
        value: loaded.p99Ms ?? Number.NaN,
        note: `target <= 20; event-loop delay while ${LOAD_CLIENTS} clients post waybill events`,
      },
      {
        bench: 'daemon.event_loop_p50',
        unit: 'ms',
        value: loaded.p50Ms ?? Number.NaN,
        note: `the same ${LOAD_MS / 1000} s, ${loaded.samples} samples`,
      },
      {
        bench: 'daemon.event_loop_max',
        unit: 'ms',
        value: loaded.maxMs ?? Number.NaN,
        note: 'the same, the longest stall',
      },
      {
        bench: 'daemon.waybill_events',
        unit: 'records_per_s',
        value: (posted * 1000) / LOAD_MS,
        note: `durable waybill events answered, ${LOAD_CLIENTS} clients`,
      },
    );

    rows.push(await drainAfterOutage(api, join(daemon.dataDir, 'spool.db'), outageS, progress));
    return rows;
  } finally {
    await daemon.stop();
  }
}

/**
 * The back-end away for `outageS` seconds while OUTAGE_EVENTS waybill events are spooled, then
 * back: seconds from its return until the spool's waybill-event stream is empty (every record
 * acknowledged by the back-end; none dead).
 */
async function drainAfterOutage(
  api: DaemonApi,
  spoolFile: string,
  outageS: number,
  progress: (text: string) => void,
): Promise<BenchResult> {
  const spool = new WaybillStreamReader(spoolFile);
  try {
    return await timeDrain(api, spool, outageS, progress);
  } finally {
    spool.close();
  }
}

async function timeDrain(
  api: DaemonApi,
  spool: WaybillStreamReader,
  outageS: number,
  progress: (text: string) => void,
): Promise<BenchResult> {
  // What the load before left must be at the back-end first, or the drain would time it too.
  await untilDrained(spool);
  progress(`back-end away for ${outageS} s while ${OUTAGE_EVENTS.toLocaleString('en-US')} waybill events are spooled`);
  await api.post('/v1/sim/backend', { outage: true });
  const outageStarted = performance.now();
  const waybills = waybillNumbers(2);
  let left = OUTAGE_EVENTS;
  await Promise.all(
    Array.from({ length: LOAD_CLIENTS }, async () => {
      while (left > 0) {
        left--;
        await postWaybillEvent(api, waybills.next().value);
      }
    }),
  );
  const spooledMs = performance.now() - outageStarted;
  const spooled = spool.read();
  if (spooled.depth < OUTAGE_EVENTS)
    throw new Error(
      `daemon bench: only ${spooled.depth} of ${OUTAGE_EVENTS} waybill events are spooled during the outage: did the back-end answer?`,
    );
  await sleep(Math.max(0, outageS * 1000 - spooledMs));
  const outageMs = performance.now() - outageStarted;
  progress(`back-end back after ${(outageMs / 1000).toFixed(1)} s; waiting for the drain`);
  await api.post('/v1/sim/backend', { outage: false });
  const returned = performance.now();
  await untilDrained(spool);
  const drainS = (performance.now() - returned) / 1000;
  return {
    bench: 'daemon.drain_after_outage_s',
    unit: 's',
    value: drainS,
    note: `target <= 5 (after 60 s); ${OUTAGE_EVENTS.toLocaleString('en-US')} records, a ${(outageMs / 1000).toFixed(0)} s outage (spooled in ${(spooledMs / 1000).toFixed(1)} s)`,
  };
}

/**
 * The waybill-event stream's depth read from the daemon's spool file, read-only, beside the
 * daemon (WAL lets a reader in). Not through the status summary: that computes the day report
 * and the task list too, and polling it several times a second took a large share of the very
 * main thread whose drain is being timed.
 */
class WaybillStreamReader {
  private readonly db: Database.Database;
  private readonly count: Database.Statement;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.count = this.db.prepare(
      `SELECT count(*) FILTER (WHERE state IN ('ready', 'leased')) AS depth, count(*) FILTER (WHERE state = 'dead') AS dead FROM outbox WHERE stream = '${WAYBILL_STREAM}'`,
    );
  }

  read(): { depth: number; dead: number } {
    return this.count.get() as { depth: number; dead: number };
  }

  close(): void {
    this.db.close();
  }
}

/** Polls until the waybill-event stream is empty; a dead record is a failure of the bench. */
async function untilDrained(spool: WaybillStreamReader): Promise<void> {
  for (;;) {
    const stream = spool.read();
    if (stream.dead > 0)
      throw new Error(`daemon bench: ${stream.dead} waybill events were dead-lettered: the back-end refused them`);
    if (stream.depth === 0) return;
    await sleep(DRAIN_POLL_MS);
  }
}

function diagnostics(api: DaemonApi, collect: boolean): Promise<ProcessDiagnostics> {
  return api.get<ProcessDiagnostics>(`/v1/diagnostics/process${collect ? '?gc=1' : ''}`);
}

function cpuMicros(read: ProcessDiagnostics): number {
  return read.cpu.userMicros + read.cpu.systemMicros;
}

function postWaybillEvent(api: DaemonApi, waybill: string): Promise<unknown> {
  return api.post('/v1/waybills/events', { kind: 'pickup', waybill });
}

/** Distinct S10 waybill numbers (UPU S10: two letters, 8 digits, the check digit, the country), `series` keeping runs apart. */
function* waybillNumbers(series: number): Generator<string, never> {
  const weights = [8, 6, 4, 2, 3, 5, 9, 7];
  for (let serial = series * 10_000_000; ; serial++) {
    const digits = String(serial % 100_000_000).padStart(8, '0');
    const sum = [...digits].reduce((total, digit, i) => total + Number(digit) * weights[i]!, 0);
    const check = 11 - (sum % 11);
    yield `RR${digits}${check === 10 ? 0 : check === 11 ? 5 : check}CH`;
  }
}
