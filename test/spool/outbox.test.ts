import t from 'tap';
import { openTestSpool } from './helpers.js';
import { isPosError } from '../../config/errors.js';
import { UUID_V7 } from '../../spool/ids.js';
import BetterSqlite3 from 'better-sqlite3';

t.test('enqueue stores a record with a sortable UUIDv7 id, durable when the promise resolves', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const first = await spool.outbox.enqueue('waybill-event', { waybill: 'RR123456785GB', event: 'pickup' });
  const second = await spool.outbox.enqueue('waybill-event', { waybill: 'RR123456785GB', event: 'delivered' });
  t.match(first.id, UUID_V7);
  t.ok(first.id < second.id, 'ids sort in creation order even within one millisecond');
  t.ok(first.inserted);
  const stored = spool.outbox.get(first.id)!;
  t.same(stored.payload, { waybill: 'RR123456785GB', event: 'pickup' });
  t.equal(stored.state, 'ready');
});

t.test('concurrent enqueues share one commit and every promise resolves after it', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const db = spool.db;
  const before = spool.outbox.groupCommitStats();
  const reader = new BetterSqlite3(spool.file, { readonly: true });
  t.teardown(() => reader.close());
  const seenByAnotherConnection: number[] = [];
  const results = await Promise.all(
    Array.from({ length: 32 }, (_, i) =>
      spool.outbox.enqueue('waybill-event', { n: i }).then((result) => {
        seenByAnotherConnection.push((reader.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n);
        return result;
      }),
    ),
  );
  t.same(new Set(seenByAnotherConnection), new Set([32]), 'each promise resolves only once all 32 are committed');
  t.same(
    spool.outbox.groupCommitStats(),
    { commits: before.commits + 1, records: before.records + 32 },
    '32 enqueues in one turn: one transaction',
  );
  t.equal(new Set(results.map((r) => r.id)).size, 32);
  const count = (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  t.equal(count, 32);
  // The second wave (producers woken by the first commit) shares the next commit.
  await Promise.all(results.map(async (r) => spool.outbox.enqueue('waybill-event', { after: r.id })));
  t.same(spool.outbox.groupCommitStats(), { commits: before.commits + 2, records: before.records + 64 });
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'enqueue commits at synchronous=FULL');
});

t.test('producers woken by separate event-loop callbacks in one turn share a commit too', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const before = spool.outbox.groupCommitStats();
  const done = await Promise.all(
    Array.from(
      { length: 16 },
      (_, i) =>
        new Promise<string>((resolve, reject) =>
          setImmediate(() => void spool.outbox.enqueue('waybill-event', { i }).then((r) => resolve(r.id), reject)),
        ),
    ),
  );
  t.equal(done.length, 16);
  t.same(spool.outbox.groupCommitStats(), { commits: before.commits + 1, records: before.records + 16 });
});

t.test(
  'a burst larger than the group cap is split into several commits, each producer answered after its own commit',
  async (t) => {
    const { spool } = openTestSpool({ maxGroupRecords: 10 });
    t.teardown(() => spool.close());
    const before = spool.outbox.groupCommitStats();
    const reader = new BetterSqlite3(spool.file, { readonly: true });
    t.teardown(() => reader.close());
    const visibleWhenResolved: number[] = [];
    let turnsBetween = 0;
    const promises = Array.from({ length: 25 }, (_, i) =>
      spool.outbox.enqueue('waybill-event', { n: i }).then((result) => {
        t.ok(
          reader.prepare('SELECT 1 FROM outbox WHERE id = ?').get(result.id),
          `record ${i} is committed (seen by another connection) when its promise resolves`,
        );
        visibleWhenResolved[i] = (reader.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
        return result;
      }),
    );
    // A callback queued after the burst: it runs between the first and the second commit.
    setImmediate(() => (turnsBetween = visibleWhenResolved.filter((n) => n !== undefined).length));
    const results = await Promise.all(promises);
    t.same(
      spool.outbox.groupCommitStats(),
      { commits: before.commits + 3, records: before.records + 25 },
      '25 records with a cap of 10: three commits',
    );
    t.same(
      visibleWhenResolved,
      [...Array(10).fill(10), ...Array(10).fill(20), ...Array(5).fill(25)],
      'the first ten are answered before the next ten are written',
    );
    t.equal(turnsBetween, 10, 'other work ran after the first commit and before the second');
    t.same(
      results.map((r) => r.seq),
      [...results.map((r) => r.seq)].sort((a, b) => a - b),
      'stored in enqueue order',
    );
  },
);

t.test('the group cap counts bytes too; a record bigger than the cap still goes, alone', async (t) => {
  const { spool } = openTestSpool({ maxGroupBytes: 25_000 });
  t.teardown(() => spool.close());
  const before = spool.outbox.groupCommitStats();
  const note = (size: number) => 'x'.repeat(size);
  await Promise.all(
    [10_000, 10_000, 10_000, 40_000, 100].map((size) => spool.outbox.enqueue('waybill-event', { note: note(size) })),
  );
  t.same(
    spool.outbox.groupCommitStats(),
    { commits: before.commits + 4, records: before.records + 5 },
    '[10k 10k] [10k] [40k] [100]: the 40k record, above the cap, is a group of its own',
  );
});

t.test('flushNow writes a pending burst in full, group after group, before it returns', async (t) => {
  const { spool } = openTestSpool({ maxGroupRecords: 10 });
  t.teardown(() => spool.close());
  const before = spool.outbox.groupCommitStats();
  const promises = Array.from({ length: 25 }, (_, i) => spool.outbox.enqueue('waybill-event', { n: i }));
  spool.outbox.flushNow();
  t.equal((spool.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, 25);
  t.same(spool.outbox.groupCommitStats(), { commits: before.commits + 3, records: before.records + 25 });
  t.equal((await Promise.all(promises)).length, 25);
  await spool.outbox.whenIdle();
});

t.test('a group cap that is not a positive integer is refused when the spool opens', async (t) => {
  t.throws(() => openTestSpool({ maxGroupRecords: 0 }), {
    code: 'CODPOS_SPOOL_BAD_REQUEST',
    message: /maxGroupRecords must be a positive integer, got 0/,
  });
});

t.test('a failed group commit rejects every promise in it and stores none', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  await spool.outbox.enqueue('waybill-event', { warm: true });
  const pages = spool.db.pragma('page_count', { simple: true }) as number;
  spool.db.pragma(`max_page_count = ${pages}`);
  const big = 'x'.repeat(64 * 1024);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 4 }, () => spool.outbox.enqueue('waybill-event', { big })),
  );
  t.same(
    outcomes.map((o) => o.status),
    ['rejected', 'rejected', 'rejected', 'rejected'],
  );
  t.ok(outcomes.every((o) => o.status === 'rejected' && isPosError(o.reason, 'CODPOS_SPOOL_FULL')));
  t.equal((spool.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, 1);
});

t.test('a record that cannot be stored fails alone; the others of its group are stored', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  await spool.outbox.enqueue('waybill-event', { warm: true });
  const pages = spool.db.pragma('page_count', { simple: true }) as number;
  // Room for small records, not for one of 64 KiB.
  spool.db.pragma(`max_page_count = ${pages + 4}`);
  const big = 'x'.repeat(64 * 1024);
  const before = spool.outbox.groupCommitStats();
  const outcomes = await Promise.allSettled([
    spool.outbox.enqueue('waybill-event', { n: 1 }),
    spool.outbox.enqueue('waybill-event', { big }),
    spool.outbox.enqueue('waybill-event', { n: 3 }),
  ]);
  t.same(
    outcomes.map((o) => o.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  t.ok(
    outcomes[1]!.status === 'rejected' && isPosError(outcomes[1]!.reason, 'CODPOS_SPOOL_FULL'),
    'the big record: CODPOS_SPOOL_FULL',
  );
  const stored = (spool.db.prepare('SELECT payload FROM outbox ORDER BY seq').all() as Array<{ payload: string }>).map(
    (r) => JSON.parse(r.payload) as unknown,
  );
  t.same(
    stored,
    [{ warm: true }, { n: 1 }, { n: 3 }],
    'each fulfilled promise has its record stored, the rejected one has none',
  );
  t.same(
    spool.outbox.groupCommitStats(),
    { commits: before.commits + 2, records: before.records + 2 },
    'after the group failed, each record got a commit of its own',
  );
});

t.test('an enqueue resolves only after the COMMIT of a transaction someone holds open', async (t) => {
  const { spool, file } = openTestSpool();
  t.teardown(() => spool.close());
  const reader = new BetterSqlite3(file, { readonly: true });
  t.teardown(() => reader.close());
  spool.db.exec('BEGIN IMMEDIATE');
  let resolved = false;
  const done = spool.outbox.enqueue('waybill-event', { n: 1 }).then((r) => {
    resolved = true;
    return r;
  });
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  t.notOk(resolved, 'still waiting while the outer transaction is open');
  spool.db.exec('COMMIT');
  const { id } = await done;
  t.ok(
    reader.prepare('SELECT 1 FROM outbox WHERE id = ?').get(id),
    'committed and visible to another connection when the promise resolved',
  );
});

t.test('a spool locked by another process is CODPOS_SPOOL_BUSY for every write, not a raw SQLite error', async (t) => {
  const { spool, file, clock } = openTestSpool({ bookkeepingSync: 'NORMAL' });
  t.teardown(() => spool.close());
  const { id } = await spool.outbox.enqueue('transaction', { amount: 100 });
  spool.outbox.fail(id, 'refused', { permanent: true });
  const leased = (await spool.outbox.enqueue('waybill-event', { n: 1 })).id;
  clock.advance(1);
  spool.outbox.lease('waybill-event');
  const daemon = new BetterSqlite3(file);
  t.teardown(() => daemon.close());
  daemon.exec('BEGIN IMMEDIATE');
  t.teardown(() => daemon.inTransaction && daemon.exec('ROLLBACK'));
  spool.db.pragma('busy_timeout = 0');
  t.throws(() => spool.outbox.retry(id), { code: 'CODPOS_SPOOL_BUSY' }, 'retry');
  t.throws(() => spool.outbox.retryDead(), { code: 'CODPOS_SPOOL_BUSY' }, 'retryDead');
  t.throws(() => spool.outbox.release(leased), { code: 'CODPOS_SPOOL_BUSY' }, 'release');
  t.throws(() => spool.outbox.ack(leased), { code: 'CODPOS_SPOOL_BUSY' }, 'ack');
  t.equal(spool.db.pragma('synchronous', { simple: true }), 2, 'a failed bookkeeping step leaves synchronous=FULL');
});

t.test(
  "bookkeeping inside a caller's transaction keeps its level (SQLite refuses a change there) and commits with it",
  async (t) => {
    const { spool } = openTestSpool({ bookkeepingSync: 'NORMAL' });
    t.teardown(() => spool.close());
    const { id } = await spool.outbox.enqueue('waybill-event', { n: 1 });
    const acked = spool.db.transaction(() => {
      const [record] = spool.outbox.lease('waybill-event');
      return spool.outbox.ack(record!.id);
    })();
    t.equal(acked, 1);
    t.equal(spool.outbox.get(id)!.state, 'forwarded');
    t.equal(spool.db.pragma('synchronous', { simple: true }), 2);
  },
);

/** Records every `synchronous` level the outbox sets while `run` goes. */
function syncLevelsSetDuring(db: BetterSqlite3.Database, run: () => void): string[] {
  const original = db.pragma.bind(db);
  const set: string[] = [];
  db.pragma = (source: string, options?: BetterSqlite3.PragmaOptions) => {
    const match = /^synchronous\s*=\s*(\w+)/i.exec(source);
    if (match) set.push(match[1]!.toUpperCase());
    return original(source, options);
  };
  try {
    run();
  } finally {
    db.pragma = original;
  }
  return set;
}

t.test(
  'sender bookkeeping commits at synchronous=FULL by default; NORMAL only when asked, and FULL again after',
  async (t) => {
    const full = openTestSpool();
    t.teardown(() => full.spool.close());
    await full.spool.outbox.enqueue('waybill-event', { n: 1 });
    t.same(
      syncLevelsSetDuring(full.spool.db, () => {
        const batch = full.spool.outbox.lease('waybill-event');
        full.spool.outbox.ack(batch.map((r) => r.id));
      }),
      [],
      'the level is never lowered',
    );
    t.equal(full.spool.db.pragma('synchronous', { simple: true }), 2);

    const normal = openTestSpool({ bookkeepingSync: 'NORMAL' });
    t.teardown(() => normal.spool.close());
    await normal.spool.outbox.enqueue('waybill-event', { n: 1 });
    t.same(
      syncLevelsSetDuring(normal.spool.db, () => {
        const batch = normal.spool.outbox.lease('waybill-event');
        normal.spool.outbox.ack(batch.map((r) => r.id));
      }),
      ['NORMAL', 'FULL', 'NORMAL', 'FULL'],
    );
    t.equal(normal.spool.db.pragma('synchronous', { simple: true }), 2);
  },
);

t.test('an enqueue after close, or one whose group was still waiting at close, is CODPOS_SPOOL_CLOSED', async (t) => {
  const { spool } = openTestSpool();
  spool.db.exec('BEGIN IMMEDIATE');
  const waiting = spool.outbox.enqueue('waybill-event', { n: 1 }); // deferred: a transaction is open
  await new Promise((resolve) => setImmediate(resolve));
  spool.db.exec('ROLLBACK');
  spool.db.close();
  await t.rejects(waiting, { code: 'CODPOS_SPOOL_CLOSED' });
  await t.rejects(spool.outbox.enqueue('waybill-event', { n: 2 }), {
    code: 'CODPOS_SPOOL_CLOSED',
    message: /the record was not stored/,
  });
});

t.test('a caller-made id is stored once however often it is enqueued', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const a = await spool.outbox.enqueue('transaction', { amount: 100 }, { id: 'CODPOS01-000042' });
  const b = await spool.outbox.enqueue('transaction', { amount: 100 }, { id: 'CODPOS01-000042' });
  t.equal(a.seq, b.seq);
  t.ok(a.inserted);
  t.notOk(b.inserted);
  await t.rejects(spool.outbox.enqueue('nope', {}), {
    code: 'CODPOS_SPOOL_UNKNOWN_STREAM',
    message: /unknown outbox stream "nope"; streams are waybill-event, transaction/,
  });
  await t.rejects(spool.outbox.enqueue('transaction', {}, { id: 'bad id with spaces' }), {
    code: 'CODPOS_SPOOL_BAD_RECORD',
  });
});

t.test('records of a stream are leased in order, one batch in flight at a time', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await spool.outbox.enqueue('waybill-event', { n: i })).id);
  const batch = spool.outbox.lease('waybill-event', { limit: 3 });
  t.same(
    batch.map((r) => r.id),
    ids.slice(0, 3),
  );
  t.same(
    batch.map((r) => r.attempts),
    [1, 1, 1],
  );
  t.same(spool.outbox.lease('waybill-event', { limit: 3 }), [], 'ordered stream: nothing more while a batch is leased');
  t.equal(spool.outbox.ack(batch.map((r) => r.id)), 3);
  t.same(
    spool.outbox.lease('waybill-event', { limit: 10 }).map((r) => r.id),
    ids.slice(3),
  );
  t.equal(spool.db.pragma('synchronous', { simple: true }), 2, 'back to FULL after the bookkeeping commits');
});

t.test('an expired lease comes back (the sender crashed)', async (t) => {
  const { spool, clock } = openTestSpool();
  t.teardown(() => spool.close());
  const { id } = await spool.outbox.enqueue('transaction', { amount: 2500 });
  const first = spool.outbox.lease('transaction', { leaseMs: 10_000, owner: 'uplink-1' });
  t.same(
    first.map((r) => r.id),
    [id],
  );
  clock.advance(9_999);
  t.same(spool.outbox.lease('transaction', { owner: 'uplink-2' }), [], 'still leased just before expiry');
  clock.advance(1);
  const again = spool.outbox.lease('transaction', { owner: 'uplink-2' });
  t.same(
    again.map((r) => r.id),
    [id],
    'back once the lease expired',
  );
  t.equal(again[0]!.attempts, 2);
  t.equal(again[0]!.leaseOwner, 'uplink-2');
});

t.test('fail retries with exponential backoff and injected jitter, then dead-letters with the reason', async (t) => {
  const { spool, clock, randoms } = openTestSpool({
    policies: { transaction: { maxAttempts: 4, backoff: { initialMs: 1000, maxMs: 3000, factor: 2, jitter: 0.5 } } },
  });
  t.teardown(() => spool.close());
  const { id } = await spool.outbox.enqueue('transaction', { amount: 2500 });
  const start = clock.now();

  spool.outbox.lease('transaction');
  randoms.push(1); // top of the jitter range: the full exponential delay
  const one = spool.outbox.fail(id, 'HTTP 503');
  t.same(one, { state: 'ready', retryAt: start + 1000, attempts: 1 });

  clock.advance(999);
  t.same(spool.outbox.lease('transaction'), [], 'not before its retry time');
  clock.advance(1);
  t.equal(spool.outbox.lease('transaction').length, 1);
  randoms.push(0); // bottom of the range: half the delay
  const two = spool.outbox.fail(id, 'HTTP 503');
  t.same(two, { state: 'ready', retryAt: clock.now() + 1000, attempts: 2 }, '2000 ms * (0.5 + 0.5 * 0)');

  clock.advance(1000);
  spool.outbox.lease('transaction');
  randoms.push(1);
  const three = spool.outbox.fail(id, 'HTTP 503');
  t.same(three, { state: 'ready', retryAt: clock.now() + 3000, attempts: 3 }, 'capped at maxMs');

  clock.advance(3000);
  spool.outbox.lease('transaction');
  const four = spool.outbox.fail(id, 'HTTP 400 bad record');
  t.equal(four.state, 'dead');
  const dead = spool.outbox.get(id)!;
  t.equal(dead.state, 'dead');
  t.match(dead.lastError, /HTTP 400 bad record; dead after 4 attempts \(stream transaction allows 4\)/);
  t.same(spool.outbox.lease('transaction'), [], 'a dead record is not leased');

  spool.outbox.retry(id);
  const revived = spool.outbox.lease('transaction');
  t.equal(revived.length, 1);
  t.equal(revived[0]!.attempts, 1, 'retry resets the attempts');
});

t.test('a permanent failure dead-letters at once; retryDead revives them all', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  const a = await spool.outbox.enqueue('waybill-event', { n: 1 });
  spool.outbox.lease('waybill-event');
  t.equal(spool.outbox.fail(a.id, 'back-end says: unknown waybill', { permanent: true }).state, 'dead');
  t.match(spool.outbox.get(a.id)!.lastError, /unknown waybill; refused as permanent/);
  t.equal(spool.outbox.retryDead(), 1);
  t.equal(spool.outbox.get(a.id)!.state, 'ready');
  t.throws(() => spool.outbox.retry('no-such-id'), { code: 'CODPOS_SPOOL_NO_SUCH_RECORD' });
});

t.test('a record waiting for its retry holds back the records behind it in an ordered stream', async (t) => {
  const { spool, clock, randoms } = openTestSpool();
  t.teardown(() => spool.close());
  const a = await spool.outbox.enqueue('waybill-event', { event: 'pickup' });
  const b = await spool.outbox.enqueue('waybill-event', { event: 'delivered' });
  const [first, second] = spool.outbox.lease('waybill-event', { limit: 2 });
  t.same([first!.id, second!.id], [a.id, b.id]);
  randoms.push(1);
  spool.outbox.fail(a.id, 'timeout');
  t.equal(spool.outbox.release(b.id), 1, 'the untried record goes back without counting an attempt');
  t.equal(spool.outbox.get(b.id)!.attempts, 0);
  t.same(spool.outbox.lease('waybill-event', { limit: 2 }), [], 'delivered may not overtake pickup');
  clock.advance(1000);
  t.same(
    spool.outbox.lease('waybill-event', { limit: 2 }).map((r) => r.id),
    [a.id, b.id],
  );
});

t.test('unordered streams let later records pass one that waits', async (t) => {
  const { spool, randoms } = openTestSpool({ policies: { 'waybill-event': { ordered: false } } });
  t.teardown(() => spool.close());
  const a = await spool.outbox.enqueue('waybill-event', { n: 1 });
  const b = await spool.outbox.enqueue('waybill-event', { n: 2 });
  spool.outbox.lease('waybill-event', { limit: 1 });
  randoms.push(1);
  spool.outbox.fail(a.id, 'timeout');
  t.same(
    spool.outbox.lease('waybill-event').map((r) => r.id),
    [b.id],
  );
});

t.test('reversals go first: advices and batch uploads wait while a reversal is unforwarded', async (t) => {
  const { spool, clock, randoms } = openTestSpool();
  t.teardown(() => spool.close());
  const advice = await spool.outbox.enqueue('advice', { mti: '0220' });
  const upload = await spool.outbox.enqueue('batch-upload', { mti: '0320' });
  const reversal = await spool.outbox.enqueue('reversal', { mti: '0400' });
  const acquirerStreams = ['advice', 'batch-upload', 'reversal'];

  const first = spool.outbox.lease(acquirerStreams);
  t.same(
    first.map((r) => r.id),
    [reversal.id],
    'only the reversal, though the advice was enqueued first',
  );
  randoms.push(1);
  spool.outbox.fail(reversal.id, 'no answer');
  t.same(spool.outbox.lease(acquirerStreams), [], 'nothing while the reversal waits for its retry');
  clock.advance(1000);
  const again = spool.outbox.lease(acquirerStreams);
  t.same(
    again.map((r) => r.id),
    [reversal.id],
  );
  spool.outbox.ack(reversal.id);

  t.same(
    spool.outbox.lease(acquirerStreams).map((r) => r.id),
    [advice.id],
    'then the advice; the batch upload waits for advices too',
  );
  spool.outbox.ack(advice.id);
  t.same(
    spool.outbox.lease(acquirerStreams).map((r) => r.id),
    [upload.id],
  );

  const waybill = await spool.outbox.enqueue('waybill-event', { event: 'pickup' });
  await spool.outbox.enqueue('reversal', { mti: '0400' });
  t.same(
    spool.outbox.lease('waybill-event').map((r) => r.id),
    [waybill.id],
    'back-end traffic does not wait for acquirer reversals',
  );
});

t.test('an expired lease past the attempt limit is dead-lettered with the reason', async (t) => {
  const { spool, clock } = openTestSpool({ policies: { reversal: { maxAttempts: 2 } } });
  t.teardown(() => spool.close());
  const { id } = await spool.outbox.enqueue('reversal', { mti: '0400' });
  spool.outbox.lease('reversal', { leaseMs: 1000, owner: 'host-link' });
  clock.advance(1000);
  spool.outbox.lease('reversal', { leaseMs: 1000, owner: 'host-link' });
  clock.advance(1000);
  t.same(spool.outbox.lease('reversal'), []);
  const record = spool.outbox.get(id)!;
  t.equal(record.state, 'dead');
  t.match(record.lastError, /lease held by host-link expired without an answer; dead after 2 attempts/);
});

t.test('status counts depth, waiting, dead and the oldest pending record per stream', async (t) => {
  const { spool, clock, randoms } = openTestSpool();
  t.teardown(() => spool.close());
  const start = clock.now();
  const a = await spool.outbox.enqueue('waybill-event', { n: 1 });
  clock.advance(5000);
  await spool.outbox.enqueue('waybill-event', { n: 2 });
  const d = await spool.outbox.enqueue('advice', { n: 3 });
  spool.outbox.lease('waybill-event', { limit: 1 });
  randoms.push(1);
  spool.outbox.fail(a.id, 'x');
  spool.outbox.lease('advice');
  spool.outbox.fail(d.id, 'format error', { permanent: true });
  const byStream = Object.fromEntries(spool.outbox.status().map((s) => [s.stream, s]));
  t.match(byStream['waybill-event'], { depth: 2, ready: 2, waiting: 1, leased: 0, dead: 0, oldestPendingAt: start });
  t.match(byStream.advice, { depth: 0, dead: 1 });
  const status = spool.status();
  t.equal(status.depth, 2);
  t.equal(status.dead, 1);
  t.equal(status.oldestPendingAgeMs, 5000);
  t.ok(status.diskBytes > 0);
});

t.test('retention: forwarded records are purged after the retention time, pending ones never', async (t) => {
  const day = 86_400_000;
  const { spool, clock } = openTestSpool({ retentionMs: 10 * day });
  t.teardown(() => spool.close());
  const old = await spool.outbox.enqueue('waybill-event', { n: 1 });
  const kept = await spool.outbox.enqueue('waybill-event', { n: 2 });
  spool.outbox.lease('waybill-event', { limit: 1 });
  spool.outbox.ack(old.id);
  clock.advance(10 * day);
  t.same(spool.purge(), { records: 0, transactions: 0, qrPayments: 0 }, 'exactly the retention time: kept');
  clock.advance(1);
  t.same(spool.purge(), { records: 1, transactions: 0, qrPayments: 0 });
  t.equal(spool.outbox.get(old.id), undefined);
  t.equal(spool.outbox.get(kept.id)!.state, 'ready', 'a record not yet forwarded is never purged');
});

t.test('card data is refused in clear payloads, and sensitive authentication data even sealed', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  await t.rejects(spool.outbox.enqueue('transaction', { amount: 100, pan: '4761739001010010' }), {
    code: 'CODPOS_SPOOL_CLEAR_CARD_DATA',
    message: /carries a full PAN under "pan": pass it in `sealed`/,
  });
  await t.rejects(spool.outbox.enqueue('transaction', { card: { track2: '4761739001010010=2212201' } }), {
    code: 'CODPOS_SPOOL_CLEAR_CARD_DATA',
    message: /"track2"/,
  });
  await t.rejects(
    spool.outbox.enqueue(
      'reversal',
      { mti: '0400' },
      { sealed: { pan: '4761739001010010', pinBlock: '8F3A52C1D07B4E69' } },
    ),
    {
      code: 'CODPOS_SPOOL_CLEAR_CARD_DATA',
      message: /sealed data carries "pinBlock"/,
    },
  );
  t.throws(() => spool.outbox.enqueueNow('advice', { de52: 'x' }), { code: 'CODPOS_SPOOL_CLEAR_CARD_DATA' });
  t.ok(
    await spool.outbox.enqueue('transaction', { amount: 100, pan: '476173******0010', waybill: '4761739001010010' }),
    'a masked PAN, and digits under other names, pass',
  );
  t.ok(
    await spool.outbox.enqueue('reversal', { mti: '0400' }, { sealed: { pan: '4761739001010010' } }),
    'a sealed PAN passes',
  );
  t.equal((spool.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, 2);
});

t.test('ignoreBackoff takes a record whose retry time has not come (a payment needs the link now)', async (t) => {
  const { spool, randoms } = openTestSpool();
  t.teardown(() => spool.close());
  const { id } = await spool.outbox.enqueue('reversal', { mti: '0400' });
  spool.outbox.lease('reversal');
  randoms.push(1);
  spool.outbox.fail(id, 'no answer');
  t.same(spool.outbox.lease('reversal'), [], 'waiting for its retry time');
  t.same(
    spool.outbox.lease('reversal', { ignoreBackoff: true }).map((r) => r.id),
    [id],
    'taken at once when asked',
  );
});

t.test('a reversal is never dead-lettered for its number of attempts', async (t) => {
  const { spool, clock, randoms } = openTestSpool();
  t.teardown(() => spool.close());
  const { id } = await spool.outbox.enqueue('reversal', { mti: '0400' });
  for (let i = 0; i < 200; i++) {
    t.equal(spool.outbox.lease('reversal', { ignoreBackoff: true }).length, 1);
    randoms.push(0.5);
    spool.outbox.fail(id, 'no answer');
    clock.advance(60_000);
  }
  t.match(spool.outbox.get(id), { state: 'ready', attempts: 200 });
});

t.test(
  'resetBackoff: waiting records of the named streams are due now, their attempts and last error kept',
  async (t) => {
    const { spool, clock, randoms } = openTestSpool();
    t.teardown(() => spool.close());
    const waybill = await spool.outbox.enqueue('waybill-event', { event: 'pickup' });
    const transaction = await spool.outbox.enqueue('transaction', { journalId: 'j1' });
    const reversal = await spool.outbox.enqueue('reversal', { mti: '0400' });
    for (const id of [waybill.id, transaction.id, reversal.id]) {
      t.equal(spool.outbox.lease(spool.outbox.get(id)!.stream).length, 1);
      randoms.push(1);
      spool.outbox.fail(id, 'HTTP 503');
    }
    t.same(spool.outbox.lease(['waybill-event', 'transaction']), [], 'both wait for their retry time');

    t.equal(spool.outbox.resetBackoff(['waybill-event', 'transaction']), 2, 'two records were waiting');
    t.match(spool.outbox.get(waybill.id), {
      state: 'ready',
      attempts: 1,
      lastError: 'HTTP 503',
      availableAt: clock.now(),
    });
    t.match(
      spool.outbox.get(reversal.id),
      { state: 'ready', availableAt: clock.now() + 1000 },
      'a stream not named keeps its wait',
    );
    t.same(
      spool.outbox.lease(['waybill-event', 'transaction']).map((r) => r.id),
      [waybill.id, transaction.id],
      'leased at once',
    );
    t.equal(spool.outbox.resetBackoff('waybill-event'), 0, 'a leased record is not touched');
    t.throws(() => spool.outbox.resetBackoff('no-such-stream'), { code: 'CODPOS_SPOOL_UNKNOWN_STREAM' });
  },
);
