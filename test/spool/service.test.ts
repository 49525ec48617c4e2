import t from 'tap';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import { SpoolService } from '../../spool/service.js';
import { Spool } from '../../spool/spool.js';
import { tempDir } from './helpers.js';
import { IdGenerator, UUID_V7, uuidV7Time } from '../../spool/ids.js';
import { ManualClock } from '../../spool/clock.js';

t.test('the service opens the spool from the config, creating the key file 0600, and stops cleanly', async (t) => {
  const dir = tempDir();
  const config = validateConfig({ data: { dir }, spool: { file: 'spool.db', keyFile: 'keys/vault.key', retentionDays: 1 }, offline: { maxAmountPerTransaction: 1234 } });
  const service = new SpoolService(config);
  t.equal(service.name, 'spool');
  t.same(service.health(), { state: 'starting' });
  await service.start();
  t.same(service.health(), { state: 'up' });
  t.equal(statSync(join(dir, 'keys', 'vault.key')).mode & 0o777, 0o600);
  t.equal(service.spool.file, join(dir, 'spool.db'));
  t.equal(service.spool.limits.maxOfflineAmountPerTransaction, 1234, 'limits come from the config');
  t.equal(service.spool.retentionMs, 86_400_000);
  const txn = service.spool.journal.begin({ amount: 100, currency: '840', pan: '4761739001010010' });
  const pending = service.spool.outbox.enqueue('waybill-event', { at: 'shutdown' });
  await service.stop(); // writes what waits for the group commit before closing
  await pending;
  t.same(service.health(), { state: 'stopped' });

  const again = new SpoolService(config);
  await again.start();
  t.equal(again.spool.journal.openPan(txn.id), '4761739001010010', 'the same key opens the sealed PAN after a restart');
  t.equal(again.spool.outbox.list().length, 1);
  await again.stop();
});

t.test('the service reports degraded when records are dead-lettered', async (t) => {
  const dir = tempDir();
  const config = validateConfig({ data: { dir } });
  const seed = Spool.open({ file: join(dir, 'spool.db') });
  const { id } = await seed.outbox.enqueue('advice', { mti: '0220' });
  seed.outbox.lease('advice');
  seed.outbox.fail(id, 'format error', { permanent: true });
  seed.close();
  const service = new SpoolService(config);
  await service.start();
  t.teardown(() => service.stop());
  t.match(service.health(), { state: 'degraded', reason: /1 dead-lettered record\(s\): run "codpos spool list --state dead"/ });
});

t.test('a world-readable key file stops the service from starting with a clear error', async (t) => {
  const dir = tempDir();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'vault.key'), Buffer.alloc(32, 1), { mode: 0o644 });
  const service = new SpoolService(validateConfig({ data: { dir } }));
  await t.rejects(service.start(), { code: 'CODPOS_SPOOL_KEY_PERMISSIONS' });
});

t.test('UUIDv7 ids sort in the order made, even when the clock stands still or steps back', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ids = new IdGenerator(clock);
  const made: string[] = [];
  for (let i = 0; i < 5000; i++) {
    if (i === 2000) clock.advance(-60_000); // NTP steps the clock back
    if (i % 1000 === 999) clock.advance(1);
    made.push(ids.next());
  }
  t.ok(made.every((id) => UUID_V7.test(id)));
  t.same([...made].sort(), made, 'sorted order is creation order');
  t.equal(new Set(made).size, made.length);
  t.equal(uuidV7Time(made[0]!), Date.UTC(2026, 0, 1));
});
