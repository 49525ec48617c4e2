/**
 * `npm run bench -- fleet` (scripts/bench/fleet.bench.ts): the built bench script run as
 * `npm run bench` runs it, with a tiny fleet on a real mosquitto, and its --terminals option.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { percentile } from '../../scripts/bench/harness.js';

const benchScript = fileURLToPath(new URL('../../dist/scripts/bench.js', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', benchScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('percentile is the nearest-rank value: the smallest at or above p % of the values', async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  t.equal(percentile(hundred, 99), 99);
  t.equal(percentile(hundred, 100), 100);
  t.equal(percentile(hundred, 50), 50);
  t.equal(percentile([7, 3, 5], 99), 7, 'with fewer than 100 values, p99 is the largest');
  t.equal(percentile([7, 3, 5], 1), 3);
  t.ok(Number.isNaN(percentile([], 50)), 'no values, no percentile');
});

t.test('--terminals must be whole numbers of 1 or more; the run stops before any broker starts', async (t) => {
  for (const bad of ['0', '100,x', '10,', '2.5']) {
    const result = await runBench(['fleet', '--terminals', bad]);
    t.equal(result.code, 2, `--terminals ${bad}: exit 2`);
    t.match(result.stderr, /--terminals must be whole numbers of 1 or more/, `--terminals ${bad}: named`);
    t.equal(result.stdout, '', `--terminals ${bad}: no rows`);
  }
});

t.test(
  'fleet --terminals 3 --json: FleetLink terminals and the bare-client peer on a real broker, every row for N = 3',
  async (t) => {
    const result = await runBench(['fleet', '--terminals', '3', '--rounds', '2', '--json']);
    t.equal(result.code, 0, `exit 0 (stderr:\n${result.stderr})`);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const byName = new Map(rows.map((row) => [row.bench as string, row]));
    t.same(
      rows.map((row) => row.bench),
      [
        'sessions_connected',
        'broker_clients_connected',
        'connect_all_ms',
        'task_push_p50_ms',
        'task_push_p99_ms',
        'task_push_all_ms',
        'health_msgs_per_s',
        'broker_cpu_per_1k_health_ms',
        'broker_rss_per_session',
        'broker_rss_end',
        'sim_heap_per_terminal',
        'sim_rss_per_terminal',
      ].map((what) => `fleet.n3.${what}`),
    );
    // Every terminal held its session, by its own link and by the broker's $SYS count.
    t.match(byName.get('fleet.n3.sessions_connected'), { count: 3, peer: 'bare MQTT.js clients', peer_count: 3 });
    t.match(byName.get('fleet.n3.broker_clients_connected'), { count: 3, peer_count: 3 });
    for (const what of ['connect_all_ms', 'task_push_p50_ms', 'task_push_p99_ms', 'task_push_all_ms']) {
      const row = byName.get(`fleet.n3.${what}`)!;
      t.ok((row.ms as number) > 0 && (row.peer_ms as number) > 0, `${what}: a time on both sides`);
    }
    const p50 = byName.get('fleet.n3.task_push_p50_ms')!;
    const p99 = byName.get('fleet.n3.task_push_p99_ms')!;
    t.ok((p99.ms as number) >= (p50.ms as number), 'p99 is not below the median');
    const health = byName.get('fleet.n3.health_msgs_per_s')!;
    t.ok((health.records_per_s as number) > 0 && (health.peer_records_per_s as number) > 0, 'health received');
    t.ok((byName.get('fleet.n3.broker_rss_end')!.mb as number) > 0, "the broker's memory was read");
    // Three sessions move the broker's resident set by a page or none: only that it was read.
    t.ok(
      Number.isFinite(byName.get('fleet.n3.broker_rss_per_session')!.kb),
      "the broker's memory per session was read",
    );
    t.ok(Number.isFinite(byName.get('fleet.n3.broker_cpu_per_1k_health_ms')!.ms), "the broker's CPU was read");
    t.notOk('peer' in byName.get('fleet.n3.sim_rss_per_terminal')!, 'no peer for the resident set');
  },
);
