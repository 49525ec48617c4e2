/**
 * The daemon's FleetOutbox: the spool's outbox (spool/outbox.ts). Events and command results go
 * in stream `fleet`, parameter reports in stream `params-report`; both are ordered streams, so
 * each gives one batch at a time from its head. An enqueue resolves once the record is on disk,
 * under the message's own id (a repeat is stored once), and survives a restart of the daemon.
 */
import { STREAMS } from '../../spool/streams.js';
import type { Outbox } from '../../spool/outbox.js';
import type { FleetMessage, FleetOutbox, OutboundKind } from './types.js';

interface Stored {
  kind: OutboundKind;
  message: FleetMessage;
}

/** A params-report record: the ParamsReport (runtime/params/types.ts), whose id is the record's. */
type StoredReport = Record<string, unknown> & { at?: unknown; terminal?: unknown };

const FLEET_STREAMS = [STREAMS.fleet, STREAMS.paramsReport] as const;

export function streamOf(kind: OutboundKind): (typeof FLEET_STREAMS)[number] {
  return kind === 'params/report' ? STREAMS.paramsReport : STREAMS.fleet;
}

export interface SpoolFleetOutboxOptions {
  /**
   * How long a leased batch is the link's before the outbox gives it to the next lease (the link
   * died without releasing it: after a crash, records wait this long, then go out again).
   */
  leaseMs?: number;
  /** The lease owner `codpos spool list` shows. */
  owner?: string;
}

export class SpoolFleetOutbox implements FleetOutbox {
  private readonly leaseMs: number;
  private readonly owner: string;

  constructor(
    private readonly outbox: Outbox,
    options: SpoolFleetOutboxOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.owner = options.owner ?? 'fleet-link';
  }

  async enqueue(kind: OutboundKind, message: FleetMessage): Promise<void> {
    if (kind === 'params/report') await this.outbox.enqueue(STREAMS.paramsReport, message.data, { id: message.id });
    else await this.outbox.enqueue<Stored>(STREAMS.fleet, { kind, message }, { id: message.id });
  }

  lease(limit: number): Array<{ kind: OutboundKind; message: FleetMessage }> {
    // The broker is the far end and it answers now: a record's retry backoff has no reason here.
    return this.outbox
      .lease<Stored | StoredReport>(FLEET_STREAMS, {
        limit,
        leaseMs: this.leaseMs,
        owner: this.owner,
        ignoreBackoff: true,
      })
      .map((record) => {
        if (record.stream !== STREAMS.paramsReport) return record.payload as Stored;
        const report = record.payload as StoredReport;
        const message: FleetMessage = {
          id: record.id,
          type: 'params.report',
          at: typeof report.at === 'string' ? report.at : new Date(record.createdAt).toISOString(),
          ...(typeof report.terminal === 'string' ? { terminal: report.terminal } : {}),
          data: report,
        };
        return { kind: 'params/report' as const, message };
      });
  }

  ack(ids: readonly string[]): void {
    if (ids.length > 0) this.outbox.ack(ids);
  }

  release(ids: readonly string[]): void {
    if (ids.length > 0) this.outbox.release(ids);
  }

  depth(): number {
    let depth = 0;
    for (const stream of this.outbox.status())
      if ((FLEET_STREAMS as readonly string[]).includes(stream.stream)) depth += stream.depth;
    return depth;
  }
}
