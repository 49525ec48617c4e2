/**
 * The daemon's event bus: what services publish for the screen app and technicians
 * (`device.state`, later `card.inserted`, `payment.approved`, ...), numbered in order so
 * a Server-Sent Events client that reconnects with Last-Event-ID gets what it missed
 * from the last `keep` events. Events carry no card data: publishers mask first.
 */
export interface DaemonEvent {
  /** 1, 2, 3, ... for this daemon run. */
  id: number;
  type: string;
  /** ISO 8601. */
  at: string;
  data: Record<string, unknown>;
}

export type EventListener = (event: DaemonEvent) => void;

export class EventBus {
  private nextId = 1;
  private readonly recent: DaemonEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly keep = 200,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  publish(type: string, data: Record<string, unknown> = {}): DaemonEvent {
    const event: DaemonEvent = { id: this.nextId++, type, at: this.clock().toISOString(), data };
    this.recent.push(event);
    if (this.recent.length > this.keep) this.recent.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Calls `listener` for each event from now on; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The kept events after `lastId` (all kept ones when it is older than the oldest). */
  since(lastId: number): DaemonEvent[] {
    return this.recent.filter((event) => event.id > lastId);
  }
}
