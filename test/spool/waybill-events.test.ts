/**
 * The waybill events' index (schema v8): kept by triggers in the same commit as each outbox
 * record, emptied by the retention purge, filled from the events already there when a spool
 * is migrated, and what the task list and a waybill's history read instead of every event.
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../spool/migrations.js';
import { openTestSpool, tempDir } from './helpers.js';

const DAY = 86_400_000;

t.test(
  'each waybill event is indexed as it is recorded; other streams and payloads without a waybill are not',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const pickup = await spool.outbox.enqueue('waybill-event', {
      kind: 'pickup',
      waybill: 'RR123456785CH',
      at: '2026-06-01T08:00:00.000Z',
    });
    await spool.outbox.enqueue('waybill-event', {
      kind: 'exception',
      waybill: 'RR000000005CH',
      reason: 'not-home',
      at: '2026-06-01T09:00:00.000Z',
    });
    const delivery = await spool.outbox.enqueue('waybill-event', {
      kind: 'delivery',
      waybill: 'RR123456785CH',
      at: '2026-06-01T10:00:00.000Z',
      cod: { method: 'cash', amount: 2350 },
    });
    await spool.outbox.enqueue('waybill-event', { note: 'no waybill here' });
    await spool.outbox.enqueue('handover', { kind: 'handover', waybill: 'RR999999995CH' });

    const standings = spool.waybillEvents.standings(['RR123456785CH', 'RR000000005CH', 'RR111111115CH']);
    t.same(
      standings.get('RR123456785CH')!.map((e) => e.kind),
      ['pickup', 'delivery'],
      'in the order recorded',
    );
    t.same(
      standings.get('RR000000005CH')!.map((e) => [e.kind, e.reason]),
      [['exception', 'not-home']],
    );
    t.notOk(standings.has('RR111111115CH'), 'a waybill with no event is absent');
    t.notOk(spool.waybillEvents.standings(['RR999999995CH']).has('RR999999995CH'), 'another stream is not indexed');

    const records = spool.waybillEvents.records('RR123456785CH');
    t.same(
      records.map((r) => r.id),
      [pickup.id, delivery.id],
      "a waybill's full records, in order",
    );
    t.same(records[1]!.payload, {
      kind: 'delivery',
      waybill: 'RR123456785CH',
      at: '2026-06-01T10:00:00.000Z',
      cod: { method: 'cash', amount: 2350 },
    });

    const nine = spool.waybillEvents.recordsAt(
      new Date('2026-06-01T08:30:00.000Z'),
      new Date('2026-06-01T10:00:00.000Z'),
    );
    t.same(
      nine.map((r) => (r.payload as { kind: string }).kind),
      ['exception'],
      'by time: from inclusive, to exclusive',
    );
  },
);

t.test('the retention purge takes a forwarded event out of the index too', async (t) => {
  const { spool, clock } = openTestSpool({ retentionMs: DAY });
  t.teardown(() => spool.close());
  const old = await spool.outbox.enqueue('waybill-event', {
    kind: 'pickup',
    waybill: 'RR123456785CH',
    at: '2026-06-01T08:00:00.000Z',
  });
  await spool.outbox.enqueue('waybill-event', {
    kind: 'dispatch',
    waybill: 'RR123456785CH',
    at: '2026-06-01T08:05:00.000Z',
  });
  spool.outbox.lease('waybill-event', { limit: 1 });
  spool.outbox.ack(old.id);
  clock.advance(DAY + 1);
  t.same(spool.purge(), { records: 1, transactions: 0, qrPayments: 0 });
  t.same(
    spool.waybillEvents
      .standings(['RR123456785CH'])
      .get('RR123456785CH')!
      .map((e) => e.kind),
    ['dispatch'],
    'the purged pickup is gone from the index',
  );
});

t.test(
  'a spool migrated to v8 indexes the events it already held (the time from the record when the event has none)',
  async (t) => {
    const file = join(tempDir(), 'spool.db');
    const db = new Database(file);
    t.teardown(() => db.close());
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version < 8),
    );
    const insert = db.prepare(
      `INSERT INTO outbox (id, stream, payload, state, attempts, created_at, available_at) VALUES (?, 'waybill-event', ?, 'ready', 0, ?, ?)`,
    );
    insert.run('a', JSON.stringify({ kind: 'pickup', waybill: 'RR123456785CH', at: '2026-06-01T08:00:00.000Z' }), 0, 0);
    insert.run('b', JSON.stringify({ kind: 'delivery', waybill: 'RR123456785CH' }), Date.UTC(2026, 5, 1, 9), 0);
    insert.run('c', 'not json', 0, 0);
    t.same(
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 8),
      ),
      [8],
    );
    t.same(db.prepare('SELECT waybill, kind, reason, at FROM waybill_event ORDER BY seq').all(), [
      { waybill: 'RR123456785CH', kind: 'pickup', reason: null, at: '2026-06-01T08:00:00.000Z' },
      { waybill: 'RR123456785CH', kind: 'delivery', reason: null, at: '2026-06-01T09:00:00.000Z' },
    ]);
  },
);

t.test('the task list reads the index, not every event of the outbox', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  for (let i = 0; i < 50; i++)
    await spool.outbox.enqueue('waybill-event', {
      kind: 'pickup',
      waybill: `RR${String(i).padStart(8, '0')}0CH`,
      at: '2026-06-01T08:00:00.000Z',
    });
  const listed: unknown[] = [];
  const list = spool.outbox.list.bind(spool.outbox);
  spool.outbox.list = (options) => {
    listed.push(options);
    return list(options);
  };
  const events = spool.waybillEvents.standings(['RR000000070CH']);
  t.same([...events.keys()], ['RR000000070CH']);
  t.same(listed, [], 'standings come from the index alone');
  spool.waybillEvents.records('RR000000070CH');
  t.equal(listed.length, 1, "one waybill's records: one read of the records it names");
  t.match(listed[0], { seqs: [8] });
});
