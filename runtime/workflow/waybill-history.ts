/**
 * Where a waybill stands, read back from what the terminal recorded: its events in the spool's
 * `waybill-event` stream (those already sent to the back-end too, while retention keeps them),
 * in the order they were recorded, and the one-word status they add up to. The task list's
 * states come from the same reading, so `GET /v1/waybills/{id}` and `GET /v1/tasks` never
 * disagree about a parcel.
 */
import type { OutboxRecord, OutboxState, Task } from '../../spool/index.js';

export type WaybillStatus = 'open' | 'picked-up' | 'dispatched' | 'delivered' | 'exception';

/** One recorded event as a query shows it: the signature's strokes and image are left out (`signed`). */
export interface WaybillHistoryEvent {
  id: string;
  kind: string;
  at: string;
  courierId?: string;
  reason?: string;
  note?: string;
  codDue?: number;
  cod?: unknown;
  signed?: true;
  /** Where the record is on its way to the back-end: `forwarded` once the back-end has it. */
  uplink: OutboxState;
}

export interface WaybillStanding {
  status: WaybillStatus;
  /** The exception's reason code when `status` is `exception`. */
  reason?: string;
}

export type TaskState = 'done' | 'exception' | 'open';

interface RecordedPayload {
  kind?: string;
  waybill?: string;
  at?: string;
  courierId?: string;
  reason?: string;
  note?: string;
  codDue?: number;
  cod?: unknown;
  signature?: unknown;
}

/** The recorded events of each waybill, in the order they were recorded. */
export function eventsByWaybill(records: ReadonlyArray<OutboxRecord>): Map<string, WaybillHistoryEvent[]> {
  const byWaybill = new Map<string, WaybillHistoryEvent[]>();
  for (const record of [...records].sort((a, b) => a.seq - b.seq)) {
    const payload = record.payload as RecordedPayload;
    if (typeof payload.waybill !== 'string' || typeof payload.kind !== 'string') continue;
    const event: WaybillHistoryEvent = {
      id: record.id,
      kind: payload.kind,
      at: payload.at ?? new Date(record.createdAt).toISOString(),
      ...(payload.courierId !== undefined ? { courierId: payload.courierId } : {}),
      ...(payload.reason !== undefined ? { reason: payload.reason } : {}),
      ...(payload.note !== undefined ? { note: payload.note } : {}),
      ...(payload.codDue !== undefined ? { codDue: payload.codDue } : {}),
      ...(payload.cod !== undefined ? { cod: payload.cod } : {}),
      ...(payload.signature !== undefined ? { signed: true as const } : {}),
      uplink: record.state,
    };
    const list = byWaybill.get(payload.waybill) ?? [];
    list.push(event);
    byWaybill.set(payload.waybill, list);
  }
  return byWaybill;
}

const STATUS_OF_KIND: Record<string, WaybillStatus> = {
  pickup: 'picked-up',
  dispatch: 'dispatched',
  delivery: 'delivered',
  exception: 'exception',
};

/**
 * The status the events add up to: delivered once a delivery is recorded (a delivery is the
 * end of a parcel's road, whatever is recorded after it by mistake), else what the last event
 * says (a not-home followed by a new dispatch is dispatched again); open with no event.
 */
export function waybillStanding(events: ReadonlyArray<Pick<WaybillHistoryEvent, 'kind' | 'reason'>>): WaybillStanding {
  if (events.some((event) => event.kind === 'delivery')) return { status: 'delivered' };
  const last = events[events.length - 1];
  if (last === undefined) return { status: 'open' };
  const status = STATUS_OF_KIND[last.kind] ?? 'open';
  return status === 'exception'
    ? { status, ...(last.reason !== undefined ? { reason: last.reason } : {}) }
    : { status };
}

/**
 * A task's state: done once an event of the task's own kind is recorded for its waybill (a
 * pickup task by a pickup, a delivery task by a delivery); an exception when the waybill's last
 * event is one (the parcel and its COD go back to the depot); else open.
 */
export function taskState(
  task: Pick<Task, 'kind'>,
  events: ReadonlyArray<Pick<WaybillHistoryEvent, 'kind' | 'reason'>>,
): { state: TaskState; reason?: string } {
  if (events.some((event) => event.kind === task.kind)) return { state: 'done' };
  const last = events[events.length - 1];
  if (last?.kind === 'exception')
    return { state: 'exception', ...(last.reason !== undefined ? { reason: last.reason } : {}) };
  return { state: 'open' };
}
