/**
 * Task updates from terminal management (topic t/T/tasks, docs/fleet.md): a delivery added,
 * removed or re-routed during the day. Each is applied to the cached task list in one commit
 * with its message id in the fleet inbox (a redelivered update is recognised and not applied
 * twice), then published on the event bus as `tasks.updated` — the event the screen already
 * reloads its list on — with the change in its data, so a re-routed delivery shows at once.
 */
import { PosError } from '../../config/errors.js';
import type { Spool } from '../../spool/spool.js';
import type { TaskChange } from '../../spool/tasks.js';
import type { FleetMessage, TaskUpdate } from './types.js';
import { TASK_UPDATE } from './messages.js';

/** The message's data as a TaskUpdate; CODPOS_FLEET_MESSAGE naming the field that is wrong. */
export function parseTaskUpdate(data: unknown): TaskUpdate {
  const parsed = TASK_UPDATE.safeParse(data);
  if (parsed.success) return parsed.data as TaskUpdate;
  const issue = parsed.error.issues[0]!;
  throw new PosError(
    'CODPOS_FLEET_MESSAGE',
    `task update: ${issue.path.length > 0 ? issue.path.join('.') : 'data'}: ${issue.message}`,
    { details: { field: issue.path.join('.') } },
  );
}

export interface TaskUpdateDeps {
  spool: () => Spool;
  events: { publish(type: string, data: Record<string, unknown>): unknown };
}

/** What an update did: applied (with the change), or a repeat of one already applied. */
export type TaskUpdateOutcome = { duplicate: true } | { duplicate: false; change: TaskChange };

/**
 * Applies one task update message: parsed, applied with its id recorded in one commit, and
 * (when it changed the list) published as `tasks.updated`. An unknown task id or a malformed
 * update throws (CODPOS_SPOOL_UNKNOWN_TASK, CODPOS_FLEET_MESSAGE) and leaves the list and the
 * inbox as they were.
 */
export function applyTaskUpdate(deps: TaskUpdateDeps, message: FleetMessage<unknown>): TaskUpdateOutcome {
  const update = parseTaskUpdate(message.data);
  const spool = deps.spool();
  const outcome = spool.db.transaction((): TaskUpdateOutcome => {
    if (spool.fleetInbox.seen(message.id, 'tasks')) return { duplicate: true };
    return { duplicate: false, change: applyToCache(spool, update) };
  })();
  if (!outcome.duplicate && outcome.change.changed)
    deps.events.publish('tasks.updated', taskUpdatedEvent(outcome.change, update, spool.tasks.tasks().length));
  return outcome;
}

function applyToCache(spool: Spool, update: TaskUpdate): TaskChange {
  switch (update.action) {
    case 'add':
      return spool.tasks.add(update.task);
    case 'remove':
      return spool.tasks.remove(update.taskId);
    case 'reroute':
      return spool.tasks.reroute(update.taskId, update.address, update.consignee);
  }
}

/**
 * The `tasks.updated` data: `tasks` (how many are cached now, as after a refresh) and `change`,
 * what the courier is shown: the action, the task, its waybill and where it goes now.
 */
export function taskUpdatedEvent(change: TaskChange, update: TaskUpdate, tasks: number): Record<string, unknown> {
  const reason = update.action === 'add' ? undefined : update.reason;
  return {
    tasks,
    change: {
      action: change.action,
      taskId: change.task.id,
      waybill: change.task.waybill,
      kind: change.task.kind,
      address: change.task.address,
      consignee: change.task.consignee,
      ...(change.previous && change.action === 'reroute' ? { previousAddress: change.previous.address } : {}),
      ...(reason !== undefined ? { reason } : {}),
    },
  };
}
