import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Vault, FileKeyProvider, type KeyProvider } from '../../spool/vault.js';
import { tempDir, TEST_PAN } from './helpers.js';

t.test('seal and open round-trip with AES-256-GCM; the record id binds the value', async (t) => {
  const vault = Vault.fromKey(randomBytes(32));
  const sealed = vault.seal('rec-1', 'card_txn.pan', TEST_PAN);
  t.equal(sealed[0], 0x01, 'format version');
  t.equal(sealed.length, 1 + 12 + 16 + TEST_PAN.length);
  t.notOk(sealed.includes(Buffer.from(TEST_PAN)), 'no clear PAN in the sealed value');
  t.equal(vault.openText('rec-1', 'card_txn.pan', sealed), TEST_PAN);
  t.not(vault.seal('rec-1', 'card_txn.pan', TEST_PAN).toString('hex'), sealed.toString('hex'), 'a fresh IV each time');
  t.throws(
    () => vault.open('rec-2', 'card_txn.pan', sealed),
    { code: 'CODPOS_SPOOL_UNSEAL', message: /does not open/ },
    'moved to another record',
  );
  t.throws(
    () => vault.open('rec-1', 'card_txn.sad', sealed),
    { code: 'CODPOS_SPOOL_UNSEAL' },
    'moved to another field',
  );
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  t.throws(() => vault.open('rec-1', 'card_txn.pan', tampered), { code: 'CODPOS_SPOOL_UNSEAL' }, 'altered');
  t.throws(() => Vault.fromKey(randomBytes(16)), { code: 'CODPOS_SPOOL_KEY_INVALID' });
  t.throws(() => vault.open('rec-1', 'card_txn.pan', Buffer.from([2, 3])), {
    code: 'CODPOS_SPOOL_UNSEAL',
    message: /unknown format/,
  });
});

t.test('the key file is created with mode 0600 when absent and read back the same', async (t) => {
  const file = join(tempDir(), 'keys', 'vault.key');
  const created = new FileKeyProvider(file).loadDataKey();
  t.equal(created.length, 32);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.equal(statSync(join(file, '..')).mode & 0o777, 0o700, 'its directory is 0700');
  t.same(new FileKeyProvider(file).loadDataKey(), created, 'the same key on the next start');
  const vault = await Vault.fromProvider(new FileKeyProvider(file));
  const again = await Vault.fromProvider(new FileKeyProvider(file));
  t.equal(again.openText('r', 'f', vault.seal('r', 'f', 'hello')), 'hello');
});

t.test('a key file group or others may read is refused with a clear error', async (t) => {
  const file = join(tempDir(), 'vault.key');
  writeFileSync(file, randomBytes(32), { mode: 0o600 });
  chmodSync(file, 0o644);
  t.throws(() => new FileKeyProvider(file).loadDataKey(), {
    code: 'CODPOS_SPOOL_KEY_PERMISSIONS',
    message: new RegExp(`key file ${file} has mode 0644: group or others may read it; run "chmod 600 ${file}"`),
  });
  chmodSync(file, 0o640);
  t.throws(() => new FileKeyProvider(file).loadDataKey(), { code: 'CODPOS_SPOOL_KEY_PERMISSIONS' });
  chmodSync(file, 0o600);
  t.equal(new FileKeyProvider(file).loadDataKey().length, 32);
});

t.test('a key file of the wrong size is refused', async (t) => {
  const file = join(tempDir(), 'vault.key');
  writeFileSync(file, 'short', { mode: 0o600 });
  t.throws(() => new FileKeyProvider(file).loadDataKey(), {
    code: 'CODPOS_SPOOL_KEY_INVALID',
    message: /exactly 32 bytes, it holds 5/,
  });
  t.equal(readFileSync(file, 'utf8'), 'short', 'left as it was');
});

t.test('a key file that is a symbolic link is refused, even to a good key', async (t) => {
  const dir = tempDir();
  const real = join(dir, 'real.key');
  writeFileSync(real, randomBytes(32), { mode: 0o600 });
  const link = join(dir, 'vault.key');
  symlinkSync(real, link);
  t.throws(() => new FileKeyProvider(link).loadDataKey(), {
    code: 'CODPOS_SPOOL_KEY_INVALID',
    message: `key file ${link} is a symbolic link; the key must be a regular file (replace the link with the key itself)`,
  });
  t.equal(new FileKeyProvider(real).loadDataKey().length, 32, 'the file itself is accepted');
  const fifo = join(dir, 'fifo.key');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  t.throws(
    () => new FileKeyProvider(fifo).loadDataKey(),
    { code: 'CODPOS_SPOOL_KEY_INVALID', message: /is not a regular file/ },
    'a FIFO is refused without waiting for a writer',
  );
});

t.test('a deleted key file next to an existing spool is reported missing, not replaced by a new key', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'vault.key');
  const database = join(dir, 'spool.db');
  t.equal(
    new FileKeyProvider(file, { sealedDatabase: database }).loadDataKey().length,
    32,
    'first start: no spool yet, the key is created',
  );
  writeFileSync(database, '');
  rmSync(file);
  t.throws(() => new FileKeyProvider(file, { sealedDatabase: database }).loadDataKey(), {
    code: 'CODPOS_SPOOL_KEY_MISSING',
    message: `key file ${file} is missing, but spool database ${database} exists and its sealed card data needs that key; restore the key file from its backup`,
  });
  t.notOk(existsSync(file), 'no new key was written in its place');
});

t.test('a key provider (secure element) can supply the key asynchronously', async (t) => {
  const key = randomBytes(32);
  const provider: KeyProvider = { description: 'secure element slot 2', loadDataKey: async () => Buffer.from(key) };
  const vault = await Vault.fromProvider(provider);
  t.equal(Vault.fromKey(key).openText('r', 'f', vault.seal('r', 'f', 'x')), 'x');
  t.equal(vault.keyCheckValue(), Vault.fromKey(key).keyCheckValue());
  t.notMatch(vault.keyCheckValue(), key.toString('hex').slice(0, 16), 'the check value is not the key');
});
