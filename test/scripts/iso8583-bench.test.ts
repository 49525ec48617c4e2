/**
 * `npm run bench -- iso8583` (scripts/bench/iso8583.bench.ts): the built bench script run as
 * `npm run bench` runs it, with short rounds: each dialect in a process of its own, the rows
 * of both, and a ratio that is the median of the paired rounds' ratios.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ratio, toJsonLine } from '../../scripts/bench/harness.js';

const benchScript = fileURLToPath(new URL('../../dist/scripts/bench.js', import.meta.url));

t.test('the ratio of paired rounds is their median ratio, not the ratio of the two medians', async (t) => {
  const row = { bench: 'x', unit: 'ops_per_s' as const, value: 400, peer: 'p', peerValue: 20, pairedRatio: 33 };
  t.equal(ratio(row), 33);
  t.match(JSON.parse(toJsonLine(row)), { ops_per_s: 400, peer_ops_per_s: 20, ratio: 33 });
  t.equal(ratio({ ...row, pairedRatio: undefined }), 20, 'without pairs: ours over the peer');
});

t.test('each dialect runs in a process of its own and both rows come back', async (t) => {
  const child = spawn(
    process.execPath,
    ['--expose-gc', benchScript, 'iso8583', '--json', '--rounds', '1', '--round-ms', '20'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_DEBUG: 'child_process' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) t.comment(stderr.split('\n').slice(-20).join('\n'));
  t.equal(code, 0, 'the bench run ends with exit 0');
  const rows = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { bench: string; ratio: number });
  t.same(
    rows.map((row) => row.bench),
    ['iso8583.pack.pos87b', 'iso8583.unpack.pos87b', 'iso8583.pack.iso87a', 'iso8583.unpack.iso87a'],
  );
  t.ok(
    rows.every((row) => row.ratio > 1),
    'every row measured ours beside the peer',
  );
  // NODE_DEBUG=child_process in the parent logs each fork: the module's parts, one process each.
  const forks = stderr.match(/--one-module-for-parent/g) ?? [];
  t.equal(forks.length, 2, 'two forked processes: one for pos87b, one for iso87a');
});
