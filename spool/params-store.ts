/**
 * The parameter package running on this box and the one before it (table param_set, migration
 * 10). Each slot keeps the envelope exactly as it was verified, so a restart verifies it again
 * with the keys installed then. Applying and rolling back each move both slots in ONE commit:
 * a power cut leaves the old pair or the new pair, never a box with two or no active package.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../config/errors.js';
import type { Clock } from './clock.js';

export interface StoredParamSet {
  version: number;
  /** The envelope as JSON text. */
  envelope: string;
  source: string;
  /** ms since the epoch. */
  appliedAt: number;
}

type Slot = 'active' | 'previous';

export class ParamsStore {
  private readonly sql: Record<'get' | 'put' | 'drop', Statement>;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.sql = {
      get: db.prepare('SELECT version, envelope, source, applied_at AS appliedAt FROM param_set WHERE slot = ?'),
      put: db.prepare(
        'INSERT INTO param_set (slot, version, envelope, source, applied_at) VALUES (@slot, @version, @envelope, @source, @appliedAt) ON CONFLICT (slot) DO UPDATE SET version = excluded.version, envelope = excluded.envelope, source = excluded.source, applied_at = excluded.applied_at',
      ),
      drop: db.prepare('DELETE FROM param_set WHERE slot = ?'),
    };
  }

  /** The package running; undefined: the configured parameters run. */
  running(): StoredParamSet | undefined {
    return this.slot('active');
  }

  /** The package that ran before the running one (what rollback returns to). */
  previous(): StoredParamSet | undefined {
    return this.slot('previous');
  }

  /** The new package becomes active and the active one previous, in one commit. */
  apply(version: number, envelope: string, source: string): StoredParamSet {
    const applied: StoredParamSet = { version, envelope, source, appliedAt: this.clock.now() };
    this.db.transaction(() => {
      const active = this.slot('active');
      if (active) this.put('previous', active);
      this.put('active', applied);
    })();
    return applied;
  }

  /**
   * The previous package becomes active again and the one it replaces becomes previous (a
   * second rollback undoes the first), in one commit. CODPOS_PARAMS_NO_PREVIOUS without one.
   */
  rollback(): StoredParamSet {
    return this.db.transaction(() => {
      const previous = this.slot('previous');
      if (!previous)
        throw new PosError(
          'CODPOS_PARAMS_NO_PREVIOUS',
          'there is no previous parameter version to roll back to (none was applied before the running one)',
        );
      const active = this.slot('active');
      if (active) this.put('previous', active);
      else this.sql.drop.run('previous');
      this.put('active', previous);
      return previous;
    })();
  }

  private slot(slot: Slot): StoredParamSet | undefined {
    return this.sql.get.get(slot) as StoredParamSet | undefined;
  }

  private put(slot: Slot, set: StoredParamSet): void {
    this.sql.put.run({ slot, ...set });
  }
}
