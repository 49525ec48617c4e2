/**
 * The event bus's numbering and last events kept in the spool, so event ids grow across
 * restarts and a client following /v1/events (`codpos events`) resumes after a restart with its
 * Last-Event-ID without losing or repeating an event (events.ts says how).
 *
 * A service of its own, started right after the spool and so stopped right before it: every
 * service stopped before it (devices going offline, the API closing) has published its last
 * event by then, and those are saved too.
 *
 * The spool's `meta` table holds two keys: `events.ceiling`, the highest id the running daemon
 * may use (written once per block of ids), and `events.saved`, the last id and kept events of a
 * clean stop (removed again when a daemon takes the numbering up, so a crash is told apart).
 */
import type { Database } from 'better-sqlite3';
import type { Spool } from '../../spool/index.js';
import { PosError } from '../../config/errors.js';
import type { Health, Service } from '../service.js';
import type { DaemonEvent, EventBus, EventStore, SavedEvents } from './events.js';

const CEILING_KEY = 'events.ceiling';
const SAVED_KEY = 'events.saved';

/** The store in the spool's meta table. */
export class SpoolEventStore implements EventStore {
  constructor(private readonly db: Database) {}

  load(): SavedEvents | undefined {
    const ceiling = this.read(CEILING_KEY);
    if (ceiling === undefined) return undefined;
    const saved = this.read(SAVED_KEY);
    return {
      ceiling: Number(ceiling),
      ...(saved !== undefined ? { clean: JSON.parse(saved) as { lastId: number; recent: DaemonEvent[] } } : {}),
    };
  }

  reserve(ceiling: number): void {
    this.db.transaction(() => {
      this.write(CEILING_KEY, String(ceiling));
      this.db.prepare('DELETE FROM meta WHERE key = ?').run(SAVED_KEY);
    })();
  }

  save(lastId: number, recent: DaemonEvent[]): void {
    this.write(SAVED_KEY, JSON.stringify({ lastId, recent }));
  }

  private read(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private write(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }
}

export class EventLogService implements Service {
  readonly name = 'events';
  private state: Health = { state: 'stopped' };

  constructor(
    private readonly events: EventBus,
    private readonly spool: () => Spool,
  ) {}

  async start(): Promise<void> {
    try {
      this.events.attach(new SpoolEventStore(this.spool().db));
    } catch (error) {
      this.state = { state: 'down', reason: (error as Error).message };
      throw new PosError(
        'CODPOS_SPOOL_EVENT_LOG',
        `the event numbering could not be read from the spool: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.state = { state: 'up' };
  }

  async stop(): Promise<void> {
    try {
      this.events.detach();
    } finally {
      this.state = { state: 'stopped' };
    }
  }

  health(): Health {
    const problem = this.events.storeProblem;
    return this.state.state === 'up' && problem !== undefined ? { state: 'degraded', reason: problem } : this.state;
  }
}
