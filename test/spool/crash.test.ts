/**
 * Kill -9 at random moments, 50 times: every id the writer printed (it prints
 * only after its write resolved) is in the database exactly once, every STAN it
 * was given is there and none was handed out twice, and integrity_check is ok.
 * The writer runs the BUILT modules (dist/), so `npm run build` first
 * (`npm test` does it in pretest).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../config/paths.js';
import { Spool } from '../../spool/spool.js';
import { Vault, FileKeyProvider } from '../../spool/vault.js';
import { tempDir } from './helpers.js';
import { prng } from '../helpers/prng.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-writer.mjs');
const built = join(packageRoot, 'dist', 'spool', 'index.js');
const KILLS = 50;
/** Seeds the kill moments and, through one derived seed per run, the writer's choices: a failing
 * run reproduces its choices from the seed in the test's name (CODPOS_TEST_SEED=<n> to try another). */
const SEED = Number(process.env.CODPOS_TEST_SEED ?? 20261205);

interface RunOutput {
  lines: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/**
 * Starts the writer and kills it `afterMs` after it said `ready` (the spool is open),
 * or, with `fromSpawn`, `afterMs` after spawn (possibly while it opens the spool).
 */
function runAndKill(
  file: string,
  keyFile: string,
  afterMs: number,
  fromSpawn: boolean,
  writerSeed: number,
): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, file, keyFile, String(writerSeed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => (timer ??= setTimeout(() => child.kill('SIGKILL'), afterMs));
    if (fromSpawn) arm();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.startsWith('ready\n')) arm();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // A line cut by the kill (no newline) was never fully printed: it does not count.
      const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
      resolve({ lines: complete.split('\n').filter(Boolean), signal, code, stderr });
    });
  });
}

t.test(`SIGKILL at random moments, ${KILLS} times: nothing acknowledged is lost (seed ${SEED})`, async (t) => {
  t.setTimeout(120_000);
  if (!existsSync(built)) {
    t.fail(`${built} is missing: run "npm run build" first (npm test does it)`);
    return;
  }
  const dir = tempDir('codpos-crash-');
  const file = join(dir, 'spool.db');
  const keyFile = join(dir, 'vault.key');

  const printed: string[] = [];
  const stans = new Map<string, number>();
  const approved = new Set<string>();
  let killedMidWork = 0;
  const random = prng(SEED);
  for (let run = 0; run < KILLS; run++) {
    // Mostly while writing, every fifth run possibly during start-up (open, migrations, key creation).
    const duringStartup = run % 5 === 0;
    const afterMs = Math.floor(random() * (duringStartup ? 250 : 100));
    const out = await runAndKill(file, keyFile, afterMs, duringStartup, Math.floor(random() * 2 ** 32));
    if (out.signal !== 'SIGKILL') {
      t.fail(`run ${run}: the writer ended by itself (code ${out.code}): ${out.stderr.slice(0, 500)}`);
      return;
    }
    for (const line of out.lines) {
      const [kind, id, stan] = line.split(' ');
      if (kind === 'rec') printed.push(id!);
      else if (kind === 'txn') {
        printed.push(id!);
        stans.set(id!, Number(stan));
      } else if (kind === 'approved') approved.add(id!);
    }
    if (out.lines.length > 1) killedMidWork++;
  }
  t.ok(killedMidWork >= KILLS / 2, `most runs were killed while writing (${killedMidWork} of ${KILLS})`);
  t.ok(printed.length > 1000, `${printed.length} acknowledged writes`);
  t.equal(new Set(printed).size, printed.length, 'no id was printed twice');

  const spool = Spool.open({ file, vault: await Vault.fromProvider(new FileKeyProvider(keyFile)), check: 'full' });
  t.teardown(() => spool.close());
  t.same(spool.integrityProblems(), [], 'integrity_check ok');
  const inOutbox = new Set((spool.db.prepare('SELECT id FROM outbox').all() as Array<{ id: string }>).map((r) => r.id));
  const outboxRows = (spool.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  t.equal(inOutbox.size, outboxRows, 'no record twice in the outbox');
  const txns = new Map(
    (
      spool.db.prepare('SELECT id, stan, state FROM card_txn').all() as Array<{
        id: string;
        stan: number;
        state: string;
      }>
    ).map((r) => [r.id, r]),
  );
  const missing = printed.filter((id) => !inOutbox.has(id) && !txns.has(id));
  t.same(missing, [], 'every printed id is in the database');
  const wrongStan = [...stans].filter(([id, stan]) => txns.get(id)?.stan !== stan);
  t.same(wrongStan, [], 'every printed STAN is stored with its transaction');
  const allStans = [...txns.values()].map((r) => r.stan);
  t.equal(new Set(allStans).size, allStans.length, `no STAN handed out twice (${allStans.length} transactions)`);
  t.same(
    [...approved].filter((id) => txns.get(id)?.state !== 'approved'),
    [],
    'every printed approval is stored',
  );
  const outboxCountForTxns = (
    spool.db
      .prepare(`SELECT count(*) AS n FROM outbox WHERE stream = 'transaction' AND payload = '{"kind":"purchase"}'`)
      .get() as { n: number }
  ).n;
  t.equal(
    outboxCountForTxns,
    txns.size,
    'each journaled transaction has its outbox record: written in the same commit',
  );
});
