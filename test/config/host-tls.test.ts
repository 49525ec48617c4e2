/**
 * `host.tls`: the schema (false or an object; `true` alone refused with what to set) and the
 * file checks of `config check` (each file readable and regular, the CA bundle X.509, the
 * client certificate matching its key), against a PKI made in the test.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { validateConfig } from '../../config/load.js';
import { isPosError } from '../../config/errors.js';
import { loadCheckedConfig } from '../../runtime/config-check.js';
import { makeTestPki } from '../helpers/test-pki.js';

const pki = makeTestPki();
t.teardown(() => pki.remove());
const dir = mkdtempSync(join(tmpdir(), 'codpos-tls-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (isPosError(error, 'CODPOS_CONFIG_INVALID')) return error.details?.problems as string[];
    throw error;
  }
  return [];
}

/** `config check` of a config file whose data.dir is the PKI's directory. */
let configs = 0;
function check(tls: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  const file = join(dir, `config-${++configs}.json`);
  writeFileSync(file, JSON.stringify({ data: { dir: pki.dir }, host: { mode: 'tcp', tls } }));
  return problemsOf(() => loadCheckedConfig({ file, env }));
}

const PIN = 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=';

t.test(
  'host.tls: false by default; an object gets minVersion TLSv1.2; true alone is refused saying what to set',
  async (t) => {
    t.equal(validateConfig({}).host.tls, false);
    t.same(validateConfig({ host: { tls: { caFile: 'ca.pem' } } }).host.tls, {
      caFile: 'ca.pem',
      minVersion: 'TLSv1.2',
    });
    t.same(
      problemsOf(() => validateConfig({ host: { tls: true } })),
      [
        "host.tls: true alone is not accepted: set an object with at least caFile (the PEM CA bundle the acquirer's certificate chains to), so the link never trusts the system store silently, got true",
      ],
    );
    t.same(
      validateConfig({}, { CODPOS_HOST__TLS__CA_FILE: '/etc/codpos/acquirer-ca.pem' }).host.tls,
      { caFile: '/etc/codpos/acquirer-ca.pem', minVersion: 'TLSv1.2' },
      'set from the environment',
    );
    t.equal(validateConfig({}, { CODPOS_HOST__TLS: 'false' }).host.tls, false, 'false from the environment');
  },
);

t.test('host.tls: a bad object is reported key by key', async (t) => {
  t.same(
    problemsOf(() => validateConfig({ host: { tls: {} } })),
    ['host.tls.caFile: expected a string, got nothing'],
  );
  t.same(
    problemsOf(() => validateConfig({ host: { tls: { caFile: 'ca.pem', certFile: 'client.pem' } } })),
    ['host.tls.keyFile: certFile and keyFile go together (mutual TLS needs both, plain TLS neither)'],
  );
  t.match(
    problemsOf(() =>
      validateConfig({ host: { tls: { caFile: 'ca.pem', pinSha256: [PIN, 'abc', PIN.replace('=', 'A')] } } }),
    ),
    [
      /^host\.tls\.pinSha256\.1: expected the base64 SHA-256 of a SubjectPublicKeyInfo \(44 characters ending in =\)/,
      /^host\.tls\.pinSha256\.2: expected the base64 SHA-256/,
    ],
  );
  t.same(
    problemsOf(() => validateConfig({ host: { tls: { caFile: 'ca.pem', minVersion: 'TLSv1.1' } } })),
    ['host.tls.minVersion: expected one of "TLSv1.2", "TLSv1.3", got "TLSv1.1"'],
  );
  t.same(
    problemsOf(() => validateConfig({ host: { tls: { caFile: 'ca.pem', ca: 'x' } } })),
    ['host.tls.ca: unknown setting'],
  );
  t.same(
    problemsOf(() => validateConfig({ host: { tls: 'yes' } })),
    ['host.tls: expected false or an object with caFile, got "yes"'],
  );
});

t.test('config check: good TLS files pass; paths are relative to data.dir', async (t) => {
  t.same(check({ caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client.key', pinSha256: [PIN] }), []);
  t.same(check({ caFile: pki.caFile }), [], 'an absolute path');
});

t.test(
  "config check: a missing file, a directory, a bundle that is not PEM X.509, a key that is not the certificate's",
  async (t) => {
    mkdirSync(join(pki.dir, 'a-directory'), { recursive: true });
    writeFileSync(join(pki.dir, 'not-a-cert.pem'), 'hello\n');
    writeFileSync(join(pki.dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    t.match(check({ caFile: 'nowhere.pem' }), [/^host\.tls\.caFile: cannot read .*nowhere\.pem \(ENOENT\)$/]);
    t.match(check({ caFile: 'a-directory' }), [/^host\.tls\.caFile: .*a-directory is not a regular file$/]);
    t.same(check({ caFile: 'not-a-cert.pem' }), [
      'host.tls.caFile: no PEM certificate in the bundle (expected -----BEGIN CERTIFICATE----- blocks)',
    ]);
    t.match(check({ caFile: 'broken.pem' }), [/^host\.tls\.caFile: certificate 1 of the bundle is not X\.509/]);
    t.same(check({ caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'server.key' }), [
      'host.tls.keyFile: the key does not match the certificate of host.tls.certFile',
    ]);
    t.match(check({ caFile: 'ca.pem', certFile: 'not-a-cert.pem', keyFile: 'ca.pem' }), [
      /^host\.tls\.certFile: not a PEM X\.509 certificate/,
      /^host\.tls\.keyFile: not a PEM private key/,
    ]);
  },
);

t.test('config check: credential:NAME needs $CREDENTIALS_DIRECTORY and reads the file there', async (t) => {
  const credentials = join(dir, 'credentials');
  mkdirSync(credentials, { recursive: true });
  writeFileSync(join(credentials, 'terminal-key'), pki.client.key);
  const tls = { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'credential:terminal-key' };
  t.same(check(tls, { CREDENTIALS_DIRECTORY: credentials }), []);
  t.match(check(tls), [/^host\.tls\.keyFile: credential:terminal-key: CREDENTIALS_DIRECTORY is not set/]);
  t.match(check({ ...tls, keyFile: 'credential:../x' }, { CREDENTIALS_DIRECTORY: credentials }), [
    /^host\.tls\.keyFile: "credential:\.\.\/x": expected credential:NAME with a plain file name/,
  ]);
});
