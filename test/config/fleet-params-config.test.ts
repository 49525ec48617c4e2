/**
 * `config check` (and so codposd's start) reads the files the params and fleet sections name:
 * a missing operator key or broker password file is a config error naming its setting, not a
 * failure at the first package or connection.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { loadCheckedConfig } from '../../runtime/config-check.js';

const dir = mkdtempSync(join(tmpdir(), 'codpos-fleet-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let configs = 0;
function check(sections: Record<string, unknown>): void {
  const file = join(dir, `config-${++configs}.json`);
  writeFileSync(file, JSON.stringify({ data: { dir }, ...sections }));
  loadCheckedConfig({ file, env: {} });
}

t.test('an operator key file that is not there fails the check, naming the setting', async (t) => {
  t.throws(() => check({ params: { operatorKeys: [{ keyId: 'op-1', publicKeyFile: 'no-such.pem' }] } }), {
    code: 'CODPOS_CONFIG_INVALID',
    message: /params\.operatorKeys\[0\]\.publicKeyFile/,
  });
  const { publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'op-1.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  t.doesNotThrow(() => check({ params: { operatorKeys: [{ keyId: 'op-1', publicKeyFile: 'op-1.pem' }] } }));
});

t.test(
  'a fleet password file that is not there fails the check, naming the setting; a disabled fleet is not read',
  async (t) => {
    const fleet = { url: 'mqtt://127.0.0.1:1883', group: 'north', passwordFile: 'no-such.pw' };
    t.throws(() => check({ fleet }), { code: 'CODPOS_CONFIG_INVALID', message: /fleet\.passwordFile/ });
    t.doesNotThrow(() => check({ fleet: { ...fleet, enabled: false } }));
    writeFileSync(join(dir, 'fleet.pw'), 'secret\n', { mode: 0o600 });
    t.doesNotThrow(() => check({ fleet: { ...fleet, passwordFile: 'fleet.pw' } }));
  },
);
