/** `codpos spool ...` run as a technician runs it: the BUILT CLI against a real spool file. */
import t from 'tap';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { runCodpos } from '../helpers/cli.js';
import { Spool } from '../../spool/spool.js';
import { Vault } from '../../spool/vault.js';
import { tempDir, TEST_PAN, TEST_TRACK2, TEST_PIN_BLOCK } from '../spool/helpers.js';

async function seededSpool(): Promise<{ dir: string; file: string; deadId: string; readyId: string }> {
  const dir = tempDir('codpos-spool-cli-');
  const file = join(dir, 'spool.db');
  const spool = Spool.open({ file, vault: Vault.fromKey(Buffer.alloc(32, 9)) });
  const ready = await spool.outbox.enqueue('waybill-event', { waybill: 'RR123456785GB', event: 'delivered' });
  // A PAN that reached a payload anyway (the outbox refuses it; a hand edit or an old writer did not):
  // the CLI must still mask it.
  spool.db
    .prepare('UPDATE outbox SET payload = ? WHERE id = ?')
    .run(JSON.stringify({ waybill: 'RR123456785GB', event: 'delivered', pan: TEST_PAN }), ready.id);
  await spool.outbox.enqueue('waybill-event', { waybill: 'RR123456785GB', event: 'signature' });
  const dead = await spool.outbox.enqueue('advice', { mti: '0220' }, { sealed: { pan: TEST_PAN, expiry: '2212' } });
  spool.outbox.lease('advice');
  spool.outbox.fail(dead.id, 'acquirer: format error in DE4', { permanent: true });
  const forwarded = await spool.outbox.enqueue('transaction', { amount: 2500 });
  spool.outbox.lease('transaction');
  spool.outbox.ack(forwarded.id);
  const txn = spool.journal.begin({
    amount: 2500,
    currency: '840',
    pan: TEST_PAN,
    sensitive: { track2: TEST_TRACK2, pinBlock: TEST_PIN_BLOCK },
    offline: true,
  });
  spool.journal.transition(txn.id, 'offline_approved');
  spool.journal.begin({
    amount: 900,
    currency: '840',
    pan: TEST_PAN,
    sensitive: { track2: TEST_TRACK2, pinBlock: TEST_PIN_BLOCK },
  });
  spool.close();
  return { dir, file, deadId: dead.id, readyId: ready.id };
}

/** Card data found in clear in `text`, by name. */
function cardDataIn(text: string): string[] {
  const found: string[] = [];
  if (text.includes(TEST_PAN)) found.push('full PAN');
  if (text.includes('22122011143804400000')) found.push('track 2');
  if (text.toUpperCase().includes(TEST_PIN_BLOCK)) found.push('PIN block');
  return found;
}

t.test('status: depth per stream, dead letters, disk use, offline exposure', async (t) => {
  const { file } = await seededSpool();
  const json = runCodpos(['spool', 'status', '--db', file, '--json']);
  t.equal(json.status, 0, json.stderr);
  const status = JSON.parse(json.stdout);
  const byStream = Object.fromEntries(status.streams.map((s: { stream: string }) => [s.stream, s]));
  t.match(byStream['waybill-event'], { depth: 2, ready: 2, dead: 0 });
  t.match(byStream.advice, { depth: 0, dead: 1 });
  t.match(byStream.transaction, { depth: 0, forwarded: 1 });
  t.equal(status.depth, 2);
  t.equal(status.dead, 1);
  t.ok(status.diskBytes > 0);
  t.same(status.offline, { count: 1, amount: 2500 });
  t.same(status.transactions, { offline_approved: 1, pending: 1 });
  const human = runCodpos(['spool', 'status', '--db', file]);
  t.equal(human.status, 0, human.stderr);
  t.match(human.stdout, /^waybill-event\s+2\s+2\s+0\s+0\s+0\s+0\s+\S/m);
  t.match(human.stdout, /to forward: 2; dead letters: 1/);
  t.same(cardDataIn(human.stdout + json.stdout), [], 'no card data in the output');
});

t.test('status on a damaged database, run twice: refused both times, one copy kept and named both times', async (t) => {
  const dir = tempDir('codpos-spool-cli-');
  const file = join(dir, 'spool.db');
  writeFileSync(file, 'not SQLite: a damaged spool '.repeat(200));
  const runs = [runCodpos(['spool', 'status', '--db', file]), runCodpos(['spool', 'status', '--db', file])];
  for (const run of runs) {
    t.not(run.status, 0);
    t.match(run.stderr, /spool database .*spool\.db is damaged/);
  }
  const copies = readdirSync(dir).filter((f) => f.startsWith('spool.db.corrupt-') && !f.endsWith('-wal'));
  t.equal(copies.length, 1, 'one copy for one corruption');
  t.match(runs[0]!.stderr, new RegExp(`a copy was kept at .*${copies[0]}`));
  t.match(runs[1]!.stderr, new RegExp(`a copy of it was already kept at .*${copies[0]}`));
});

t.test(
  'list: filters by stream and state, shows the dead reason, masks payloads, never opens sealed data',
  async (t) => {
    const { file, deadId } = await seededSpool();
    const dead = runCodpos(['spool', 'list', '--db', file, '--state', 'dead', '--json']);
    t.equal(dead.status, 0, dead.stderr);
    const records = JSON.parse(dead.stdout);
    t.equal(records.length, 1);
    t.match(records[0], {
      id: deadId,
      stream: 'advice',
      state: 'dead',
      hasSealed: true,
      lastError: 'acquirer: format error in DE4; refused as permanent',
    });
    t.notOk('sealed' in records[0]);
    const waybills = runCodpos(['spool', 'list', '--db', file, '--stream', 'waybill-event']);
    t.equal(waybills.status, 0, waybills.stderr);
    t.equal(waybills.stdout.trim().split('\n').length, 3, 'header + 2 records');
    t.match(waybills.stdout, /476173\*{6}0010/, 'the PAN a payload carried is masked 6+4');
    t.same(cardDataIn(waybills.stdout + dead.stdout), [], 'no card data in the output');
    const bad = runCodpos(['spool', 'list', '--db', file, '--state', 'lost']);
    t.equal(bad.status, 2);
    t.match(bad.stderr, /--state must be one of ready, leased, forwarded, dead, got "lost"/);
    const badStream = runCodpos(['spool', 'list', '--db', file, '--stream', 'nope']);
    t.equal(badStream.status, 2);
    t.match(badStream.stderr, /--stream must be one of waybill-event/);
  },
);

t.test('retry ID and retry --dead put dead records back in line', async (t) => {
  const { file, deadId } = await seededSpool();
  const one = runCodpos(['spool', 'retry', deadId, '--db', file]);
  t.equal(one.status, 0, one.stderr);
  t.match(one.stdout, new RegExp(`record ${deadId} will be sent again`));
  const spool = Spool.open({ file, create: false });
  t.match(spool.outbox.get(deadId), { state: 'ready', attempts: 0 });
  spool.outbox.lease('advice');
  spool.outbox.fail(deadId, 'refused again', { permanent: true });
  spool.close();
  const all = runCodpos(['spool', 'retry', '--dead', '--db', file, '--json']);
  t.equal(all.status, 0, all.stderr);
  t.same(JSON.parse(all.stdout), { retried: 1 });
  const missing = runCodpos(['spool', 'retry', 'no-such-record', '--db', file]);
  t.equal(missing.status, 5);
  t.match(missing.stderr, /no outbox record with id no-such-record/);
  const neither = runCodpos(['spool', 'retry', '--db', file]);
  t.equal(neither.status, 2);
  t.match(neither.stderr, /give either a record id or --dead/);
});

t.test('export writes a consistent, checked backup', async (t) => {
  const { file, dir } = await seededSpool();
  const out = join(dir, 'backup.db');
  const result = runCodpos(['spool', 'export', '--db', file, '--out', out, '--json']);
  t.equal(result.status, 0, result.stderr);
  t.match(JSON.parse(result.stdout), { file: out, integrity: 'ok' });
  const copy = new BetterSqlite3(out, { readonly: true });
  t.teardown(() => copy.close());
  t.equal((copy.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, 4);
  t.equal(copy.pragma('integrity_check', { simple: true }) as string, 'ok');
  const again = runCodpos(['spool', 'export', '--db', file, '--out', out]);
  t.equal(again.status, 5);
  t.match(again.stderr, /already exists/);
});

t.test('export creates its copy mode 0600 (it holds PIN hashes, names and addresses) and says so', async (t) => {
  const { file, dir } = await seededSpool();
  // The usual umask, which left the copy 0644 (world-readable): the child inherits it.
  const previous = process.umask(0o022);
  t.teardown(() => void process.umask(previous));
  const out = join(dir, 'owner-only.db');
  const result = runCodpos(['spool', 'export', '--db', file, '--out', out]);
  t.equal(result.status, 0, result.stderr);
  t.equal((statSync(out).mode & 0o777).toString(8), '600');
  t.match(result.stdout, /mode 0600: owner only/);
  const json = runCodpos(['spool', 'export', '--db', file, '--out', join(dir, 'owner-only-2.db'), '--json']);
  t.match(JSON.parse(json.stdout), { mode: '0600' });
  t.match(runCodpos(['spool', 'export', '--help']).stdout, /mode 0600/);
});

t.test('purge --forwarded-before removes forwarded records only', async (t) => {
  const { file } = await seededSpool();
  const past = runCodpos(['spool', 'purge', '--db', file, '--forwarded-before', '2000-01-01', '--json']);
  t.equal(past.status, 0, past.stderr);
  t.match(JSON.parse(past.stdout), { records: 0, transactions: 0 });
  const future = runCodpos(['spool', 'purge', '--db', file, '--forwarded-before', '2999-01-01T00:00:00Z']);
  t.equal(future.status, 0, future.stderr);
  t.match(
    future.stdout,
    /purged 1 forwarded record\(s\), 0 finished card transaction\(s\) and 0 finished QR payment\(s\)/,
  );
  const spool = Spool.open({ file, create: false });
  const status = spool.status();
  spool.close();
  t.equal(status.depth, 2, 'records still to forward are kept');
  t.equal(status.dead, 1);
  const bad = runCodpos(['spool', 'purge', '--db', file, '--forwarded-before', 'last tuesday']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--forwarded-before: expected an ISO 8601 date/);
  t.notMatch(bad.stderr, /at .*\.js:\d+/, 'no stack trace');
});

t.test('the spool is found through the config; a missing one is a clear error, not a new file', async (t) => {
  const { dir } = await seededSpool();
  const config = join(dir, 'codpos.json');
  writeFileSync(config, JSON.stringify({ data: { dir }, spool: { file: 'spool.db' } }));
  const viaConfig = runCodpos(['spool', 'status', '--config', config, '--json']);
  t.equal(viaConfig.status, 0, viaConfig.stderr);
  t.equal(JSON.parse(viaConfig.stdout).depth, 2);
  const elsewhere = join(dir, 'other.json');
  writeFileSync(elsewhere, JSON.stringify({ data: { dir: join(dir, 'empty') } }));
  const missing = runCodpos(['spool', 'status', '--config', elsewhere]);
  t.equal(missing.status, 5);
  t.match(missing.stderr, /no spool database at .*empty\/spool\.db/);
  t.notOk(existsSync(join(dir, 'empty', 'spool.db')));
  const badConfig = runCodpos(['spool', 'status', '--config', join(dir, 'nope.json')]);
  t.equal(badConfig.status, 2);
});
