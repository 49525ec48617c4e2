/**
 * The benchmark harness: warm up, run several timed rounds, take the median.
 * Peers run beside ours in the same process and run, and the result carries the
 * ratio (ours over theirs, higher is better). Output: a readable table, or with
 * `--json` one JSON object per line (`bench`, the figure under a key naming its
 * unit, and `peer`, `peer_<unit>`, `ratio` where a peer ran).
 */

/** `count`: how many of something were held at once (the fleet bench's sessions). */
export type Unit = 'ops_per_s' | 'records_per_s' | 'ms' | 's' | 'mb' | 'kb' | 'count';

export interface BenchResult {
  bench: string;
  unit: Unit;
  value: number;
  peer?: string;
  peerValue?: number;
  /**
   * The ratio when ours and the peer ran in paired rounds: the median of each round's own
   * ratio. Without it the ratio is value over peerValue (each a median over rounds that may
   * have run in different phases of a shared machine's speed).
   */
  pairedRatio?: number;
  /** Optional note shown in the table (e.g. the target). */
  note?: string;
}

export interface BenchOptions {
  json: boolean;
  /** Timed rounds per measurement; the median is reported. */
  rounds: number;
  /** Minimum duration of one round in milliseconds. */
  roundMs: number;
  /** The workload of the benches that drive a real daemon (daemon.bench.ts); the others ignore it. */
  daemon: DaemonWorkload;
  /** The workload of the fleet bench (fleet.bench.ts); the others ignore it. */
  fleet: FleetWorkload;
}

export interface FleetWorkload {
  /** The fleet sizes measured, one after the other, each on a fresh broker (simulated terminals in one process). */
  terminals: number[];
}

export interface DaemonWorkload {
  /** Chip payments after the 100 warm-up ones (memory, heap growth and CPU per payment). */
  payments: number;
  /** How long the back-end is away while the waybill events are spooled. */
  outageS: number;
  /** Daemon starts timed for the spawn-to-ready median. */
  spawns: number;
}

/**
 * Starts a timed round on an empty young generation when the bench runs with
 * --expose-gc (`npm run bench` does): otherwise a side that follows a wasteful one
 * pays for the other's garbage in its own round, which is not its cost.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Median operations per second of `fn`, which performs `batch` operations per call. */
export function opsPerSecond(fn: () => void, options: Pick<BenchOptions, 'rounds' | 'roundMs'>, batch = 1): number {
  // Warm-up: let the JIT settle before any round is timed.
  const warmEnd = performance.now() + Math.min(200, options.roundMs);
  while (performance.now() < warmEnd) fn();
  const rates: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    collectGarbage();
    let calls = 0;
    const start = performance.now();
    let elapsed: number;
    do {
      fn();
      calls++;
      elapsed = performance.now() - start;
    } while (elapsed < options.roundMs);
    rates.push((calls * batch * 1000) / elapsed);
  }
  return median(rates);
}

/** Median rate for an async workload: `fn` performs `count` operations and resolves. */
export async function asyncRate(fn: () => Promise<number>, rounds: number): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const count = await fn();
    rates.push((count * 1000) / (performance.now() - start));
  }
  return median(rates);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank percentile `p` (0 < p <= 100) of `values`: the smallest value at or above p % of them. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function ratio(result: BenchResult): number | undefined {
  if (result.peerValue === undefined || result.peerValue === 0) return undefined;
  if (result.pairedRatio !== undefined) return result.pairedRatio;
  // For times and sizes lower is better, so the ratio is theirs over ours.
  const lowerIsBetter = result.unit === 'ms' || result.unit === 's' || result.unit === 'mb' || result.unit === 'kb';
  return lowerIsBetter ? result.peerValue / result.value : result.value / result.peerValue;
}

export function toJsonLine(result: BenchResult): string {
  const line: Record<string, unknown> = { bench: result.bench, [result.unit]: round(result.value) };
  if (result.peer !== undefined && result.peerValue !== undefined) {
    line.peer = result.peer;
    line[`peer_${result.unit}`] = round(result.peerValue);
    line.ratio = round(ratio(result)!, 2);
  }
  return JSON.stringify(line);
}

export function toTable(results: BenchResult[]): string {
  const rows = results.map((r) => {
    const q = ratio(r);
    return [
      r.bench,
      `${format(r.value)} ${r.unit}`,
      r.peer ?? '',
      r.peerValue === undefined ? '' : `${format(r.peerValue)} ${r.unit}`,
      q === undefined ? '' : `${q.toFixed(2)}x`,
      r.note ?? '',
    ];
  });
  const header = ['bench', 'ours', 'peer', 'peer figure', 'ratio', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

function round(value: number, digits = value >= 100 ? 0 : 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

/** What every benchmark module in scripts/bench/ exports. */
export interface BenchModule {
  /**
   * Parts measured each in a process of its own, as modules are (scripts/bench.ts): for a
   * module whose parts would otherwise change each other's figures through the JIT state
   * they leave (the ISO 8583 dialects: a box runs one, so its codec's call sites only ever
   * see that one's interpreters).
   */
  parts?: readonly string[];
  /** Runs the benchmark (one of its parts, when it has them) and returns its figures; prints nothing itself. */
  run(options: BenchOptions, part?: string): Promise<BenchResult[]>;
}
