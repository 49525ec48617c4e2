/** The kernel's terminal from the configuration: emv.* and terminal.*, the CA key file checked. */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import { kernelTerminal } from '../../../runtime/payment/terminal.js';
import { testCaPublicKeys } from '../../../emv/card/index.js';
import { systemTimeZone } from '../../../config/local-time.js';

t.test(
  'defaults: the Visa and Mastercard AIDs, floor limit 0, the test CA keys, terminal ids and country from terminal.*',
  async (t) => {
    const terminal = kernelTerminal(validateConfig({ terminal: { id: 'COD00042', country: '360' } }));
    t.same(
      terminal.applications.map((a) => a.aid),
      ['A0000000031010', 'A0000000041010'],
    );
    t.same(
      terminal.applications.map((a) => a.floorLimit),
      [0, 0],
    );
    t.equal(terminal.terminalId, 'COD00042');
    t.equal(terminal.countryCode, '0360');
    t.equal(terminal.caKeys.length, testCaPublicKeys().length);
  },
);

t.test(
  'terminal.merchantCategoryCode, ifdSerialNumber and timeZone reach the kernel (9F15, 9F1E, the date of 9A)',
  async (t) => {
    const set = kernelTerminal(
      validateConfig({
        terminal: { merchantCategoryCode: '4121', ifdSerialNumber: 'SN000042', timeZone: 'Asia/Tokyo' },
      }),
    );
    t.same([set.merchantCategoryCode, set.ifdSerialNumber, set.timeZone], ['4121', 'SN000042', 'Asia/Tokyo']);
    const defaults = kernelTerminal(validateConfig({ terminal: { id: 'COD00042' } }));
    t.same(
      [defaults.merchantCategoryCode, defaults.ifdSerialNumber, defaults.timeZone],
      ['4215', 'COD00042', systemTimeZone()],
      'courier services, the serial from terminal.id, the system zone',
    );
  },
);

t.test('emv.caKeysFile: read relative to data.dir, each key checked; a bad file names the key and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-ca-'));
  const [first] = testCaPublicKeys();
  writeFileSync(join(dir, 'ca.json'), JSON.stringify({ keys: [first] }));
  const terminal = kernelTerminal(validateConfig({ data: { dir }, emv: { caKeysFile: 'ca.json' } }));
  t.same(terminal.caKeys, [{ ...first, modulus: String(first!.modulus).toUpperCase() }]);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ keys: [{ ...first, exponent: '05' }] }));
  t.throws(() => kernelTerminal(validateConfig({ data: { dir }, emv: { caKeysFile: 'bad.json' } })), {
    code: 'CODPOS_CONFIG_CA_KEYS',
    message: /keys\[0\]\.exponent is missing or malformed/,
  });
  t.throws(() => kernelTerminal(validateConfig({ data: { dir }, emv: { caKeysFile: 'none.json' } })), {
    code: 'CODPOS_CONFIG_CA_KEYS',
    message: /none\.json/,
  });
});

t.test('a malformed application is a config error naming the setting', async (t) => {
  t.throws(
    () =>
      validateConfig({
        emv: {
          applications: [{ aid: 'A000', applicationVersion: '0096', tacDenial: '0', tacOnline: '0', tacDefault: '0' }],
        },
      }),
    /emv\.applications\.0\.aid/,
  );
});
