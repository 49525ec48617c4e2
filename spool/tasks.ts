/**
 * The courier's task list, the couriers who may check in on this terminal and the tariff
 * pickups are quoted with, as last downloaded from the back-end: kept so the day goes on
 * offline. A download replaces them in one commit (a half-replaced list is never seen); a task
 * update from terminal management (runtime/fleet/task-updates.ts) changes one task in one commit.
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

/** What one task update did to the cached list. */
export interface TaskChange {
  action: 'add' | 'remove' | 'reroute';
  /** The task as it is now (for a remove: as it was). */
  task: Task;
  /** The task before the change (a reroute, or an add that replaced a different task with that id). */
  previous?: Task;
  /** False when the list already was so (the same add again): nothing to show the courier. */
  changed: boolean;
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
    | 'tariff'
    | 'taskById'
    | 'upsertTask'
    | 'deleteTask'
    | 'rerouteTask',
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
      taskById: db.prepare(
        'SELECT id, waybill, kind, cod_amount AS codAmount, currency, consignee, address FROM task WHERE id = ?',
      ),
      upsertTask: db.prepare(
        'INSERT INTO task (id, waybill, kind, cod_amount, currency, consignee, address, updated_at) VALUES (@id, @waybill, @kind, @codAmount, @currency, @consignee, @address, @now) ON CONFLICT (id) DO UPDATE SET waybill = excluded.waybill, kind = excluded.kind, cod_amount = excluded.cod_amount, currency = excluded.currency, consignee = excluded.consignee, address = excluded.address, updated_at = excluded.updated_at',
      ),
      deleteTask: db.prepare('DELETE FROM task WHERE id = ?'),
      rerouteTask: db.prepare(
        'UPDATE task SET address = @address, consignee = @consignee, updated_at = @now WHERE id = @id',
      ),
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

  task(id: string): Task | undefined {
    return this.sql.taskById.get(id) as Task | undefined;
  }

  /**
   * A task added during the day. The same add again changes nothing (changed false); an add with
   * the id of a different task replaces it (the back-end's word is the latest).
   */
  add(task: Task): TaskChange {
    const row: Task = {
      id: task.id,
      waybill: task.waybill,
      kind: task.kind,
      codAmount: task.codAmount,
      currency: task.currency,
      consignee: task.consignee,
      address: task.address,
    };
    return this.change('adding', task.id, () => {
      const previous = this.task(task.id);
      if (previous && sameTask(previous, row)) return { action: 'add', task: previous, changed: false };
      this.sql.upsertTask.run({ ...row, now: this.clock.now() });
      return { action: 'add', task: row, changed: true, ...(previous ? { previous } : {}) };
    });
  }

  /** A task taken off the courier's list; an id the list does not have is CODPOS_SPOOL_UNKNOWN_TASK. */
  remove(id: string): TaskChange {
    return this.change('removing', id, () => {
      const task = this.known(id);
      this.sql.deleteTask.run(id);
      return { action: 'remove', task, changed: true };
    });
  }

  /**
   * A task sent to a new address (and consignee, when given; else the one it had). An id the list
   * does not have is CODPOS_SPOOL_UNKNOWN_TASK.
   */
  reroute(id: string, address: string, consignee?: string): TaskChange {
    return this.change('re-routing', id, () => {
      const previous = this.known(id);
      const task: Task = { ...previous, address, consignee: consignee ?? previous.consignee };
      const changed = !sameTask(previous, task);
      if (changed) this.sql.rerouteTask.run({ id, address, consignee: task.consignee, now: this.clock.now() });
      return { action: 'reroute', task, previous, changed };
    });
  }

  private known(id: string): Task {
    const task = this.task(id);
    if (!task)
      throw new PosError('CODPOS_SPOOL_UNKNOWN_TASK', `task ${id} is not in the cached task list`, {
        details: { taskId: id },
      });
    return task;
  }

  /** One commit for one change; a failure of the database (not an unknown id) is CODPOS_SPOOL_TASKS. */
  private change(what: string, id: string, run: () => TaskChange): TaskChange {
    try {
      return this.db.transaction(run)();
    } catch (error) {
      if (error instanceof PosError) throw error;
      throw new PosError('CODPOS_SPOOL_TASKS', `${what} task ${id} could not be stored: ${(error as Error).message}`, {
        cause: error,
      });
    }
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

function sameTask(a: Task, b: Task): boolean {
  return (
    a.id === b.id &&
    a.waybill === b.waybill &&
    a.kind === b.kind &&
    a.codAmount === b.codAmount &&
    a.currency === b.currency &&
    a.consignee === b.consignee &&
    a.address === b.address
  );
}
