import t from 'tap';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import { SpoolService } from '../../spool/service.js';
import { Spool } from '../../spool/spool.js';
import { Vault } from '../../spool/vault.js';
import { tempDir } from './helpers.js';
import { IdGenerator, UUID_V7, uuidV7Time } from '../../spool/ids.js';
import { ManualClock } from '../../spool/clock.js';

t.test('the service opens the spool from the config, creating the key file 0600, and stops cleanly', async (t) => {
  const dir = tempDir();
  const config = validateConfig({
    data: { dir },
    spool: { file: 'spool.db', keyFile: 'keys/vault.key', retentionDays: 1 },
    offline: { maxAmountPerTransaction: 1234 },
  });
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
  t.match(service.health(), {
    state: 'degraded',
    reason: /1 dead-lettered record\(s\): run "codpos spool list --state dead"/,
  });
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

t.test('a deleted key file: CODPOS_SPOOL_KEY_MISSING when sealed rows need it, no new key written', async (t) => {
  const dir = tempDir();
  const config = validateConfig({ data: { dir }, spool: { file: 'spool.db', keyFile: 'keys/vault.key' } });
  const first = new SpoolService(config);
  await first.start();
  first.spool.journal.begin({ amount: 100, currency: '840', pan: '4761739001010010' });
  await first.stop();
  const keyFile = join(dir, 'keys', 'vault.key');
  rmSync(keyFile);
  const service = new SpoolService(config);
  await t.rejects(service.start(), {
    code: 'CODPOS_SPOOL_KEY_MISSING',
    message:
      /key file .*vault\.key is missing, but spool database .*spool\.db exists and its sealed card data needs that key/,
  });
  t.notOk(existsSync(keyFile), 'no new key replaced the lost one');
});

t.test('a sealed value in the outbox alone also needs the key', async (t) => {
  const dir = tempDir();
  const seed = Spool.open({ file: join(dir, 'spool.db'), vault: Vault.fromKey(Buffer.alloc(32, 7)) });
  await seed.outbox.enqueue('advice', { mti: '0220' }, { sealed: { pan: '4761739001010010' } });
  seed.close();
  await t.rejects(new SpoolService(validateConfig({ data: { dir } })).start(), { code: 'CODPOS_SPOOL_KEY_MISSING' });
});

t.test('no key file and no sealed rows: the service starts with a new key, as on a first start', async (t) => {
  for (const seeded of [false, true]) {
    const dir = tempDir();
    if (seeded) {
      // A spool a tool seeded without card data (and without a key): not a lost key.
      const seed = Spool.open({ file: join(dir, 'spool.db') });
      await seed.outbox.enqueue('waybill-event', { waybill: 'RR123456785CH', event: 'delivered' });
      seed.close();
    }
    const service = new SpoolService(validateConfig({ data: { dir } }));
    await service.start();
    t.same(service.health(), { state: 'up' }, seeded ? 'a seeded spool without sealed rows' : 'a fresh spool');
    t.ok(existsSync(join(dir, 'vault.key')), 'the key file was created');
    await service.stop();
  }
});
