/**
 * The commands terminal management sends a box (topics t/T/cmd and g/G/cmd, docs/fleet.md), each
 * a FleetMessage of type `cmd.NAME` whose data holds its arguments, answered with a CommandResult
 * published on t/T/cmd/result. Each command does what the local API's route or the technician's
 * CLI does for the same thing; the services are given as narrow functions, so this module is
 * tested without a daemon. A failure is an answer too (ok false, the PosError's code and
 * message): the operator sees why, and nothing is retried on its own.
 */
import { z } from 'zod';
import { PosError } from '../../config/errors.js';
import type { CommandResult, FleetCommandName, FleetMessage } from './types.js';
import { COMMAND_ARGS, FLEET_COMMANDS, isFleetCommand, type LogLevel } from './messages.js';

/** What the commands act on (the daemon wires them to its logger, payments, spool and workflow). */
export interface CommandDeps {
  /** Sets the daemon's logger level at once (as SIGHUP's reload or POST /v1/diagnostics/log-level); returns the one it had. */
  setLogLevel(level: LogLevel): { previous: string };
  /** What GET /v1/diagnostics/process answers (with `gc`: after a full collection). */
  diagnostics(gc: boolean): unknown;
  /** POST /v1/receipts/reprint: that payment's receipt, or every held one. */
  reprint(journalId: string | undefined): Promise<unknown>;
  /** `codpos spool retry --dead [--stream S]`: dead-lettered records back to ready; how many. */
  retryDead(stream: string | undefined): number;
  /** GET /v1/reports/day: the courier's end of day (default today). */
  dayReport(date: string | undefined): unknown;
  /** POST /v1/params/rollback: the previous parameter package runs again; its report. */
  paramsRollback(): Promise<unknown>;
}

/**
 * Runs the command a message carries and returns its result; never throws (a failure is a result
 * with ok false). `log` hears of unexpected errors, whose text does not go to the broker.
 */
export async function runCommand(
  deps: CommandDeps,
  message: FleetMessage<unknown>,
  log?: { error(details: Record<string, unknown>, text: string): void },
): Promise<CommandResult> {
  const command = message.type.startsWith('cmd.') ? message.type.slice('cmd.'.length) : message.type;
  const base = { commandId: message.id, command };
  try {
    return { ...base, ok: true, result: await run(deps, command, message.data ?? {}) };
  } catch (error) {
    if (error instanceof PosError) return { ...base, ok: false, code: error.code, message: error.message };
    log?.error({ err: error, command, commandId: message.id }, 'fleet command failed unexpectedly');
    const internal = new PosError(
      'CODPOS_INTERNAL_FLEET_COMMAND',
      `command ${command} failed unexpectedly; the terminal's log has the error`,
    );
    return { ...base, ok: false, code: internal.code, message: internal.message };
  }
}

async function run(deps: CommandDeps, command: string, data: unknown): Promise<unknown> {
  if (!isFleetCommand(command))
    throw new PosError(
      'CODPOS_FLEET_UNKNOWN_COMMAND',
      `no fleet command ${JSON.stringify(command.slice(0, 64))}; the terminal has ${FLEET_COMMANDS.join(', ')}`,
    );
  switch (command) {
    case 'log-level': {
      const { level } = parseArgs(command, data, 'CODPOS_USAGE_LOG_LEVEL');
      return { level, previous: deps.setLogLevel(level).previous };
    }
    case 'diagnostics':
      return deps.diagnostics(parseArgs(command, data).gc);
    case 'reprint': {
      const args = parseArgs(command, data);
      return deps.reprint(args.journalId ?? args.id);
    }
    case 'spool-retry':
      return { retried: deps.retryDead(parseArgs(command, data).stream) };
    case 'day-report':
      return deps.dayReport(parseArgs(command, data).date);
    case 'params-rollback':
      parseArgs(command, data);
      return deps.paramsRollback();
  }
}

function parseArgs<Name extends FleetCommandName>(
  command: Name,
  data: unknown,
  code: 'CODPOS_FLEET_MESSAGE' | 'CODPOS_USAGE_LOG_LEVEL' = 'CODPOS_FLEET_MESSAGE',
): z.infer<(typeof COMMAND_ARGS)[Name]> {
  const parsed = COMMAND_ARGS[command].safeParse(data);
  if (parsed.success) return parsed.data as z.infer<(typeof COMMAND_ARGS)[Name]>;
  const issue = parsed.error.issues[0]!;
  throw new PosError(
    code,
    `command ${command}: ${issue.path.length > 0 ? issue.path.join('.') : 'arguments'}: ${issue.message}`,
  );
}
