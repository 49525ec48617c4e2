/**
 * The daemon's event bus: what services publish for the screen app and technicians
 * (`device.state`, `card.inserted`, `payment.approved`, ...), numbered in order so a
 * Server-Sent Events client that reconnects with Last-Event-ID gets what it missed from the
 * last `keep` events. Events carry no card data: publishers mask first.
 *
 * Ids grow across daemon restarts when the bus is attached to an EventStore (event-log.ts keeps
 * it in the spool): a client that followed the last run resumes with its Last-Event-ID. The
 * store hands out ids in blocks (one small write per `block` events, not one per event) and, on
 * a clean stop, keeps the last events and the last id, so the next run replays them and numbers
 * on from there. After a crash the next run starts past the block the crashed one held: ids
 * still only grow, but what the crashed run published after a client's last id is gone, and
 * `replay` says so (a gap) rather than pretending the stream is whole.
 */
export interface DaemonEvent {
  /** Grows by one per event; across restarts too when the bus has a store. */
  id: number;
  type: string;
  /** ISO 8601. */
  at: string;
  data: Record<string, unknown>;
}

export type EventListener = (event: DaemonEvent) => void;

/** What the previous run left behind. */
export interface SavedEvents {
  /** The highest id the previous run was allowed to use. */
  ceiling: number;
  /** Present when it stopped cleanly: its last id and its kept events. */
  clean?: { lastId: number; recent: DaemonEvent[] };
}

/** Where ids and the kept events outlive the daemon (event-log.ts: the spool's meta table). */
export interface EventStore {
  load(): SavedEvents | undefined;
  /** Allows ids up to `ceiling` and forgets a clean stop's save (a crash from now on is a crash). */
  reserve(ceiling: number): void;
  /** At a clean stop: the last id and the kept events, for the next run. */
  save(lastId: number, recent: DaemonEvent[]): void;
}

/** Why a client's replay is not whole, for the `events.gap` it gets instead of silence. */
export interface EventGap {
  /** The client's Last-Event-ID. */
  after: number;
  /** The first id replayed after the gap (null: none kept yet). */
  resumesAt: number | null;
  reason: 'not-kept' | 'unclean-restart' | 'unknown-id';
  message: string;
}

export class EventBus {
  private nextId = 1;
  private readonly recent: DaemonEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private store: EventStore | undefined;
  private reservedUpTo = Number.POSITIVE_INFINITY;
  /** After a crash: the first id of this run; a client's id below it may have missed events of the crashed run. */
  private firstIdAfterCrash: number | undefined;
  /** Why the store could not reserve the last block of ids, until it can again. */
  storeProblem: string | undefined;

  constructor(
    private readonly keep = 200,
    private readonly clock: () => Date = () => new Date(),
    private readonly block = 1000,
  ) {}

  /**
   * Takes the numbering up from the store: after a clean stop the next id and the kept events
   * follow on; after a crash ids start past the crashed run's block. Events published before
   * (no client can have seen them: the API starts last) are numbered again after those.
   */
  attach(store: EventStore): void {
    const saved = store.load();
    const early = this.recent.splice(0);
    if (saved?.clean) {
      this.recent.push(...saved.clean.recent.slice(-this.keep));
      this.nextId = saved.clean.lastId + 1;
    } else if (saved) {
      this.nextId = saved.ceiling + 1;
      this.firstIdAfterCrash = this.nextId;
    }
    for (const event of early) this.remember({ ...event, id: this.nextId++ });
    this.store = store;
    this.reservedUpTo = this.nextId - 1 + this.block;
    store.reserve(this.reservedUpTo);
  }

  /** Saves the last id and the kept events for the next run, and stops using the store. */
  detach(): void {
    if (!this.store) return;
    this.store.save(this.nextId - 1, [...this.recent]);
    this.store = undefined;
    this.reservedUpTo = Number.POSITIVE_INFINITY;
  }

  publish(type: string, data: Record<string, unknown> = {}): DaemonEvent {
    if (this.store && this.nextId > this.reservedUpTo) {
      this.reservedUpTo += this.block;
      // An event is never refused for its numbering (a payment's outcome must reach the screen);
      // the failure is kept for the events service's health.
      try {
        this.store.reserve(this.reservedUpTo);
        this.storeProblem = undefined;
      } catch (error) {
        this.storeProblem = `event ids past ${this.reservedUpTo - this.block} could not be reserved in the spool (${(error as Error).message}): after a crash they may be given again`;
      }
    }
    const event: DaemonEvent = { id: this.nextId++, type, at: this.clock().toISOString(), data };
    this.remember(event);
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

  /**
   * What a client that saw up to `lastId` gets on reconnecting: the kept events after it, and
   * a gap when some it has not seen cannot be replayed (no longer kept, lost in a crash, or an
   * id this bus never gave: the spool was replaced).
   */
  replay(lastId: number): { events: DaemonEvent[]; gap?: EventGap } {
    const events = this.since(lastId);
    const lastGiven = this.nextId - 1;
    const resumesAt = events[0]?.id ?? null;
    if (lastId > lastGiven) {
      return {
        events,
        gap: {
          after: lastId,
          resumesAt,
          reason: 'unknown-id',
          message: `event ${lastId} is newer than any this daemon numbered (${lastGiven}): its spool was replaced; the kept events follow`,
        },
      };
    }
    // Complete when the first event after lastId is still here, or nothing was published after it.
    const firstKept = this.recent[0]?.id ?? this.nextId;
    if (lastId + 1 >= firstKept) return { events };
    if (this.firstIdAfterCrash !== undefined && lastId < this.firstIdAfterCrash) {
      return {
        events,
        gap: {
          after: lastId,
          resumesAt,
          reason: 'unclean-restart',
          message: `the daemon stopped without saving its last events (a crash or power cut): what it published after event ${lastId} is lost; read the state again (GET /v1/status, /v1/tasks, /v1/payments)`,
        },
      };
    }
    return {
      events,
      gap: {
        after: lastId,
        resumesAt,
        reason: 'not-kept',
        message: `events ${lastId + 1} to ${firstKept - 1} are no longer kept (the last ${this.keep} are); read the state again`,
      },
    };
  }

  private remember(event: DaemonEvent): void {
    this.recent.push(event);
    if (this.recent.length > this.keep) this.recent.shift();
  }
}
