import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { validateConfig } from '../../../config/load.js';
import { isPosError } from '../../../config/errors.js';
import { decodeIso8583, encodeIso8583, pos87b } from '../../../emv/iso8583/index.js';
import { runCodpos } from '../../helpers/cli.js';

const DE55 = Buffer.from('9F2608A1B2C3D4E5F60718', 'hex');
const message = { mti: '0800', fields: { 11: '000001', 41: 'CODPOS01', 55: DE55 } };

t.test('without overrides the host speaks the shipped dialect itself', async (t) => {
  t.equal(hostDialect(validateConfig({}).host), pos87b);
});

t.test('a host that sends DE55 with a 2-byte binary length is configured, not coded', async (t) => {
  const host = validateConfig({
    host: {
      fieldOverrides: {
        55: {
          name: 'ICC data (binary length)',
          content: 'b',
          lengthType: 'LLL',
          maxLength: 255,
          encoding: 'binary',
          lengthEncoding: 'binary',
        },
      },
    },
  }).host;
  const dialect = hostDialect(host);
  const standard = encodeIso8583(message, pos87b);
  const configured = encodeIso8583(message, dialect);
  // pos87b writes DE55's length as BCD 00 11 (11 bytes); the configured host as binary 00 0B.
  t.equal(standard.subarray(-DE55.length - 2, -DE55.length).toString('hex'), '0011');
  t.equal(configured.subarray(-DE55.length - 2, -DE55.length).toString('hex'), '000b');
  t.same(Buffer.from(decodeIso8583(configured, dialect).fields[55] as Buffer), DE55);
  t.same(
    standard.subarray(0, -DE55.length - 2),
    configured.subarray(0, -DE55.length - 2),
    'every other byte is the same',
  );
});

t.test('a field dropped by the config is refused on decode', async (t) => {
  const dialect = hostDialect(validateConfig({ host: { fieldOverrides: { 55: null } } }).host);
  t.throws(() => encodeIso8583(message, dialect));
  t.throws(() => decodeIso8583(encodeIso8583(message, pos87b), dialect), { code: 'CODPOS_ISO8583_UNKNOWN_FIELD' });
});

t.test('an override that cannot work is a config error naming the setting', async (t) => {
  const host = validateConfig({
    host: {
      fieldOverrides: {
        55: {
          name: 'ICC data',
          content: 'b',
          lengthType: 'LLL',
          maxLength: 255,
          encoding: 'bcd',
          lengthEncoding: 'binary',
        },
      },
    },
  }).host;
  try {
    hostDialect(host);
    t.fail('expected a config error');
  } catch (error) {
    t.ok(isPosError(error, 'CODPOS_CONFIG_INVALID'));
    t.same((error as { details: { problems: string[] } }).details.problems, [
      'host.fieldOverrides.55: content b can be encoded as binary, hex, not bcd',
    ]);
  }
  t.throws(() => hostDialect(validateConfig({ host: { dialect: 'iso99' } }).host), {
    message: /^host\.dialect: no dialect named "iso99"; choose one of pos87b/,
  });
});

t.test('config check and the daemon report override mistakes as path: message lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-overrides-'));
  const file = join(dir, 'host.json');
  writeFileSync(
    file,
    JSON.stringify({
      host: {
        fieldOverrides: {
          200: null,
          55: {
            name: 'ICC',
            content: 'b',
            lengthType: 'LLL',
            maxLength: 99999,
            encoding: 'binary',
            lengthEncoding: 'bcd',
          },
        },
      },
    }),
  );
  const schema = runCodpos(['config', 'check', file]);
  t.equal(schema.status, 2);
  t.same(schema.stderr.trim().split('\n'), [
    'host.fieldOverrides.200: expected a field number from 2 to 128, got "200"',
  ]);
  writeFileSync(
    file,
    JSON.stringify({
      host: {
        fieldOverrides: {
          55: {
            name: 'ICC',
            content: 'b',
            lengthType: 'LLL',
            maxLength: 99999,
            encoding: 'binary',
            lengthEncoding: 'bcd',
          },
        },
      },
    }),
  );
  const combination = runCodpos(['config', 'check', file]);
  t.equal(combination.status, 2);
  t.match(
    combination.stderr.trim(),
    /^host\.fieldOverrides\.55: maxLength 99999 does not fit a LLL bcd length \(at most 999\)$/,
  );
});
