/**
 * How every command ends: output on stdout, problems on stderr as plain lines
 * (`codpos: ...`), the exit code from the error's area. Never a stack trace for a
 * user's mistake; a bug (a non-PosError) prints its stack so it can be reported.
 */
import { PosError, exitCodeFor } from '../../config/errors.js';
import { scrubText } from '../../config/masking.js';

/** Shared by every copy of this module in the process (Symbol.for: one registry per process). */
const BROKEN_PIPE_GUARD = Symbol.for('codpos.cli.brokenPipeGuard');

/**
 * A reader that stops early (`codpos ... | head -1`) closes the pipe: the next write fails
 * with EPIPE, which Node throws as an unhandled 'error' with its stack. The output was
 * not wanted any more, so the command ends there, quietly and successfully, as a program
 * killed by SIGPIPE would without its signal. Any other stdout error still surfaces.
 */

export function exitQuietlyOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  // Once per stream: an entry point loaded again in one process (the lab tests' driver) must
  // not pile up listeners (Node warns past ten, on stderr, in the command's own output). Marked
  // on the stream itself, not in a set of this module's: the bundled CLI loaded again is a
  // fresh copy of every module, this one's set included.
  const marked = stream as NodeJS.WriteStream & { [BROKEN_PIPE_GUARD]?: true };
  if (marked[BROKEN_PIPE_GUARD]) return;
  marked[BROKEN_PIPE_GUARD] = true;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
}

/** Prints an error the way a technician can act on and sets the exit code. */
export function reportError(error: unknown, options: { json?: boolean } = {}): number {
  const exitCode = exitCodeFor(error);
  if (error instanceof PosError) {
    if (options.json) {
      process.stderr.write(
        JSON.stringify({
          error: error.code,
          message: scrubText(error.message),
          ...(error.details ? { details: error.details } : {}),
        }) + '\n',
      );
    } else {
      for (const line of scrubText(error.message).split('\n')) process.stderr.write(line + '\n');
    }
  } else {
    process.stderr.write(
      `codpos: internal error (please report it): ${scrubText(String((error as Error)?.stack ?? error))}\n`,
    );
  }
  process.exitCode = exitCode;
  return exitCode;
}

/** Wraps a command action so any throw ends as reportError(). */
export function action<Args extends unknown[]>(run: (...args: Args) => unknown | Promise<unknown>) {
  return async (...args: Args): Promise<void> => {
    try {
      await run(...args);
    } catch (error) {
      const last = args[args.length - 1] as { opts?: () => Record<string, unknown> } | undefined;
      const json = typeof last?.opts === 'function' ? Boolean(last.opts().json) : false;
      reportError(error, { json });
    }
  };
}
