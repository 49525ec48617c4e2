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
 * The baseline and sequential enqueue alternate commit by commit, and the 32
 * producers run in 25 ms slices between, so disk noise (other processes' fsyncs)
 * hits them alike; figures are medians of the rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { median, type BenchOptions, type BenchResult } from './harness.js';
import { openDatabase } from '../../spool/database.js';
import { Spool } from '../../spool/spool.js';
import { Outbox } from '../../spool/outbox.js';

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
    const insert = raw.prepare(
      `INSERT INTO outbox (id, stream, payload, state, attempts, created_at, available_at) VALUES (?, 'waybill-event', ?, 'ready', 0, ?, ?)`,
    );
    const insertOne = raw.transaction((n: number) => {
      const now = Date.now();
      insert.run(randomUUID(), JSON.stringify(payload(n)), now, now);
    });
    // Each workload writes its own file in the same directory (same disk), so none
    // pays for checkpoints or a bigger tree caused by another.
    const sequentialSpool = Spool.open({ file: join(dir, 'sequential.db') });
    const concurrentSpool = Spool.open({ file: join(dir, 'concurrent.db') });

    let n = 0;
    const rawInsert = () => insertOne(n++);
    const sequentialEnqueue = () => sequentialSpool.outbox.enqueue('waybill-event', payload(n++));
    const concurrentSlice = async (deadline: number) => {
      let count = 0;
      await Promise.all(
        Array.from({ length: PRODUCERS }, async () => {
          while (performance.now() < deadline) {
            await concurrentSpool.outbox.enqueue('waybill-event', payload(n++));
            count++;
          }
        }),
      );
      return count;
    };

    /**
     * One round. The baseline and sequential enqueue alternate commit by commit (each
     * timed on its own, the order swapped every pair), so both see the same disk from
     * one fsync to the next; the 32 producers run in slices between. Returns records/s
     * for [raw, sequential, concurrent].
     */
    const round = async (roundMs: number) => {
      const counts = [0, 0, 0];
      const elapsed = [0, 0, 0];
      const slices = Math.max(1, Math.round(roundMs / SLICE_MS));
      let pair = 0;
      for (let s = 0; s < slices; s++) {
        const deadline = performance.now() + 2 * SLICE_MS;
        while (performance.now() < deadline) {
          const rawFirst = pair++ % 2 === 0;
          for (const which of rawFirst ? [0, 1] : [1, 0]) {
            const start = performance.now();
            if (which === 0) rawInsert();
            else await sequentialEnqueue();
            elapsed[which]! += performance.now() - start;
            counts[which]!++;
          }
        }
        const start = performance.now();
        counts[2]! += await concurrentSlice(start + SLICE_MS);
        elapsed[2]! += performance.now() - start;
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
    sequentialSpool.close();
    concurrentSpool.close();
    // Drain: lease a batch, ack it, until the stream is empty. Measured with the default
    // bookkeeping durability (FULL: an fsync per step) and, for comparison, NORMAL (see Outbox).
    const drain = async (file: string, bookkeepingSync: 'NORMAL' | 'FULL') => {
      const spool = Spool.open({ file });
      const outbox = new Outbox(spool.db, { bookkeepingSync });
      const rates: number[] = [];
      for (let r = 0; r < options.rounds + 1; r++) {
        spool.db.transaction(() => {
          for (let i = 0; i < DRAIN_RECORDS; i++) outbox.enqueueNow('transaction', payload(i));
        })();
        const rate = await timed(0, () => {
          let drained = 0;
          for (;;) {
            const batch = outbox.lease('transaction', { limit: DRAIN_BATCH, owner: 'bench' });
            if (batch.length === 0) return drained;
            drained += outbox.ack(batch.map((record) => record.id));
          }
        });
        if (r > 0) rates.push(rate); // the first round is the warm-up
      }
      spool.close();
      return median(rates);
    };
    const drainRate = await drain(join(dir, 'drain.db'), 'FULL');
    const drainNormalRate = await drain(join(dir, 'drain-normal.db'), 'NORMAL');

    const rawRate = median(rawRates);
    const sequential = median(sequentialRates);
    return [
      {
        bench: 'spool.raw-insert.sync-full',
        unit: 'records_per_s',
        value: rawRate,
        note: 'baseline: better-sqlite3, 1 transaction per insert',
      },
      {
        bench: 'spool.enqueue.sequential',
        unit: 'records_per_s',
        value: sequential,
        peer: 'raw better-sqlite3',
        peerValue: rawRate,
        note: 'target >= 0.8x',
      },
      {
        bench: 'spool.enqueue.32-producers',
        unit: 'records_per_s',
        value: median(concurrentRates),
        peer: 'spool.enqueue.sequential',
        peerValue: sequential,
        note: 'target >= 10x (group commit)',
      },
      {
        bench: 'spool.drain.lease-ack',
        unit: 'records_per_s',
        value: drainRate,
        note: `batches of ${DRAIN_BATCH}, synchronous=FULL; target >= 20,000`,
      },
      {
        bench: 'spool.drain.lease-ack.sync-normal',
        unit: 'records_per_s',
        value: drainNormalRate,
        note: "same, bookkeepingSync 'NORMAL' (for comparison)",
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
