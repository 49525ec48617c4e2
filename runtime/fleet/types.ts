/**
 * The fleet link's contract (docs/fleet.md): the messages on the operator's MQTT broker, the
 * outbox the link drains, and the link as the daemon's fleet service and the fleet bench use it.
 *
 * Topics, under `fleet.topicPrefix` (default codpos/v1), T the terminal id, G its fleet group:
 *
 *   out (the terminal publishes)
 *     {prefix}/t/T/state          retained, QoS 1: { online, at, version }; the last will sets online false
 *     {prefix}/t/T/health         retained, QoS 1: the latest health only (not spooled)
 *     {prefix}/t/T/events         QoS 1: business events, spooled (outbox stream `fleet`)
 *     {prefix}/t/T/cmd/result     QoS 1: command results, spooled (stream `fleet`)
 *     {prefix}/t/T/params/report  QoS 1: parameter package reports, spooled (stream `params-report`)
 *   in (the terminal subscribes, QoS 1, persistent session)
 *     {prefix}/t/T/tasks          task updates for this courier's day
 *     {prefix}/t/T/params         parameter packages for this box
 *     {prefix}/t/T/cmd            commands for this box
 *     {prefix}/g/G/params         parameter packages for the whole group
 *     {prefix}/g/G/cmd            commands for the whole group
 *
 * Every message is a FleetMessage in JSON: its `id` makes a repeat (QoS 1 is at least once, and
 * the terminal resends what it was not sure the broker took) harmless to whoever consumes it.
 */
import type { Task } from '../../spool/tasks.js';

/** The kinds of message the terminal receives, by the topic they arrive on. */
export type InboundKind = 'tasks' | 'params' | 'cmd';

/** The kinds of message the terminal publishes through its outbox. */
export type OutboundKind = 'events' | 'cmd/result' | 'params/report';

export interface FleetMessage<Data = Record<string, unknown>> {
  /** UUIDv7, made by the sender; the receiver dedupes on it. */
  id: string;
  /** e.g. 'payment.approved', 'task.rerouted', 'cmd.log-level', 'params.report'. */
  type: string;
  /** ISO 8601, when it was made (not when it was sent). */
  at: string;
  /** The terminal it is from (outbound) or for (inbound, absent on group topics). */
  terminal?: string;
  data: Data;
}

/** A delivery added, removed or re-routed during the day (inbound on t/T/tasks). */
export type TaskUpdate =
  | {
      action: 'add';
      /** As the task list download carries it (spool/tasks.ts). */
      task: Task;
    }
  | { action: 'remove'; taskId: string; reason?: string }
  | { action: 'reroute'; taskId: string; address: string; consignee?: string; reason?: string };

/** The commands terminal management may send (inbound on t/T/cmd or g/G/cmd, type 'cmd.NAME'). */
export type FleetCommandName =
  'log-level' | 'diagnostics' | 'reprint' | 'spool-retry' | 'day-report' | 'params-rollback';

/** What the terminal publishes on cmd/result for a command: its id, and the outcome as data. */
export interface CommandResult {
  commandId: string;
  command: string;
  ok: boolean;
  /** The command's answer (diagnostics results, the day report, the records retried...). */
  result?: unknown;
  /** When not ok: the PosError code and message. */
  code?: string;
  message?: string;
}

/**
 * Where outbound messages wait until the broker has them (PUBACK). In the daemon, the spool's
 * outbox (spool-outbox.ts: streams `fleet` and `params-report`, durable, in order); in the fleet
 * bench, memory (memory-outbox.ts).
 */
export interface FleetOutbox {
  /** Durable when the promise resolves (spool-backed). */
  enqueue(kind: OutboundKind, message: FleetMessage): Promise<void>;
  /** The oldest messages not yet acknowledged by the broker, not leased to another send. */
  lease(limit: number): Array<{ kind: OutboundKind; message: FleetMessage }>;
  /** The broker has them (PUBACK): gone for good. */
  ack(ids: readonly string[]): void;
  /** Not sent after all (the connection dropped first): back in line, in their order. */
  release(ids: readonly string[]): void;
  /** Messages still to send. */
  depth(): number;
}

export type FleetLinkState = 'connecting' | 'connected' | 'offline' | 'stopped';

export interface FleetLinkStats {
  state: FleetLinkState;
  /** Connections made since start (a reconnect adds one). */
  connects: number;
  /** Whether the broker had our session at the last connect (CONNACK session present). */
  sessionPresent: boolean;
  published: number;
  received: number;
  /** The last connection failure, in words, with its code. */
  lastError?: { code: string; message: string };
}
