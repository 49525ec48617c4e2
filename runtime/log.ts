/**
 * pino JSON logs to stdout (journald collects them). Every logged object goes
 * through the one masking module, and so does every message string: a PAN,
 * track data or key can reach a log line only by a bug in config/masking.ts.
 * An error (`err`, or any other key) is logged with its type, code, message and
 * stack, each scrubbed like any other text, and its cause the same way.
 *
 * Under systemd with stdout connected to the journal, each line starts with its syslog priority
 * (`<3>{"level":"error",...}`): journald (SyslogLevelPrefix=yes, its default) strips the prefix
 * and files the line at that priority, so `journalctl -p warning` finds warnings and errors.
 */
import { fstatSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';
import { redact, scrubText } from '../config/masking.js';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /** The file descriptor written when no `destination` is given (1, stdout). */
  fd?: number;
  /** Where JOURNAL_STREAM is read (process.env). */
  env?: NodeJS.ProcessEnv;
}

/** sd-daemon(3) priorities by pino level: fatal is "critical", debug and trace are "debug". */
export function journalPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/**
 * True when `fd` is the journal's stream: systemd sets JOURNAL_STREAM to its `device:inode`
 * (systemd.exec(5)). Compared, not just present: a child whose stdout was redirected (a pipe, a
 * file) inherits the variable but writes elsewhere, where a prefix would only be noise.
 */
export function writesToJournal(env: NodeJS.ProcessEnv, fd: number): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    const stats = fstatSync(fd, { bigint: true });
    return stats.dev === BigInt(match[1]!) && stats.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}

/**
 * Prefixes each line with `<N>`, its priority. pino tells a stream marked with its metadata
 * symbol the level of the line it is about to write (`lastLevel`), so nothing is parsed back.
 */
function withJournalPriority(inner: DestinationStream): DestinationStream {
  const stream = {
    [pino.symbols.needsMetadataGsym]: true,
    lastLevel: 30,
    write(line: string) {
      inner.write(`<${journalPriority(stream.lastLevel)}>${line}`);
    },
  };
  return stream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 1;
  const plain = options.destination ?? pino.destination({ dest: fd, sync: true });
  const destination =
    options.destination === undefined && writesToJournal(options.env ?? process.env, fd)
      ? withJournalPriority(plain)
      : plain;
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
    destination,
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
