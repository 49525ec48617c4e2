/**
 * A real `codposd --sim` process for the benches that measure the daemon as a whole
 * (daemon.bench.ts, payment.bench.ts): started as a box starts it, under `node --expose-gc`
 * so its heap can be read after a collection, in a data directory of its own, and driven
 * through its local API as the screen app drives it. Nothing here runs in the daemon's process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, simConfigPath } from '../../config/paths.js';
import { DaemonApi } from '../day/api.js';
import { DAEMON_NODE_FLAGS } from '../daemon-node-flags.js';

/** The daemon as it ships: the bin package.json names (the bundle scripts/build/bundle.ts writes). */
const codposdEntry = join(
  packageRoot,
  (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { bin: { codposd: string } }).bin.codposd,
);

export interface BenchDaemon {
  pid: number;
  dataDir: string;
  api: DaemonApi;
  /** From just before the spawn to the `ready` log line read on its stdout. */
  readyMs: number;
  /** SIGTERM, wait for the exit, remove the data directory. */
  stop(): Promise<void>;
}

/**
 * Starts `node <DAEMON_NODE_FLAGS> [--expose-gc] codposd.js --sim --config <its own>` and resolves at its `ready` line.
 * `exposeGc` only where a figure needs a forced collection: a box runs the daemon without it, and
 * V8 refuses the daemon's code cache under other flags, so a start timed with it would be slower
 * than a box's.
 */
export async function startBenchDaemon(options: { exposeGc: boolean }): Promise<BenchDaemon> {
  const dataDir = mkdtempSync(join(tmpdir(), 'codpos-bench-daemon-'));
  const configFile = join(dataDir, 'bench-config.json');
  const shipped = JSON.parse(readFileSync(simConfigPath, 'utf8')) as Record<string, unknown>;
  // Info level: the `ready` line is an info line, and a box logs at info.
  writeFileSync(configFile, JSON.stringify({ ...shipped, data: { dir: dataDir }, log: { level: 'info' } }));
  // No CODPOS_* of the developer's shell: the config file alone says what the daemon is.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS_')));
  const started = performance.now();
  const nodeFlags = [...DAEMON_NODE_FLAGS, ...(options.exposeGc ? ['--expose-gc'] : [])];
  const child = spawn(process.execPath, [...nodeFlags, codposdEntry, '--sim', '--config', configFile], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await readyLine(child);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const readyMs = performance.now() - started;
  // Keep reading its log: a pipe nobody empties would stop the daemon once full.
  child.stdout!.resume();
  return {
    pid: child.pid!,
    dataDir,
    api: new DaemonApi(join(dataDir, 'codposd.sock')),
    readyMs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves at the daemon's `ready` log line; rejects with its stderr's tail when it exits first. */
function readyLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.includes('"msg":"ready"')) {
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          resolve();
          return;
        }
      }
    };
    const onExit = (code: number | null) =>
      reject(
        new Error(
          `codposd exited (${code ?? 'signal'}) before it was ready: ${stderr.trim() || buffered.trim().slice(-500)}`,
        ),
      );
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A field of /proc/<pid>/status in MB (its figures are kB): VmRSS is the resident set, RssAnon its part not backed by a file. */
export function procStatusMb(pid: number, field: 'VmRSS' | 'RssAnon' | 'RssFile'): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    throw new Error(
      `daemon bench: cannot read /proc/${pid}/status (${(error as NodeJS.ErrnoException).code ?? 'error'}): the memory figures need Linux's /proc`,
      { cause: error },
    );
  }
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`daemon bench: /proc/${pid}/status has no ${field} line`);
  return Number(kb) / 1024;
}

/** Tells the simulated PIN pad's customer to type this PIN at every request, for the payments that follow. */
export async function customerTypesPin(api: DaemonApi, pin = '1234'): Promise<void> {
  await api.post('/v1/sim/pinpad', { pin });
}

/**
 * One chip + online PIN payment through the API, as the courier's screen app and the customer do
 * it: the card inserted, POST /v1/payments/card answered approved, the card removed. Its time is
 * the whole of that (the lab bench's row times the same steps in process).
 */
export async function payByChipThroughApi(api: DaemonApi, amount = 2500): Promise<void> {
  await api.post('/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = await api.post<{ outcome: string; reason?: string }>('/v1/payments/card', { amount });
  if (paid.outcome !== 'approved')
    throw new Error(`daemon bench: a payment through the daemon was ${paid.outcome}: ${paid.reason ?? ''}`);
  await api.post('/v1/sim/card', { action: 'remove' });
}
