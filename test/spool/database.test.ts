import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase, integrityProblems } from '../../spool/database.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from '../../spool/migrations.js';
import { Spool } from '../../spool/spool.js';
import { openTestSpool, tempDir } from './helpers.js';
import { isPosError, type PosError } from '../../config/errors.js';
import { ManualClock } from '../../spool/clock.js';

t.test('the database opens with WAL, synchronous=FULL, foreign keys and secure_delete, migrated', async (t) => {
  const file = join(tempDir(), 'spool.db');
  const db = openDatabase(file);
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL');
  t.equal(db.pragma('foreign_keys', { simple: true }), 1);
  t.equal(db.pragma('secure_delete', { simple: true }), 1);
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.same(migrate(db), [], 'a second run applies nothing');
  t.equal(statSync(file).mode & 0o777, 0o600, 'the database file is private');
  t.equal(statSync(file + '-wal').mode & 0o777, 0o600, 'and so is its WAL');
});

t.test('an inspecting tool does not create a spool that is not there', async (t) => {
  const file = join(tempDir(), 'absent.db');
  t.throws(() => openDatabase(file, { create: false }), {
    code: 'CODPOS_SPOOL_NOT_FOUND',
    message: /no spool database at .*absent\.db/,
  });
  t.notOk(existsSync(file));
});

t.test('migrations run in order, each with its version, and a newer database is refused', async (t) => {
  const file = join(tempDir(), 'spool.db');
  const v1 = openDatabase(file, { migrations: MIGRATIONS.slice(0, 1) });
  v1.close();
  const extra = [
    ...MIGRATIONS,
    { version: SCHEMA_VERSION + 1, description: 'test column', sql: 'ALTER TABLE outbox ADD COLUMN note TEXT' },
  ];
  const v2 = openDatabase(file, { migrations: extra });
  t.equal(v2.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
  t.ok((v2.prepare('PRAGMA table_info(outbox)').all() as Array<{ name: string }>).some((c) => c.name === 'note'));
  v2.close();
  t.throws(() => openDatabase(file), {
    code: 'CODPOS_SPOOL_TOO_NEW',
    message: new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this codpos \\(${SCHEMA_VERSION}\\)`),
  });
});

t.test('a failing migration leaves the previous version whole', async (t) => {
  const file = join(tempDir(), 'spool.db');
  openDatabase(file).close();
  const broken = [
    ...MIGRATIONS,
    { version: SCHEMA_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half (x); SELECT * FROM no_such_table' },
  ];
  t.throws(() => openDatabase(file, { migrations: broken }));
  const db = openDatabase(file);
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.equal((db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'`).get() as { n: number }).n, 0);
  db.close();
});

t.test('a damaged database is refused with CODPOS_SPOOL_CORRUPT and copied aside', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'spool.db');
  // Build a database with content, then overwrite a b-tree page in the middle with garbage.
  const db = openDatabase(file);
  const insert = db.prepare(
    `INSERT INTO outbox (id, stream, payload, created_at, available_at) VALUES (?, 'waybill-event', ?, 0, 0)`,
  );
  db.transaction(() => {
    for (let i = 0; i < 400; i++) insert.run(`id-${i}`, JSON.stringify({ pad: 'p'.repeat(200), i }));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const bytes = readFileSync(file);
  const pageSize = bytes.readUInt16BE(16);
  for (let page = 3; page < 8; page++) bytes.fill(0xa5, page * pageSize + 8, page * pageSize + pageSize);
  writeFileSync(file, bytes);

  const error = t.throws(() => openDatabase(file, { check: 'full' }), {
    code: 'CODPOS_SPOOL_CORRUPT',
  }) as unknown as Error;
  t.match(error.message, /spool database .*spool\.db is damaged .*a copy was kept at .*spool\.db\.corrupt-/);
  const copies = readdirSync(dir).filter((f) => f.startsWith('spool.db.corrupt-') && !f.endsWith('-wal'));
  t.equal(copies.length, 1);
  t.same(readFileSync(join(dir, copies[0]!)), bytes, 'the copy is the damaged file, byte for byte');
});

t.test(
  'a damaged database is copied aside once per corruption: opening it again reuses the copy, a changed file gets its own',
  async (t) => {
    const dir = tempDir();
    const file = join(dir, 'spool.db');
    writeFileSync(file, 'not SQLite: a damaged header '.repeat(200));
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 8, 0, 0));
    const copiesIn = () => readdirSync(dir).filter((f) => f.startsWith('spool.db.corrupt-') && !f.endsWith('-wal'));
    const first = t.throws(() => openDatabase(file, { clock }), {
      code: 'CODPOS_SPOOL_CORRUPT',
    }) as unknown as PosError;
    t.match(first.message, /; a copy was kept at .*spool\.db\.corrupt-2026-06-01T08-00-00-000Z/);
    t.equal(first.details!.alreadyKept, false);
    clock.advance(60_000);
    const second = t.throws(() => openDatabase(file, { clock }), {
      code: 'CODPOS_SPOOL_CORRUPT',
    }) as unknown as PosError;
    t.match(
      second.message,
      /; a copy of it was already kept at .*spool\.db\.corrupt-2026-06-01T08-00-00-000Z/,
      'names the copy made before',
    );
    t.equal(second.details!.alreadyKept, true);
    t.equal(second.details!.preserved, first.details!.preserved);
    t.equal(copiesIn().length, 1, 'two opens, one copy');
    // The same size but other bytes: another damage, so another copy.
    writeFileSync(file, 'not SQLite: a changed header '.repeat(200));
    clock.advance(60_000);
    const third = t.throws(() => openDatabase(file, { clock }), {
      code: 'CODPOS_SPOOL_CORRUPT',
    }) as unknown as PosError;
    t.equal(third.details!.alreadyKept, false);
    t.equal(copiesIn().length, 2);
  },
);

t.test('a file that is not a database at all is also CODPOS_SPOOL_CORRUPT', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'spool.db');
  writeFileSync(file, 'this is not an SQLite file, just some text that got here by mistake'.repeat(100));
  t.throws(() => openDatabase(file), { code: 'CODPOS_SPOOL_CORRUPT' });
  t.ok(readdirSync(dir).some((f) => f.startsWith('spool.db.corrupt-')));
});

t.test('backup: a consistent copy through the backup API while the spool is open', async (t) => {
  const { spool, dir } = openTestSpool();
  t.teardown(() => spool.close());
  for (let i = 0; i < 50; i++) await spool.outbox.enqueue('waybill-event', { i });
  const pending = spool.outbox.enqueue('waybill-event', { i: 50 }); // waiting for its group commit
  const dest = join(dir, 'backup.db');
  const result = await spool.backup(dest);
  await pending;
  t.equal(result.file, dest);
  t.ok(result.bytes > 0);
  const copy = new BetterSqlite3(dest, { readonly: true });
  t.teardown(() => copy.close());
  t.equal(
    (copy.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n,
    51,
    'the record waiting for its commit is written before the backup',
  );
  t.same(integrityProblems(copy), []);
  await t.rejects(spool.backup(dest), { code: 'CODPOS_SPOOL_BACKUP_EXISTS' });
});

t.test('a full disk (max_page_count) is a clear error, nothing half-written, and the spool goes on', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const pages = spool.db.pragma('page_count', { simple: true }) as number;
  spool.db.pragma(`max_page_count = ${pages + 8}`);
  const stored: string[] = [];
  let failure: unknown;
  for (let i = 0; i < 1000 && failure === undefined; i++) {
    try {
      stored.push((await spool.outbox.enqueue('waybill-event', { i, pad: 'z'.repeat(900) })).id);
    } catch (error) {
      failure = error;
    }
  }
  t.ok(isPosError(failure, 'CODPOS_SPOOL_FULL'), 'the disk filled up');
  t.match((failure as Error).message, /the spool is full .*nothing was written/);
  t.same(spool.integrityProblems(), [], 'integrity_check ok after the failure');
  const count = (spool.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  t.equal(count, stored.length, 'every acknowledged record is there, the refused one is not');
  // A journal write on a full disk fails the same way and advances no counter.
  const stanBefore = spool.journal.counters.current('stan');
  t.throws(() => spool.journal.begin({ amount: 1, currency: '840', waybill: 'w'.repeat(20_000) }), {
    code: 'CODPOS_SPOOL_FULL',
  });
  t.equal(spool.journal.counters.current('stan'), stanBefore);
  spool.db.pragma('max_page_count = 1073741823');
  await spool.outbox.enqueue('waybill-event', { after: 'space freed' });
  t.equal((spool.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, stored.length + 1);
});

t.test('a spool opened with another data key is refused', async (t) => {
  const { spool, file } = openTestSpool();
  spool.close();
  const { Vault } = await import('../../spool/vault.js');
  t.throws(() => Spool.open({ file, vault: Vault.fromKey(Buffer.alloc(32, 7)) }), {
    code: 'CODPOS_SPOOL_KEY_MISMATCH',
  });
});
