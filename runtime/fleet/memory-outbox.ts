/**
 * A FleetOutbox in memory, for the fleet bench's simulated terminals: in order, leased and acked
 * as the spool's outbox is, but gone with the process (a real terminal uses spool-outbox.ts).
 */
import type { FleetMessage, FleetOutbox, OutboundKind } from './types.js';

interface Entry {
  kind: OutboundKind;
  message: FleetMessage;
  leased: boolean;
}

export class MemoryFleetOutbox implements FleetOutbox {
  private entries: Entry[] = [];
  private readonly ids = new Set<string>();

  enqueue(kind: OutboundKind, message: FleetMessage): Promise<void> {
    // The same id twice is stored once, as the spool's outbox does.
    if (!this.ids.has(message.id)) {
      this.ids.add(message.id);
      this.entries.push({ kind, message, leased: false });
    }
    return Promise.resolve();
  }

  /** In order: nothing is leased while an earlier lease is out (one batch at a time, as an ordered stream). */
  lease(limit: number): Array<{ kind: OutboundKind; message: FleetMessage }> {
    if (this.entries.some((entry) => entry.leased)) return [];
    const batch = this.entries.slice(0, limit);
    for (const entry of batch) entry.leased = true;
    return batch.map(({ kind, message }) => ({ kind, message }));
  }

  ack(ids: readonly string[]): void {
    const gone = new Set(ids);
    for (const id of ids) this.ids.delete(id);
    this.entries = this.entries.filter((entry) => !gone.has(entry.message.id));
  }

  release(ids: readonly string[]): void {
    const back = new Set(ids);
    for (const entry of this.entries) if (back.has(entry.message.id)) entry.leased = false;
  }

  depth(): number {
    return this.entries.length;
  }
}
