/**
 * The parameter set reader (runtime/params/package.ts): a valid set reads back as itself, and each
 * check that matters for money refuses with CODPOS_PARAMS_CONTENT naming the first faulty field:
 * AIDs unique, TACs of 10 hex digits, floor limits whole and not negative, contactless limits as
 * the config checks them, the receipt header's size, the tariff, the revocations.
 */
import t from 'tap';
import { readEnvelope, readParameterSet } from '../../../runtime/params/package.js';
import type { ParameterSet } from '../../../runtime/params/types.js';
import { validSet } from './params-fixtures.js';

const content = (message: RegExp | string) => ({ name: 'PosError', code: 'CODPOS_PARAMS_CONTENT', message });
const format = (message: RegExp | string) => ({ name: 'PosError', code: 'CODPOS_PARAMS_FORMAT', message });

/** The valid set with one application changed. */
function withApplication(index: number, change: Record<string, unknown>): unknown {
  const set = validSet();
  const applications = set.emv.applications.map((a, i) => (i === index ? { ...a, ...change } : a));
  return { ...set, emv: { ...set.emv, applications } };
}

function withCombination(change: Record<string, unknown>): unknown {
  const set = validSet();
  return { ...set, contactless: { combinations: [{ ...set.contactless!.combinations[0]!, ...change }] } };
}

t.test('a valid set reads as itself; absent optional parts stay absent', async (t) => {
  t.same(readParameterSet(validSet()), validSet());
  const minimal: ParameterSet = {
    format: 'codpos-params/1',
    version: 1,
    issuedAt: '2026-12-01T08:00:00+01:00',
    emv: { applications: validSet().emv.applications },
    caKeys: [],
    revocations: [],
  };
  t.same(readParameterSet(minimal), minimal);
  const { partialSelection: _p, floorLimit: _f, ...bare } = validSet().emv.applications[0]!;
  const read = readParameterSet({ ...minimal, emv: { applications: [bare] } });
  t.equal(read.emv.applications[0]!.floorLimit, 0, 'floor limit defaults to 0, as in config');
  t.equal(read.emv.applications[0]!.partialSelection, true);
});

t.test('not a codpos-params/1 set at all: CODPOS_PARAMS_FORMAT', async (t) => {
  t.throws(() => readParameterSet('x'), format('the payload is not a JSON object'));
  t.throws(() => readParameterSet(null), format('the payload is not a JSON object'));
  t.throws(
    () => readParameterSet({ ...validSet(), format: 'codpos-params/0' }),
    format('format: expected "codpos-params/1", not "codpos-params/0"'),
  );
  const { format: _f, ...noFormat } = validSet();
  t.throws(() => readParameterSet(noFormat), format('format: expected "codpos-params/1", not nothing'));
});

t.test('the set header: version, issuedAt, unknown fields, audience', async (t) => {
  t.throws(() => readParameterSet({ ...validSet(), version: 0 }), content(/^version: /));
  t.throws(() => readParameterSet({ ...validSet(), version: 1.5 }), content('version: expected a whole number'));
  t.throws(
    () => readParameterSet({ ...validSet(), issuedAt: 'yesterday' }),
    content('issuedAt: expected an ISO 8601 date and time'),
  );
  t.throws(() => readParameterSet({ ...validSet(), floorLimit: 5 }), content(/^\(the whole\): .*floorLimit/));
  t.throws(() => readParameterSet({ ...validSet(), audience: { terminals: [] } }), content(/^audience\.terminals: /));
  t.throws(
    () => readParameterSet({ ...validSet(), caKeys: [{ rid: 'A000000003' }] }),
    content(/^caKeys\[0\]\.index: /),
  );
});

t.test('applications: AIDs unique, TACs 10 hex digits, floor limits whole and not negative', async (t) => {
  t.throws(
    () => readParameterSet(withApplication(1, { aid: 'a0000000031010' })),
    content('emv.applications[1].aid: AID A0000000031010 is listed twice'),
  );
  t.throws(() => readParameterSet({ ...validSet(), emv: { applications: [] } }), content(/^emv\.applications: /));
  for (const tac of ['tacDenial', 'tacOnline', 'tacDefault']) {
    t.throws(
      () => readParameterSet(withApplication(0, { [tac]: 'DC4004F8' })),
      content(`emv.applications[0].${tac}: expected 10 hex digits (terminal action code, 5 bytes)`),
    );
    t.throws(
      () => readParameterSet(withApplication(0, { [tac]: 'DC4004F8GG' })),
      content(new RegExp(`^emv\\.applications\\[0\\]\\.${tac}: expected 10 hex`)),
    );
  }
  t.throws(
    () => readParameterSet(withApplication(1, { floorLimit: -1 })),
    content(/^emv\.applications\[1\]\.floorLimit: /),
  );
  t.throws(
    () => readParameterSet(withApplication(1, { floorLimit: 10.5 })),
    content('emv.applications[1].floorLimit: expected an integer'),
  );
  t.equal(
    readParameterSet(withApplication(1, { floorLimit: 0 })).emv.applications[1]!.floorLimit,
    0,
    'zero is a floor limit',
  );
  t.throws(
    () => readParameterSet({ ...validSet(), emv: { ...validSet().emv, capabilities: 'E068' } }),
    content('emv.capabilities: expected 6 hex digits (tag 9F33)'),
  );
});

t.test('contactless limits as the config checks them', async (t) => {
  t.throws(
    () => readParameterSet(withCombination({ cvmRequiredLimit: 50000 })),
    content(/^contactless\.combinations\[0\]\.cvmRequiredLimit: must be below transactionLimit \(50000\)/),
  );
  t.throws(
    () => readParameterSet(withCombination({ floorLimit: 50000 })),
    content(/^contactless\.combinations\[0\]\.floorLimit: must be below transactionLimit/),
  );
  t.throws(
    () => readParameterSet(withCombination({ ttq: undefined })),
    content(/^contactless\.combinations\[0\]\.ttq: kernel 3 needs/),
  );
  t.throws(
    () => readParameterSet(withCombination({ transactionLimit: -5 })),
    content(/^contactless\.combinations\[0\]\.transactionLimit: /),
  );
  const set = validSet();
  const combination = set.contactless!.combinations[0]!;
  t.throws(
    () => readParameterSet({ ...set, contactless: { combinations: [combination, { ...combination }] } }),
    content('contactless.combinations[1].aid: listed twice: AID A0000000031010 with kernel 3'),
  );
});

t.test('the receipt header: at most 6 lines of at most 48 printable characters', async (t) => {
  const line48 = 'X'.repeat(48);
  t.same(readParameterSet(validSet({ receiptHeader: Array(6).fill(line48) })).receiptHeader, Array(6).fill(line48));
  t.throws(
    () => readParameterSet(validSet({ receiptHeader: Array(7).fill('A') })),
    content('receiptHeader: at most 6 lines'),
  );
  t.throws(
    () => readParameterSet(validSet({ receiptHeader: ['ok', `${line48}Y`] })),
    content('receiptHeader[1]: a receipt line holds at most 48 characters'),
  );
  t.throws(
    () => readParameterSet(validSet({ receiptHeader: ['a\nb'] })),
    content('receiptHeader[0]: expected printable characters'),
  );
});

t.test('the tariff is read as the uplink reads it; its fault names the tariff field', async (t) => {
  const tariff = validSet().tariff as Record<string, unknown>;
  t.throws(() => readParameterSet(validSet({ tariff: { ...tariff, currency: 'USD' } })), {
    ...content(/^tariff\.currency: expected an ISO 4217 numeric code/),
    details: { path: 'tariff' },
  });
  t.throws(() => readParameterSet(validSet({ tariff: [] })), content(/^tariff: expected an object/));
});

t.test('revocations: rid 10 hex, index 2 hex, serial 6 hex', async (t) => {
  const revoked = (change: Record<string, string>) =>
    validSet({
      revocations: [
        { rid: 'A000000003', index: '07', serial: '0A1B2C' },
        { rid: 'A000000004', index: 'F1', serial: '000001', ...change },
      ],
    });
  t.same(readParameterSet(revoked({})).revocations[1], { rid: 'A000000004', index: 'F1', serial: '000001' });
  t.throws(
    () => readParameterSet(revoked({ rid: 'A00000000' })),
    content('revocations[1].rid: expected 10 hex digits (RID, 5 bytes)'),
  );
  t.throws(
    () => readParameterSet(revoked({ index: 'F' })),
    content('revocations[1].index: expected 2 hex digits (CA public key index, 1 byte)'),
  );
  t.throws(
    () => readParameterSet(revoked({ serial: '0001' })),
    content('revocations[1].serial: expected 6 hex digits (certificate serial number, 3 bytes)'),
  );
  t.throws(() => readParameterSet(revoked({ serial: '00000G' })), content(/^revocations\[1\]\.serial: /));
});

t.test('the envelope reader names the faulty field', async (t) => {
  const envelope = {
    format: 'codpos-params/1',
    payload: 'e30=',
    signature: { alg: 'Ed25519', keyId: 'ops-1', value: 'AAAA' },
  };
  t.same(readEnvelope(envelope), envelope);
  t.throws(
    () => readEnvelope({ ...envelope, signature: { ...envelope.signature, keyId: 'a b' } }),
    format(/^envelope signature\.keyId: /),
  );
  t.throws(() => readEnvelope({ ...envelope, payload: 'e30' }), format('envelope payload: expected base64'));
  t.throws(() => readEnvelope({ ...envelope, payload: '' }), format(/^envelope payload: /));
  t.throws(() => readEnvelope('x'), format(/^envelope \(the whole\): /));
});
