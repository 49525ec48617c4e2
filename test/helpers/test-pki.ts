/**
 * A throw-away PKI for TLS tests, made at run time with the openssl CLI in a temp directory
 * (node:crypto makes keys but not X.509 certificates; no private key is committed): a CA, a
 * server leaf for acquirer.test and 127.0.0.1, an expired leaf, a leaf from another CA and a
 * client certificate. EC P-256 keys: quick to make on a busy box.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM files in the PKI's directory. */
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA the channel trusts (PEM file and text). */
  caFile: string;
  ca: string;
  /** SAN DNS:acquirer.test, IP:127.0.0.1, valid now, from the CA. */
  server: TestCertificate;
  /** Same names, from the CA, valid only in January 2020. */
  expired: TestCertificate;
  /** Same names, valid now, from a CA the channel does not trust. */
  foreign: TestCertificate;
  /** A client certificate (CN codpos-terminal) from the CA, for mutual TLS. */
  client: TestCertificate;
  remove(): void;
}

const SERVER_SAN = 'DNS:acquirer.test,IP:127.0.0.1';

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-pki-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // Our own config, so the system's openssl.cnf does not change what is made.
  writeFileSync(
    at('openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = unused',
      '[ca_ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${SERVER_SAN}`,
      '[client_ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      // `openssl ca` (the expired leaf: it alone takes a start and end date in OpenSSL 3.0).
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir',
      'serial = $dir/serial',
      'certificate = $dir/ca.pem',
      'private_key = $dir/ca.key',
      'default_md = sha256',
      'policy = any_policy',
      'unique_subject = no',
      '[any_policy]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  writeFileSync(at('index.txt'), '');
  writeFileSync(at('serial'), '1000\n');
  const config = ['-config', at('openssl.cnf')];
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  const makeCa = (name: string, cn: string) =>
    openssl(
      'req',
      ...config,
      '-x509',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-extensions',
      'ca_ext',
    );
  const request = (name: string, cn: string) =>
    openssl('req', ...config, '-new', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  const sign = (name: string, ca: string, extensions: string) =>
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      at('openssl.cnf'),
      '-extensions',
      extensions,
      '-out',
      `${name}.pem`,
    );
  const read = (name: string): TestCertificate => ({
    certFile: at(`${name}.pem`),
    keyFile: at(`${name}.key`),
    cert: readFileSync(at(`${name}.pem`), 'utf8'),
    key: readFileSync(at(`${name}.key`), 'utf8'),
  });

  makeCa('ca', 'codpos test CA');
  makeCa('other-ca', 'some other CA');
  request('server', 'acquirer.test');
  sign('server', 'ca', 'server_ext');
  request('foreign', 'acquirer.test');
  sign('foreign', 'other-ca', 'server_ext');
  request('client', 'codpos-terminal');
  sign('client', 'ca', 'client_ext');
  request('expired', 'acquirer.test');
  openssl(
    'ca',
    ...config,
    '-batch',
    '-notext',
    '-in',
    'expired.csr',
    '-out',
    'expired.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200131000000Z',
    '-extensions',
    'server_ext',
    '-extfile',
    at('openssl.cnf'),
  );

  return {
    dir,
    caFile: at('ca.pem'),
    ca: readFileSync(at('ca.pem'), 'utf8'),
    server: read('server'),
    expired: read('expired'),
    foreign: read('foreign'),
    client: read('client'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
