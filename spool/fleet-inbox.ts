/**
 * The fleet link's inbox (table fleet_inbox, migration 10): the ids of the task updates, parameter
 * packages and commands already acted on. QoS 1 delivers at least once and a persistent session
 * delivers again what was not acknowledged, so the same message can arrive twice; its id makes
 * the second arrival a no-op. Called inside the transaction of the change it guards, the id is
 * recorded in the same commit as that change: a crash between the two cannot leave one without
 * the other.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../config/errors.js';
import type { Clock } from './clock.js';

export class FleetInbox {
  private readonly sql: Record<'record' | 'purge' | 'count', Statement>;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.sql = {
      // One statement both checks and records: no id can slip between a read and a write.
      record: db.prepare(
        'INSERT INTO fleet_inbox (message_id, kind, received_at) VALUES (?, ?, ?) ON CONFLICT (message_id) DO NOTHING',
      ),
      purge: db.prepare('DELETE FROM fleet_inbox WHERE received_at < ?'),
      count: db.prepare('SELECT count(*) AS n FROM fleet_inbox'),
    };
  }

  /** True when the message was handled already; otherwise records it (in the caller's transaction, if any) and returns false. */
  seen(id: string, kind: string): boolean {
    try {
      return this.sql.record.run(id, kind, this.clock.now()).changes === 0;
    } catch (error) {
      throw new PosError(
        'CODPOS_SPOOL_WRITE',
        `fleet message ${id} could not be recorded: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Forgets ids received before `before` (the broker does not redeliver after its session expiry). Returns how many. */
  prune(before: number): number {
    return this.sql.purge.run(before).changes;
  }

  size(): number {
    return (this.sql.count.get() as { n: number }).n;
  }
}
