/**
 * The waybill events' index (schema v8, table waybill_event, kept by triggers on the outbox in
 * the same commit as each record): the task list, a waybill's history and the day report look
 * events up here and read the few full records they need, instead of parsing every retained
 * event at each call (45 days of them, signatures included, was ~100 ms of main thread at 40,000).
 */
import type { Database, Statement } from 'better-sqlite3';
import { STREAMS } from './streams.js';
import type { Outbox, OutboxRecord } from './outbox.js';

/** An event as the task list needs it: what happened to the waybill, and why for an exception. */
export interface IndexedWaybillEvent {
  seq: number;
  waybill: string;
  kind: string;
  reason?: string;
}

/** SQLite's default limit on bound parameters is far above this; a few hundred per query keeps statements small. */
const SEQS_PER_QUERY = 500;

export class WaybillEvents {
  private readonly ofWaybill: Statement;
  private readonly between: Statement;

  constructor(
    private readonly db: Database,
    private readonly outbox: Outbox,
  ) {
    this.ofWaybill = db.prepare('SELECT seq FROM waybill_event WHERE waybill = ? ORDER BY seq');
    this.between = db.prepare('SELECT seq FROM waybill_event WHERE at >= ? AND at < ? ORDER BY seq');
  }

  /** Each of these waybills' events (kind and reason), in the order they were recorded; a waybill with none is absent. */
  standings(waybills: readonly string[]): Map<string, IndexedWaybillEvent[]> {
    const out = new Map<string, IndexedWaybillEvent[]>();
    const unique = [...new Set(waybills)];
    for (let i = 0; i < unique.length; i += SEQS_PER_QUERY) {
      const chunk = unique.slice(i, i + SEQS_PER_QUERY);
      const rows = this.db
        .prepare(
          `SELECT seq, waybill, kind, reason FROM waybill_event WHERE waybill IN (${chunk.map(() => '?').join(', ')}) ORDER BY seq`,
        )
        .all(...chunk) as Array<{ seq: number; waybill: string; kind: string; reason: string | null }>;
      for (const row of rows) {
        const event: IndexedWaybillEvent = {
          seq: row.seq,
          waybill: row.waybill,
          kind: row.kind,
          ...(row.reason !== null ? { reason: row.reason } : {}),
        };
        const list = out.get(row.waybill);
        if (list) list.push(event);
        else out.set(row.waybill, [event]);
      }
    }
    return out;
  }

  /** The full records of one waybill's events, in order. */
  records(waybill: string): OutboxRecord[] {
    return this.bySeq((this.ofWaybill.all(waybill) as Array<{ seq: number }>).map((row) => row.seq));
  }

  /** The full records of the events whose time (ISO 8601, UTC) is in [from, to), in order. */
  recordsAt(from: Date, to: Date): OutboxRecord[] {
    return this.bySeq(
      (this.between.all(from.toISOString(), to.toISOString()) as Array<{ seq: number }>).map((row) => row.seq),
    );
  }

  private bySeq(seqs: number[]): OutboxRecord[] {
    const out: OutboxRecord[] = [];
    for (let i = 0; i < seqs.length; i += SEQS_PER_QUERY) {
      const chunk = seqs.slice(i, i + SEQS_PER_QUERY);
      out.push(...this.outbox.list({ stream: STREAMS.waybillEvent, seqs: chunk, limit: chunk.length }));
    }
    return out;
  }
}
