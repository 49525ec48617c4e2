/**
 * Inbound fleet messages checked before anyone acts on them: JSON, the FleetMessage shape, and by
 * the kind its topic carries, a TaskUpdate (tasks) or a known command 'cmd.NAME' with its
 * arguments (cmd). Parameter packages are checked here only as FleetMessages: their envelope and
 * signature are the parameter service's to judge (runtime/params/).
 *
 * A message that fails is a CODPOS_FLEET_MESSAGE PosError naming the topic and the field; the link
 * logs it and drops it (and still acknowledges it, so the broker does not redeliver it forever).
 */
import { z } from 'zod';
import { PosError } from '../../config/errors.js';
import type { FleetCommandName, FleetMessage, InboundKind, TaskUpdate } from './types.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Each command's arguments (the message's `data`), the one place they are written: the link checks
 * a command with them before anyone acts on it, and runtime/fleet/commands.ts reads them. More
 * fields are left for the command to ignore.
 */
export const COMMAND_ARGS = {
  'log-level': z.looseObject({ level: z.enum(LOG_LEVELS) }),
  diagnostics: z.looseObject({ gc: z.boolean().default(false) }),
  // `journalId` as POST /v1/receipts/reprint names it, or `id`.
  reprint: z.looseObject({ journalId: z.string().min(1).optional(), id: z.string().min(1).optional() }),
  'spool-retry': z.looseObject({ stream: z.string().min(1).optional() }),
  'day-report': z.looseObject({
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
      .optional(),
  }),
  // Back to the previous parameter package (runtime/params/service.ts rollback): no arguments.
  'params-rollback': z.looseObject({}),
} satisfies Record<FleetCommandName, z.ZodType>;

export const FLEET_COMMANDS = Object.keys(COMMAND_ARGS) as FleetCommandName[];

/** Whether `name` is a command the terminal has. */
export function isFleetCommand(name: string): name is FleetCommandName {
  return Object.hasOwn(COMMAND_ARGS, name);
}

const fleetMessage = z.object({
  id: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  at: z.iso.datetime({ offset: true }),
  terminal: z.string().min(1).optional(),
  data: z.record(z.string(), z.unknown()),
});

const text = z.string().min(1).max(512);
/** A TaskUpdate (types.ts), the one definition: the link's check and task-updates.ts read it. */
export const TASK_UPDATE = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('add'),
    task: z.object({
      id: z.string().min(1).max(64),
      waybill: z.string().min(1).max(64),
      kind: z.enum(['pickup', 'delivery']),
      // Minor units: a fraction or a negative amount is never a COD amount.
      codAmount: z.number().int().nonnegative(),
      // ISO 4217, numeric (840) or alphabetic (USD), as the task list download carries it.
      currency: z
        .string()
        .regex(/^[A-Z0-9]{3}$/, 'expected an ISO 4217 code, numeric (840) or alphabetic (USD)')
        .nullable(),
      consignee: text.nullable(),
      address: text.nullable(),
    }),
  }),
  z.object({ action: z.literal('remove'), taskId: z.string().min(1).max(64), reason: text.optional() }),
  z.object({
    action: z.literal('reroute'),
    taskId: z.string().min(1).max(64),
    address: text,
    consignee: text.optional(),
    reason: text.optional(),
  }),
]);

export type InboundMessage =
  | { kind: 'tasks'; message: FleetMessage<TaskUpdate> }
  | { kind: 'params'; message: FleetMessage }
  | { kind: 'cmd'; command: FleetCommandName; message: FleetMessage };

/**
 * Checks a message the broker delivered on `topic` (of inbound kind `kind`). `terminalId`: a
 * message that names a terminal must name this one. Throws CODPOS_FLEET_MESSAGE (the message
 * names the topic and the field), or CODPOS_FLEET_UNKNOWN_COMMAND for a well-formed command the
 * terminal does not have (details.messageId: the sender may be answered).
 */
export function parseInbound(kind: InboundKind, topic: string, payload: Buffer, terminalId: string): InboundMessage {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    // Not the parser's message: it quotes the payload, which could hold anything (a PAN).
    throw bad(topic, `not JSON (${payload.length} bytes)`, error);
  }
  const message = check(fleetMessage, json, topic, '');
  if (message.terminal !== undefined && message.terminal !== terminalId)
    throw bad(topic, `terminal: ${JSON.stringify(message.terminal)} is not this terminal`);
  if (kind === 'tasks') {
    const data = check(TASK_UPDATE, message.data, topic, 'data.') as TaskUpdate;
    return { kind, message: { ...message, data } };
  }
  if (kind === 'params') return { kind, message };
  const name = /^cmd\.(.+)$/.exec(message.type)?.[1];
  if (name === undefined) throw bad(topic, `type: expected cmd.NAME, got ${JSON.stringify(message.type)}`);
  if (!isFleetCommand(name))
    throw new PosError(
      'CODPOS_FLEET_UNKNOWN_COMMAND',
      `${topic}: no command ${JSON.stringify(name)} on this terminal`,
      {
        details: { topic, messageId: message.id, command: name },
      },
    );
  const data = check(COMMAND_ARGS[name] as z.ZodType, message.data, topic, 'data.') as Record<string, unknown>;
  return { kind, command: name, message: { ...message, data } };
}

function check<T>(schema: z.ZodType<T>, value: unknown, topic: string, prefix: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = `${prefix}${issue.path.map(String).join('.')}`.replace(/\.$/, '') || 'message';
  throw bad(topic, `${field}: ${issue.message}`);
}

function bad(topic: string, problem: string, cause?: unknown): PosError {
  return new PosError('CODPOS_FLEET_MESSAGE', `${topic}: ${problem}`, {
    details: { topic },
    ...(cause !== undefined ? { cause } : {}),
  });
}
