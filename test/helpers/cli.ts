/** Runs the built bins (dist/) as a technician would, for tests of whole processes. */
import { once } from 'node:events';
import { spawnSync, spawn, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { DAEMON_NODE_FLAGS } from '../../scripts/daemon-node-flags.js';

/** The bins as they ship: what package.json names (the bundles scripts/build/bundle.ts writes). */
const bins = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> })
  .bin;
export const codposBin = join(packageRoot, bins.codpos!);
export const codposdBin = join(packageRoot, bins.codposd!);

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `codpos ARGS` to completion; `input` is written to its stdin. */
export function runCodpos(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CliResult {
  const result: SpawnSyncReturns<string> = spawnSync(process.execPath, [codposBin, ...args], {
    encoding: 'utf8',
    input: options.input ?? '',
    env: { ...cleanEnv(), ...options.env },
    cwd: options.cwd ?? packageRoot,
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `codposd ARGS`; the caller owns the process. */
export function startCodposd(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [...DAEMON_NODE_FLAGS, codposdBin, ...args], {
    env: { ...cleanEnv(), ...options.env },
    cwd: options.cwd ?? packageRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The environment without any CODPOS_* variable a developer may have set. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_')));
}

/** Resolves with the first JSON log line whose `msg` is `msg`, or rejects when the process ends first. */
export function waitForLogLine(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.msg === msg) {
            child.stdout!.off('data', onData);
            resolve(parsed);
            return;
          }
        } catch {
          // not a log line
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before logging "${msg}"`)));
  });
}

export type JsonLine = Record<string, unknown>;

/**
 * Reads a process's stdout as JSON lines (`--json` output): `lines` holds every line so
 * far, `next(match)` resolves with the first line, seen or still to come, that matches.
 */
export function readJsonLines(stream: NodeJS.ReadableStream): {
  lines: JsonLine[];
  next: (match: (line: JsonLine) => boolean) => Promise<JsonLine>;
} {
  const lines: JsonLine[] = [];
  const waiters: Array<{ match: (line: JsonLine) => boolean; resolve: (line: JsonLine) => void }> = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as JsonLine;
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(line)) waiter.resolve(line);
        else waiters.push(waiter);
      }
    }
  });
  const next = (match: (line: JsonLine) => boolean) =>
    new Promise<JsonLine>((resolve) => {
      const seen = lines.find(match);
      if (seen) resolve(seen);
      else waiters.push({ match, resolve });
    });
  return { lines, next };
}

/**
 * Runs `codpos ARGS` against the daemon of `dataDir` without blocking this process (a daemon
 * answering it may live in this process), with no CODPOS_* variable but the data directory.
 */
export async function codposAgainst(
  args: string[],
  dataDir: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS_')));
  const child = spawn(process.execPath, [codposBin, ...args], { env: { ...env, CODPOS_DATA__DIR: dataDir } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'exit')) as [number | null];
  return { status, stdout, stderr };
}
