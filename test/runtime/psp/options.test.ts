/**
 * The `psp` config section: optional, validated (one of secret and secretFile, an http(s) URL),
 * masked in `config show`, and read into working client options (the signer checks what the
 * simulator signs); a file that cannot be read or a key of the wrong kind is CODPOS_PSP_CONFIG
 * naming the setting.
 */
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PosError } from '../../../config/errors.js';
import { validateConfig } from '../../../config/load.js';
import { redact } from '../../../config/masking.js';
import { pspClientOptionsFromConfig, type PspConfig } from '../../../runtime/psp/options.js';
import { canonicalString, ecdsaSigner, hmacSigner } from '../../../runtime/psp/signing.js';

const dir = mkdtempSync(join(tmpdir(), 'codpos-psp-options-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const base = { url: 'https://psp.example/api', merchantId: 'M1', terminalId: 'T1' };
const parts = {
  method: 'GET',
  path: '/api/v1/orders/x',
  merchantId: 'M1',
  terminalId: 'T1',
  timestamp: '1',
  nonce: 'n'.repeat(16),
  body: '',
};
const canonical = canonicalString(parts);

function pspOf(psp: Record<string, unknown>): PspConfig {
  return validateConfig({ psp }).psp!;
}

t.test('absent: no QR payments', async (t) => {
  t.equal(validateConfig({}).psp, undefined);
});

t.test('validation: one of secret and secretFile, an http(s) URL, a known scheme', async (t) => {
  const secret = 'sixteen chars ok';
  t.equal(pspOf({ ...base, signing: { scheme: 'hmac-sha256', secret } }).timeoutMs, 10000);
  t.equal(pspOf({ ...base, signing: { scheme: 'hmac-sha256', secret } }).notifications.enabled, false);
  t.throws(() => pspOf({ ...base, signing: { scheme: 'hmac-sha256' } }), { code: 'CODPOS_CONFIG_INVALID' });
  const both = (() => {
    try {
      pspOf({ ...base, signing: { scheme: 'hmac-sha256', secret, secretFile: 'f' } });
    } catch (error) {
      return error as PosError;
    }
  })();
  t.equal(both?.code, 'CODPOS_CONFIG_INVALID');
  t.match(both?.message, /set exactly one of secret and secretFile/);
  t.notMatch(both?.message, secret, 'the error does not print the secret back');
  const short = pspOf({ ...base, signing: { scheme: 'hmac-sha256', secret: 'short secret' } });
  const tooShort = (() => {
    try {
      pspClientOptionsFromConfig(short, dir);
    } catch (error) {
      return error as PosError;
    }
  })();
  t.equal(tooShort?.code, 'CODPOS_PSP_CONFIG', 'a secret under 16 bytes is refused when read');
  t.match(tooShort?.message, /psp\.signing: an HMAC secret must be at least 16 bytes/);
  t.notMatch(tooShort?.message, 'short secret');
  t.throws(() => pspOf({ ...base, url: 'ftp://psp.example', signing: { scheme: 'hmac-sha256', secret } }), {
    code: 'CODPOS_CONFIG_INVALID',
  });
  t.throws(() => pspOf({ ...base, signing: { scheme: 'rsa', secret } }), { code: 'CODPOS_CONFIG_INVALID' });
  t.throws(() => pspOf({ ...base, signing: { scheme: 'ecdsa-p256', privateKeyFile: 'k' } }), {
    code: 'CODPOS_CONFIG_INVALID',
  });
  const shown = JSON.stringify(redact({ psp: { ...base, signing: { scheme: 'hmac-sha256', secret } } }));
  t.notMatch(shown, secret, 'the secret is masked in config show');
});

t.test('hmac: the secret inline or from a file, relative to data.dir or a credential', async (t) => {
  const secret = 'a secret of the terminal and PSP';
  writeFileSync(join(dir, 'psp.secret'), `${secret}\n`, { mode: 0o600 });
  const psp = hmacSigner(Buffer.from(secret)).sign(canonical);
  const inline = pspClientOptionsFromConfig(pspOf({ ...base, signing: { scheme: 'hmac-sha256', secret } }), dir);
  t.ok(inline.signer.verify(canonical, psp));
  t.match(inline, { url: base.url, merchantId: 'M1', terminalId: 'T1', timeoutMs: 10000 });
  const fromFile = pspClientOptionsFromConfig(
    pspOf({ ...base, signing: { scheme: 'hmac-sha256', secretFile: 'psp.secret' } }),
    dir,
  );
  t.ok(fromFile.signer.verify(canonical, psp), 'the file is read, its trailing newline not part of the secret');
  const credential = pspClientOptionsFromConfig(
    pspOf({ ...base, signing: { scheme: 'hmac-sha256', secretFile: 'credential:psp.secret' } }),
    '/nonexistent',
    { CREDENTIALS_DIRECTORY: dir },
  );
  t.ok(credential.signer.verify(canonical, psp));
  t.throws(
    () =>
      pspClientOptionsFromConfig(pspOf({ ...base, signing: { scheme: 'hmac-sha256', secretFile: 'missing' } }), dir),
    { code: 'CODPOS_PSP_CONFIG', message: /psp\.signing\.secretFile: cannot read/ },
  );
});

t.test('ecdsa: the key files read; a key of another kind refused; the CA file read', async (t) => {
  const terminal = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pspKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pem = (key: { export(o: object): string | Buffer }, type: string) =>
    String(key.export({ type, format: 'pem' }));
  writeFileSync(join(dir, 'terminal.key'), pem(terminal.privateKey, 'pkcs8'), { mode: 0o600 });
  writeFileSync(join(dir, 'psp.pub'), pem(pspKeys.publicKey, 'spki'));
  writeFileSync(join(dir, 'rsa.pub'), pem(rsa.publicKey, 'spki'));
  writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
  const options = pspClientOptionsFromConfig(
    pspOf({
      ...base,
      caFile: 'ca.pem',
      signing: { scheme: 'ecdsa-p256', privateKeyFile: 'terminal.key', pspPublicKeyFile: 'psp.pub' },
    }),
    dir,
  );
  t.equal(String(options.ca), 'CA PEM');
  const psp = ecdsaSigner(pspKeys.privateKey, terminal.publicKey);
  t.ok(options.signer.verify(canonical, psp.sign(canonical)), "the PSP's signature checks");
  t.ok(psp.verify(canonical, options.signer.sign(canonical)), "the PSP checks the terminal's");
  t.throws(
    () =>
      pspClientOptionsFromConfig(
        pspOf({
          ...base,
          signing: { scheme: 'ecdsa-p256', privateKeyFile: 'terminal.key', pspPublicKeyFile: 'rsa.pub' },
        }),
        dir,
      ),
    { code: 'CODPOS_PSP_CONFIG', message: /psp\.signing: the public key is not an EC P-256 key/ },
  );
});
