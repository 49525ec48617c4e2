/**
 * The courier's task list, the couriers who may check in on this terminal and the tariff
 * pickups are quoted with, as last downloaded from the back-end: kept so the day goes on
 * offline. A download replaces them in one commit (a half-replaced list is never seen).
 */
import { PosError } from '../config/errors.js';
import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from './clock.js';

export interface Task {
  id: string;
  waybill: string;
  kind: 'pickup' | 'delivery';
  /** Cash on delivery due, minor units (0: nothing to collect). */
  codAmount: number;
  currency: string | null;
  consignee: string | null;
  address: string | null;
}

export interface CourierRecord {
  id: string;
  name: string;
  /** scrypt$N$r$p$salt$hash (base64). */
  pinHash: string;
}

/** The cached tariff as stored: its JSON read back, not checked (runtime/workflow/tariff.ts reads it). */
export interface CachedTariff {
  version: string;
  body: unknown;
  updatedAt: number;
}

export class TaskCache {
  private readonly sql: Record<
    | 'clearTasks'
    | 'clearCouriers'
    | 'insertTask'
    | 'insertCourier'
    | 'tasks'
    | 'taskByWaybill'
    | 'courier'
    | 'putTariff'
    | 'tariff',
    Statement
  >;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.sql = {
      clearTasks: db.prepare('DELETE FROM task'),
      clearCouriers: db.prepare('DELETE FROM courier'),
      insertTask: db.prepare(
        'INSERT INTO task (id, waybill, kind, cod_amount, currency, consignee, address, updated_at) VALUES (@id, @waybill, @kind, @codAmount, @currency, @consignee, @address, @now)',
      ),
      insertCourier: db.prepare(
        'INSERT INTO courier (id, name, pin_hash, updated_at) VALUES (@id, @name, @pinHash, @now)',
      ),
      tasks: db.prepare(
        'SELECT id, waybill, kind, cod_amount AS codAmount, currency, consignee, address FROM task ORDER BY rowid',
      ),
      taskByWaybill: db.prepare(
        'SELECT id, waybill, kind, cod_amount AS codAmount, currency, consignee, address FROM task WHERE waybill = ? ORDER BY rowid',
      ),
      courier: db.prepare('SELECT id, name, pin_hash AS pinHash FROM courier WHERE id = ?'),
      putTariff: db.prepare(
        'INSERT INTO tariff (slot, version, body, updated_at) VALUES (1, @version, @body, @now) ON CONFLICT (slot) DO UPDATE SET version = excluded.version, body = excluded.body, updated_at = excluded.updated_at',
      ),
      tariff: db.prepare('SELECT version, body, updated_at AS updatedAt FROM tariff WHERE slot = 1'),
    };
  }

  /**
   * Replaces the cached tasks and couriers with a download, in one commit, with the tariff
   * when one came that read (without one, the cached tariff stays).
   */
  replace(
    tasks: readonly Task[],
    couriers: readonly CourierRecord[],
    tariff?: { version: string; body: unknown },
  ): void {
    const now = this.clock.now();
    try {
      this.db.transaction(() => {
        this.sql.clearTasks.run();
        this.sql.clearCouriers.run();
        for (const task of tasks) this.sql.insertTask.run({ ...task, now });
        for (const courier of couriers) this.sql.insertCourier.run({ ...courier, now });
        if (tariff) this.sql.putTariff.run({ version: tariff.version, body: JSON.stringify(tariff.body), now });
      })();
    } catch (error) {
      throw new PosError(
        'CODPOS_SPOOL_TASKS',
        `the downloaded task list could not be stored: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  tasks(): Task[] {
    return this.sql.tasks.all() as Task[];
  }

  tasksFor(waybill: string): Task[] {
    return this.sql.taskByWaybill.all(waybill) as Task[];
  }

  courier(id: string): CourierRecord | undefined {
    return this.sql.courier.get(id) as CourierRecord | undefined;
  }

  /**
   * Replaces the cached tariff alone (a parameter package's, runtime/params/service.ts): the
   * task list stays. The caller has read it (runtime/workflow/tariff.ts readTariff).
   */
  putTariff(tariff: { version: string; body: unknown }): void {
    this.sql.putTariff.run({ version: tariff.version, body: JSON.stringify(tariff.body), now: this.clock.now() });
  }

  /** The last tariff downloaded that read, if any. */
  tariff(): CachedTariff | undefined {
    const row = this.sql.tariff.get() as { version: string; body: string; updatedAt: number } | undefined;
    return row && { version: row.version, body: JSON.parse(row.body) as unknown, updatedAt: row.updatedAt };
  }
}
