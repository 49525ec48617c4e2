/**
 * `npm run bench -- spool`: what a commit costs, measured on one disk in one run.
 *
 * - baseline: raw better-sqlite3, one INSERT per transaction at synchronous=FULL
 *   into the same table (same schema, same pragmas) the outbox uses;
 * - sequential awaited `enqueue` (target >= 0.8x the baseline);
 * - 32 concurrent producers, each awaiting its own enqueue (target >= 10x
 *   sequential: the group commit shares one fsync among them);
 * - lease + ack draining in batches of 500 (target >= 20,000 records/s).
 *
 * The three write workloads take turns in 25 ms slices within every round so
 * disk noise hits them alike; figures are medians of the rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { median, type BenchOptions, type BenchResult } from './harness.js';
import { openDatabase } from '../../spool/database.js';
import { Spool } from '../../spool/spool.js';

const PRODUCERS = 32;
const DRAIN_RECORDS = 20_000;
const DRAIN_BATCH = 500;
/** Length of one turn of a write workload inside a round. */
const SLICE_MS = 25;

function payload(n: number): { waybill: string; event: string; at: string; courier: string; n: number } {
  return { waybill: 'RR123456785GB', event: 'delivered', at: '2026-06-01T08:00:00.000Z', courier: 'C-0042', n };
}

async function timed(roundMs: number, body: (deadline: number) => Promise<number> | number): Promise<number> {
  const start = performance.now();
  const count = await body(start + roundMs);
  return (count * 1000) / (performance.now() - start);
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-bench-spool-'));
  try {
    const raw = openDatabase(join(dir, 'raw.db'));
    const insert = raw.prepare(`INSERT INTO outbox (id, stream, payload, state, attempts, created_at, available_at) VALUES (?, 'waybill-event', ?, 'ready', 0, ?, ?)`);
    const insertOne = raw.transaction((n: number) => {
      const now = Date.now();
      insert.run(randomUUID(), JSON.stringify(payload(n)), now, now);
    });
    const spool = Spool.open({ file: join(dir, 'spool.db') });
    const outbox = spool.outbox;

    const rawSlice = (deadline: number) => {
      let n = 0;
      while (performance.now() < deadline) insertOne(n++);
      return n;
    };
    const sequentialSlice = async (deadline: number) => {
      let n = 0;
      while (performance.now() < deadline) await outbox.enqueue('waybill-event', payload(n++));
      return n;
    };
    const concurrentSlice = async (deadline: number) => {
      let n = 0;
      await Promise.all(
        Array.from({ length: PRODUCERS }, async () => {
          while (performance.now() < deadline) await outbox.enqueue('waybill-event', payload(n++));
        }),
      );
      return n;
    };
    const workloads = [rawSlice, sequentialSlice, concurrentSlice];

    /**
     * One round: the three workloads take turns in short slices until each has run
     * `roundMs` in total, so a burst of slow fsyncs (another process writing to the
     * disk) lands on all three alike. Returns records/s per workload.
     */
    const round = async (roundMs: number) => {
      const counts = [0, 0, 0];
      const elapsed = [0, 0, 0];
      const slices = Math.max(1, Math.round(roundMs / SLICE_MS));
      for (let s = 0; s < slices; s++) {
        for (const [i, workload] of workloads.entries()) {
          const start = performance.now();
          counts[i]! += await workload(start + SLICE_MS);
          elapsed[i]! += performance.now() - start;
        }
      }
      return counts.map((count, i) => (count * 1000) / elapsed[i]!);
    };

    await round(Math.min(200, options.roundMs)); // warm-up: JIT, page cache, WAL files grown
    const rawRates: number[] = [];
    const sequentialRates: number[] = [];
    const concurrentRates: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const [rawRate, sequentialRate, concurrentRate] = await round(options.roundMs);
      rawRates.push(rawRate!);
      sequentialRates.push(sequentialRate!);
      concurrentRates.push(concurrentRate!);
    }
    raw.close();

    // Drain: lease a batch, ack it, until the stream is empty.
    const drainRates: number[] = [];
    for (let r = 0; r < options.rounds + 1; r++) {
      spool.db.transaction(() => {
        for (let n = 0; n < DRAIN_RECORDS; n++) outbox.enqueueNow('transaction', payload(n));
      })();
      const rate = await timed(0, () => {
        let drained = 0;
        for (;;) {
          const batch = outbox.lease('transaction', { limit: DRAIN_BATCH, owner: 'bench' });
          if (batch.length === 0) return drained;
          drained += outbox.ack(batch.map((record) => record.id));
        }
      });
      if (r > 0) drainRates.push(rate); // the first round is the warm-up
    }
    spool.close();

    const rawRate = median(rawRates);
    const sequential = median(sequentialRates);
    return [
      { bench: 'spool.raw-insert.sync-full', unit: 'records_per_s', value: rawRate, note: 'baseline: better-sqlite3, 1 transaction per insert' },
      { bench: 'spool.enqueue.sequential', unit: 'records_per_s', value: sequential, peer: 'raw better-sqlite3', peerValue: rawRate, note: 'target >= 0.8x' },
      { bench: 'spool.enqueue.32-producers', unit: 'records_per_s', value: median(concurrentRates), peer: 'spool.enqueue.sequential', peerValue: sequential, note: 'target >= 10x (group commit)' },
      { bench: 'spool.drain.lease-ack', unit: 'records_per_s', value: median(drainRates), note: `batches of ${DRAIN_BATCH}; target >= 20,000` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
