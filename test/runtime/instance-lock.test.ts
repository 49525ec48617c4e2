import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { acquireInstanceLock } from '../../runtime/instance-lock.js';

t.test('a second lock on the same data directory is refused at once, naming the file and the holder pid', async (t) => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'codpos-lock-')), 'var', 'fresh');
  const first = acquireInstanceLock(dataDir, 4242);
  t.teardown(() => first.release());
  t.equal(first.file, join(dataDir, 'codposd.lock'), 'the data directory is created and holds the lock file');
  t.throws(() => acquireInstanceLock(dataDir, 5151), {
    code: 'CODPOS_DAEMON_ALREADY_RUNNING',
    message: `another codposd (pid 4242) holds the lock ${first.file} on this data directory: stop it first (two daemons must not drive the same devices and spool)`,
    details: { lockFile: first.file, pid: 4242 },
  });
  first.release();
  const again = acquireInstanceLock(dataDir, 5151);
  t.teardown(() => again.release());
  t.throws(
    () => acquireInstanceLock(dataDir, 6161),
    { code: 'CODPOS_DAEMON_ALREADY_RUNNING', details: { pid: 5151 } },
    'the new holder is named',
  );
});

t.test('another data directory is another lock', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'codpos-lock-'));
  const a = acquireInstanceLock(join(root, 'a'));
  const b = acquireInstanceLock(join(root, 'b'));
  a.release();
  b.release();
  t.pass('both taken');
});

t.test('a data directory that cannot be made is the storage error, not an internal one', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'codpos-lock-'));
  const notADir = join(root, 'file');
  writeFileSync(notADir, '');
  t.throws(() => acquireInstanceLock(join(notADir, 'var')), {
    code: 'CODPOS_SPOOL_DATA_DIR',
    message: `data directory ${join(notADir, 'var')} is not writable (ENOTDIR)`,
  });
});
