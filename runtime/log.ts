/**
 * pino JSON logs to stdout (journald collects them). Every logged object goes
 * through the one masking module, and so does every message string: a PAN,
 * track data or key can reach a log line only by a bug in config/masking.ts.
 * An error (`err`, or any other key) is logged with its type, code, message and
 * stack, each scrubbed like any other text, and its cause the same way.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { redact, scrubText } from '../config/masking.js';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'codposd',
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are made plain (with their stack) before redaction, which would otherwise keep only
      // their message; pino's own err serializer would then take the plain object for an Object.
      serializers: { err: (value: unknown) => value },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redact(withPlainErrors(object)) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The object with each Error value replaced by `{ type, code?, message, stack, details?, cause? }`. */
function withPlainErrors(object: Record<string, unknown>): Record<string, unknown> {
  let plain: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(object)) {
    if (value instanceof Error) (plain ??= { ...object })[key] = plainError(value, 0);
  }
  return plain ?? object;
}

function plainError(error: Error, depth: number): Record<string, unknown> {
  const { code, details } = error as Error & { code?: unknown; details?: unknown };
  const cause = (error as { cause?: unknown }).cause;
  return {
    type: error.name,
    ...(code !== undefined ? { code } : {}),
    message: error.message,
    stack: error.stack ?? '',
    ...(details !== undefined ? { details } : {}),
    ...(cause instanceof Error && depth < 3 ? { cause: plainError(cause, depth + 1) } : {}),
  };
}
