/**
 * verifyParameterPackage (runtime/params/verify.ts): a signed set verifies from an object, a JSON
 * string and a Buffer; each refusal has its code and names what was wrong; and the order holds:
 * the signature before the content (a forged package with bad content is a signature refusal),
 * the content before the audience, the audience before the version, the version before CA keys.
 */
import t from 'tap';
import { verifyParameterPackage, MAX_PACKAGE_BYTES } from '../../../runtime/params/verify.js';
import { signParameterSet, signPayload } from '../../../runtime/params/signature.js';
import { labOperatorKey, labOperatorSigner } from '../../../runtime/params/lab-operator-key.js';
import type { ParameterSet, VerifyOptions } from '../../../runtime/params/types.js';
import { BEFORE_EXPIRY, ed25519Pair, validSet, vectorCaKey } from './params-fixtures.js';

const lab = labOperatorSigner();
const options = (overrides: Partial<VerifyOptions> = {}): VerifyOptions => ({
  operatorKeys: [labOperatorKey()],
  terminalId: 'CODPOS01',
  group: 'north',
  now: BEFORE_EXPIRY,
  ...overrides,
});
const signed = (set: ParameterSet) => signParameterSet(set, lab);
const signedRaw = (value: unknown) => signPayload(Buffer.from(JSON.stringify(value), 'utf8'), lab);
const refusal = (code: string, message: RegExp | string) => ({ name: 'PosError', code, message });

t.test('a signed set verifies from an object, a JSON string and a Buffer', async (t) => {
  const envelope = signed(validSet());
  for (const input of [envelope, JSON.stringify(envelope), Buffer.from(JSON.stringify(envelope))]) {
    const verified = verifyParameterPackage(input, options({ runningVersion: 6 }));
    t.equal(verified.keyId, 'lab-operator');
    t.same(verified.set, validSet());
    t.same(verified.envelope, envelope);
  }
});

t.test('the envelope: not JSON, too big, wrong format, bad base64 are CODPOS_PARAMS_FORMAT', async (t) => {
  t.throws(
    () => verifyParameterPackage('{"format":', options()),
    refusal('CODPOS_PARAMS_FORMAT', /the package is not JSON/),
  );
  t.throws(
    () => verifyParameterPackage(Buffer.alloc(MAX_PACKAGE_BYTES + 1, 0x20), options()),
    refusal(
      'CODPOS_PARAMS_FORMAT',
      `the package is ${MAX_PACKAGE_BYTES + 1} bytes, over the ${MAX_PACKAGE_BYTES} allowed`,
    ),
  );
  const envelope = signed(validSet());
  t.throws(
    () => verifyParameterPackage({ ...envelope, format: 'codpos-params/2' }, options()),
    refusal('CODPOS_PARAMS_FORMAT', 'envelope format: expected "codpos-params/1"'),
  );
  t.throws(
    () => verifyParameterPackage({ ...envelope, payload: envelope.payload.slice(1) }, options()),
    refusal('CODPOS_PARAMS_FORMAT', 'envelope payload: expected base64'),
  );
  t.throws(
    () => verifyParameterPackage({ ...envelope, signature: { ...envelope.signature, alg: 'RS256' } }, options()),
    refusal('CODPOS_PARAMS_FORMAT', 'envelope signature.alg: expected Ed25519 or ES256'),
  );
  t.throws(
    () => verifyParameterPackage({ ...envelope, extra: 1 }, options()),
    refusal('CODPOS_PARAMS_FORMAT', /^envelope \(the whole\)/),
  );
});

t.test('the signature is checked before the content is read', async (t) => {
  const stranger = ed25519Pair();
  // Bad content, signed by a key the box does not have: refused for the signature, content unread.
  const forged = signPayload(Buffer.from('{"format":"codpos-params/1","version":"x"}'), {
    keyId: 'lab-operator',
    privateKey: stranger.privateKey,
  });
  t.throws(
    () => verifyParameterPackage(forged, options()),
    refusal('CODPOS_PARAMS_SIGNATURE', 'the Ed25519 signature does not verify with key "lab-operator"'),
  );
  t.throws(
    () => verifyParameterPackage(signedRaw({ format: 'codpos-params/1', version: 'x' }), options()),
    refusal('CODPOS_PARAMS_CONTENT', 'version: expected a whole number'),
    'the same content, signed: a content refusal',
  );
});

t.test('a signed payload that is no set is CODPOS_PARAMS_FORMAT', async (t) => {
  t.throws(
    () => verifyParameterPackage(signPayload(Buffer.from('not json'), lab), options()),
    refusal('CODPOS_PARAMS_FORMAT', /^the payload is not JSON/),
  );
  t.throws(
    () => verifyParameterPackage(signPayload(Buffer.from([0x22, 0xff, 0x22]), lab), options()),
    refusal('CODPOS_PARAMS_FORMAT', 'the payload is not UTF-8'),
  );
  t.throws(
    () => verifyParameterPackage(signedRaw([1]), options()),
    refusal('CODPOS_PARAMS_FORMAT', 'the payload is not a JSON object'),
  );
});

t.test('the audience: this terminal or its group, else CODPOS_PARAMS_NOT_FOR_US', async (t) => {
  const forTerminals = validSet({ audience: { terminals: ['CODPOS01', 'CODPOS02'] } });
  t.equal(verifyParameterPackage(signed(forTerminals), options()).set.version, 7, 'named terminal');
  const forGroups = validSet({ audience: { groups: ['south', 'north'] } });
  t.equal(verifyParameterPackage(signed(forGroups), options()).set.version, 7, 'named group');
  t.equal(verifyParameterPackage(signed(validSet({ audience: {} })), options()).set.version, 7, 'empty audience: all');
  t.throws(
    () => verifyParameterPackage(signed(forTerminals), options({ terminalId: 'CODPOS09' })),
    refusal(
      'CODPOS_PARAMS_NOT_FOR_US',
      'version 7 is for terminals CODPOS01, CODPOS02, not terminal CODPOS09 in group north',
    ),
  );
  t.throws(
    () => verifyParameterPackage(signed(forGroups), options({ group: undefined })),
    refusal('CODPOS_PARAMS_NOT_FOR_US', 'version 7 is for groups south, north, not terminal CODPOS01 (no fleet group)'),
  );
  t.throws(
    () =>
      verifyParameterPackage(
        signed(validSet({ audience: { terminals: ['A', 'B', 'C', 'D', 'E', 'F', 'G'], groups: ['south'] } })),
        options(),
      ),
    refusal('CODPOS_PARAMS_NOT_FOR_US', 'is for terminals A, B, C, D, E and 2 more and groups south, not'),
  );
  // Content before audience: a bad set for someone else is a content refusal.
  t.throws(
    () =>
      verifyParameterPackage(
        signed(validSet({ audience: { terminals: ['X'] }, receiptHeader: ['\u001b@'] })),
        options(),
      ),
    refusal('CODPOS_PARAMS_CONTENT', 'receiptHeader[0]: expected printable characters'),
  );
});

t.test('the version must be above the running one', async (t) => {
  t.equal(verifyParameterPackage(signed(validSet()), options({ runningVersion: 6 })).set.version, 7);
  for (const running of [7, 8]) {
    t.throws(() => verifyParameterPackage(signed(validSet()), options({ runningVersion: running })), {
      ...refusal(
        'CODPOS_PARAMS_VERSION',
        `running version ${running}, package version 7: only a newer version is applied`,
      ),
      details: { version: 7, runningVersion: running },
    });
  }
  // Audience before version: an old package for another box is not ours first.
  t.throws(
    () => verifyParameterPackage(signed(validSet({ audience: { groups: ['south'] } })), options({ runningVersion: 9 })),
    refusal('CODPOS_PARAMS_NOT_FOR_US', /groups south/),
  );
});

t.test('CA keys are checked last, with the version in the details', async (t) => {
  const broken = { ...vectorCaKey('A000000003', '08'), checksum: vectorCaKey('A000000003', '09').checksum };
  const set = validSet({ caKeys: [vectorCaKey('A000000003', '07'), broken] });
  t.throws(() => verifyParameterPackage(signed(set), options()), {
    ...refusal('CODPOS_PARAMS_CA_KEY', /^CA key A000000003\/08: the SHA-1 checksum .* does not match/),
    details: { rid: 'A000000003', index: '08', check: 'checksum', version: 7 },
  });
  t.throws(
    () => verifyParameterPackage(signed(set), options({ runningVersion: 7 })),
    refusal('CODPOS_PARAMS_VERSION', /running version 7/),
    'the version before the CA keys',
  );
  t.throws(
    () => verifyParameterPackage(signed(validSet()), options({ now: new Date('2018-01-01T00:00:00Z') })),
    refusal('CODPOS_PARAMS_CA_KEY', 'CA key A000000003/07: expired on 2017-12-31'),
    'expiry against options.now',
  );
});
