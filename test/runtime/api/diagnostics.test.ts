/**
 * GET /v1/diagnostics/process and POST /v1/diagnostics/event-loop/reset (runtime/api/diagnostics-routes.ts):
 * the process's memory, CPU and event-loop delay as a technician or the daemon bench reads them;
 * ?gc=1 collects first, or is a 409 saying why when node runs without --expose-gc.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { call, startDaemon } from '../daemon-fixtures.js';
import { codposdBin, waitForLogLine } from '../../helpers/cli.js';

type Json = Record<string, unknown>;
interface Diagnostics {
  pid: number;
  uptimeMs: number;
  collected: boolean;
  memory: Record<'rssBytes' | 'heapUsedBytes' | 'heapTotalBytes' | 'externalBytes' | 'arrayBuffersBytes', number>;
  cpu: { userMicros: number; systemMicros: number };
  eventLoopDelay: {
    since: string;
    samples: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    meanMs: number | null;
  };
}

const globals = globalThis as { gc?: () => void };

async function diagnostics(socketPath: string, query = ''): Promise<Diagnostics> {
  const answer = await call(socketPath, 'GET', `/v1/diagnostics/process${query}`);
  if (answer.status !== 200)
    throw new Error(`GET /v1/diagnostics/process${query}: ${answer.status} ${JSON.stringify(answer.json)}`);
  return answer.json as unknown as Diagnostics;
}

/** Polls until the sampler has taken `count` samples (it samples every 10 ms while the loop is free). */
async function untilSamples(socketPath: string, count: number): Promise<Diagnostics> {
  for (;;) {
    const read = await diagnostics(socketPath);
    if (read.eventLoopDelay.samples >= count) return read;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test(
  'GET /v1/diagnostics/process: memory, CPU time, uptime and the event-loop delay of this process, with sane values',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const read = await diagnostics(socketPath);
    t.equal(read.pid, process.pid, 'the daemon runs in this test process');
    t.equal(read.collected, false);
    t.ok(read.uptimeMs > 0 && Number.isInteger(read.uptimeMs), 'uptime in whole ms');
    for (const [name, bytes] of Object.entries(read.memory))
      t.ok(Number.isInteger(bytes) && bytes >= 0, `${name} is a count of bytes`);
    t.ok(
      read.memory.heapUsedBytes > 1_000_000 && read.memory.heapUsedBytes <= read.memory.heapTotalBytes,
      'heap used is within the heap',
    );
    t.ok(read.memory.rssBytes > read.memory.heapUsedBytes, 'the resident set holds the heap');
    t.ok(read.cpu.userMicros > 0 && read.cpu.systemMicros >= 0, 'CPU time in microseconds');
    const before = process.cpuUsage();
    t.ok(read.cpu.userMicros <= before.user, "the CPU time is the process's own, read before ours");
    t.match(read.eventLoopDelay, { since: /^\d{4}-\d\d-\d\dT/, samples: Number });

    const sampled = await untilSamples(socketPath, 3);
    t.ok(
      typeof sampled.eventLoopDelay.p50Ms === 'number' && sampled.eventLoopDelay.p50Ms >= 0,
      'p50 in ms once sampled',
    );
    t.ok(
      sampled.eventLoopDelay.p50Ms! <= sampled.eventLoopDelay.p99Ms! &&
        sampled.eventLoopDelay.p99Ms! <= sampled.eventLoopDelay.maxMs!,
      'p50 <= p99 <= max',
    );
  },
);

t.test(
  'the event-loop delay shows a blocked loop, and POST /v1/diagnostics/event-loop/reset starts the figures again',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    await untilSamples(socketPath, 1);
    // The daemon shares this process's event loop: a synchronous stretch here is a stall of the daemon.
    const blockedUntil = performance.now() + 250;
    while (performance.now() < blockedUntil);
    const stalled = await untilSamples(socketPath, 10);
    t.ok(stalled.eventLoopDelay.maxMs! >= 200, `a 250 ms stall is seen (max ${stalled.eventLoopDelay.maxMs} ms)`);

    const reset = await call(socketPath, 'POST', '/v1/diagnostics/event-loop/reset');
    t.equal(reset.status, 200);
    t.ok(
      Date.parse(reset.json.since as string) > Date.parse(stalled.eventLoopDelay.since),
      'the figures run from the reset',
    );
    const after = await diagnostics(socketPath);
    t.equal(after.eventLoopDelay.since, reset.json.since);
    t.ok(after.eventLoopDelay.samples < stalled.eventLoopDelay.samples, 'the samples before the reset are gone');
    const sampledAgain = await untilSamples(socketPath, 3);
    t.ok(
      sampledAgain.eventLoopDelay.maxMs! < stalled.eventLoopDelay.maxMs!,
      'the stall before the reset is no longer the max',
    );
  },
);

t.test('?gc=1 collects first where node exposes gc, and is a 409 naming --expose-gc where it does not', async (t) => {
  const { socketPath } = await startDaemon(t);
  const original = globals.gc;
  t.teardown(() => {
    if (original === undefined) delete globals.gc;
    else globals.gc = original;
  });

  delete globals.gc;
  const refused = await call(socketPath, 'GET', '/v1/diagnostics/process?gc=1');
  t.equal(refused.status, 409);
  t.match(refused.json, { error: { code: 'CODPOS_USAGE_GC_NOT_EXPOSED', message: /--expose-gc/ } });
  t.equal((await diagnostics(socketPath, '?gc=0')).collected, false, 'gc=0 reads without collecting');

  let collections = 0;
  globals.gc = () => void collections++;
  const collected = await diagnostics(socketPath, '?gc=1');
  t.equal(collections, 1, 'one collection before the figures');
  t.equal(collected.collected, true);
  await diagnostics(socketPath);
  t.equal(collections, 1, 'no collection without gc=1');

  const bad = await call(socketPath, 'GET', '/v1/diagnostics/process?gc=yes');
  t.match(bad, { status: 400, json: { error: { code: 'CODPOS_USAGE_BAD_REQUEST', message: /^gc: expected 1/ } } });
});

t.test('codposd --sim under node --expose-gc answers ?gc=1 with the heap after a real collection', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codpos-diagnostics-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CODPOS_')));
  const daemon = spawn(process.execPath, ['--expose-gc', codposdBin, '--sim'], {
    env: { ...env, CODPOS_DATA__DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => daemon.kill('SIGKILL'));
  await waitForLogLine(daemon, 'ready');
  const socketPath = join(dataDir, 'codposd.sock');
  const answer = await call(socketPath, 'GET', '/v1/diagnostics/process?gc=1');
  t.equal(answer.status, 200, JSON.stringify(answer.json));
  const read = answer.json as unknown as Diagnostics & Json;
  t.equal(read.pid, daemon.pid);
  t.equal(read.collected, true);
  t.ok(read.memory.heapUsedBytes > 0 && read.memory.heapUsedBytes <= read.memory.heapTotalBytes);
});
