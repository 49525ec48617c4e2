/**
 * `codpos params sign` and `codpos params verify` as the operator and a technician run them (the
 * built CLI): a set signed with the lab key or an ES256 key file verifies with the keys of the
 * config; each refusal exits 8 with its code and message; what cannot be signed exits 2 or 8
 * naming why, and prints no package.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { packageRoot } from '../../config/paths.js';
import { runCodpos } from '../helpers/cli.js';
import { capkVectors } from '../runtime/params/params-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'codpos-params-cli-'));
const simConfig = JSON.parse(readFileSync(join(packageRoot, 'config', 'sim.json'), 'utf8')) as Record<string, unknown>;

function writeConfig(name: string, params: unknown, extra: Record<string, unknown> = {}): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...simConfig, data: { dir }, params, ...extra }));
  return file;
}

const k09 = capkVectors.find((k) => k.rid === 'A000000003' && k.index === '09')!;
function setFile(name: string, change: Record<string, unknown> = {}): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      format: 'codpos-params/1',
      version: 3,
      issuedAt: '2026-12-05T10:00:00Z',
      description: 'winter limits',
      emv: {
        applications: [
          {
            aid: 'A0000000031010',
            applicationVersion: '0096',
            tacDenial: '0010000000',
            tacOnline: 'DC4004F800',
            tacDefault: 'DC4000A800',
            floorLimit: 0,
          },
        ],
      },
      // The published test key; its expiry is not in the checksum, so a far one keeps it valid today.
      caKeys: [
        {
          rid: k09.rid,
          index: k09.index,
          modulus: k09.modulus,
          exponent: k09.exponent,
          expiry: '491231',
          checksum: k09.sha1,
        },
      ],
      revocations: [{ rid: 'A000000003', index: '09', serial: '00A0B1' }],
      ...change,
    }),
  );
  return file;
}

function sign(args: string[], name: string): string {
  const result = runCodpos(['params', 'sign', ...args]);
  if (result.status !== 0) throw new Error(`sign failed: ${result.stderr}`);
  const file = join(dir, name);
  writeFileSync(file, result.stdout);
  return file;
}

t.test('signed with the lab key, it verifies with the simulated config: lines and JSON', async (t) => {
  const pkg = sign(['--key', 'lab', setFile('set.json')], 'lab.pkg.json');
  const envelope = JSON.parse(readFileSync(pkg, 'utf8')) as { format: string; signature: Record<string, string> };
  t.equal(envelope.format, 'codpos-params/1');
  t.match(envelope.signature, { alg: 'Ed25519', keyId: 'lab-operator' });

  const lines = runCodpos(['params', 'verify', pkg, '--config', 'config/sim.json']);
  t.equal(lines.status, 0, lines.stderr);
  t.equal(
    lines.stdout,
    [
      `${pkg}: ok`,
      'version       3',
      'issued at     2026-12-05T10:00:00Z',
      'description   winter limits',
      'signed by     lab-operator (Ed25519)',
      'applications  1',
      'CA keys       1',
      'revocations   1',
      '',
    ].join('\n'),
  );
  const json = runCodpos(['params', 'verify', pkg, '--config', 'config/sim.json', '--json']);
  t.equal(json.status, 0, json.stderr);
  t.same(JSON.parse(json.stdout), {
    ok: true,
    version: 3,
    issuedAt: '2026-12-05T10:00:00Z',
    description: 'winter limits',
    keyId: 'lab-operator',
    alg: 'Ed25519',
    applications: 1,
    caKeys: 1,
    revocations: 1,
  });
});

t.test('refusals exit 8 with the code and the message', async (t) => {
  const pkg = sign(['--key', 'lab', setFile('set2.json')], 'lab2.pkg.json');
  const untrusting = writeConfig('no-lab.json', { trustLabKey: false });
  const unsigned = runCodpos(['params', 'verify', pkg, '--config', untrusting]);
  t.equal(unsigned.status, 8);
  t.equal(
    unsigned.stderr,
    `${pkg}: refused, CODPOS_PARAMS_SIGNATURE: signed with key "lab-operator", which is not installed (installed: none)\n`,
  );
  t.equal(unsigned.stdout, '');

  const old = runCodpos(['params', 'verify', pkg, '--config', 'config/sim.json', '--running-version', '3', '--json']);
  t.equal(old.status, 8);
  t.same(JSON.parse(old.stderr), {
    error: 'CODPOS_PARAMS_VERSION',
    message: 'running version 3, package version 3: only a newer version is applied',
    details: { version: 3, runningVersion: 3 },
  });

  const elsewhere = sign(
    ['--key', 'lab', setFile('set3.json', { audience: { terminals: ['CODPOS77'] } })],
    'x.pkg.json',
  );
  const notUs = runCodpos(['params', 'verify', elsewhere, '--config', 'config/sim.json']);
  t.equal(notUs.status, 8);
  t.match(notUs.stderr, 'CODPOS_PARAMS_NOT_FOR_US: version 3 is for terminals CODPOS77, not terminal CODPOS01');

  const envelope = JSON.parse(readFileSync(pkg, 'utf8')) as { payload: string };
  const payload = Buffer.from(envelope.payload, 'base64');
  payload[payload.length - 3] = payload[payload.length - 3]! ^ 0x01;
  const tampered = join(dir, 'tampered.json');
  writeFileSync(tampered, JSON.stringify({ ...envelope, payload: payload.toString('base64') }));
  const forged = runCodpos(['params', 'verify', tampered, '--config', 'config/sim.json']);
  t.equal(forged.status, 8);
  t.match(forged.stderr, 'CODPOS_PARAMS_SIGNATURE: the Ed25519 signature does not verify with key "lab-operator"');

  const missing = runCodpos(['params', 'verify', join(dir, 'nope.json'), '--config', 'config/sim.json']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /^FILE: cannot read .*nope\.json \(ENOENT\)/);
});

t.test('an ES256 key file signs; the config that lists its public key verifies it', async (t) => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(dir, 'ops.key.pem');
  writeFileSync(keyFile, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  writeFileSync(join(dir, 'ops.pub.pem'), pair.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const pkg = sign(['--key', keyFile, '--key-id', 'ops-2026', setFile('set4.json')], 'ops.pkg.json');
  const config = writeConfig('ops.json', {
    operatorKeys: [{ keyId: 'ops-2026', publicKeyFile: 'ops.pub.pem' }],
    trustLabKey: false,
  });
  const ok = runCodpos(['params', 'verify', pkg, '--config', config]);
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, 'signed by     ops-2026 (ES256)');
  const badKeyConfig = writeConfig('bad-key.json', {
    operatorKeys: [{ keyId: 'ops-2026', publicKeyFile: 'absent.pem' }],
  });
  const badKey = runCodpos(['params', 'verify', pkg, '--config', badKeyConfig]);
  t.equal(badKey.status, 2);
  t.match(badKey.stderr, /^params\.operatorKeys\[0\]\.publicKeyFile: cannot read .*absent\.pem/);
});

t.test('what cannot be signed prints no package and says why', async (t) => {
  const bad = runCodpos(['params', 'sign', '--key', 'lab', setFile('bad.json', { receiptHeader: ['X'.repeat(49)] })]);
  t.equal(bad.status, 8);
  t.equal(bad.stdout, '');
  t.equal(bad.stderr, 'receiptHeader[0]: a receipt line holds at most 48 characters\n');

  const expired = runCodpos([
    'params',
    'sign',
    '--key',
    'lab',
    setFile('expired.json', {
      caKeys: [
        {
          rid: k09.rid,
          index: k09.index,
          modulus: k09.modulus,
          exponent: k09.exponent,
          expiry: k09.expiry,
          checksum: k09.sha1,
        },
      ],
    }),
  ]);
  t.equal(expired.status, 8);
  t.equal(expired.stderr, 'CA key A000000003/09: expired on 2022-12-31\n');

  const rsaFile = join(dir, 'rsa.pem');
  writeFileSync(
    rsaFile,
    generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  );
  const rsa = runCodpos(['params', 'sign', '--key', rsaFile, '--key-id', 'ops', setFile('set5.json')]);
  t.equal(rsa.status, 2);
  t.match(rsa.stderr, `--key: ${rsaFile} is a rsa key; sign with Ed25519 or EC P-256`);
  const noId = runCodpos(['params', 'sign', '--key', rsaFile, setFile('set6.json')]);
  t.equal(noId.status, 2);
  t.match(noId.stderr, '--key-id: required with a key file');
  const labOther = runCodpos(['params', 'sign', '--key', 'lab', '--key-id', 'ops', setFile('set7.json')]);
  t.equal(labOther.status, 2);
  t.match(labOther.stderr, '--key-id: the lab key is known as lab-operator, not ops');
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '{');
  const parse = runCodpos(['params', 'sign', '--key', 'lab', notJson]);
  t.equal(parse.status, 2);
  t.match(parse.stderr, `${notJson}: not JSON`);
});
