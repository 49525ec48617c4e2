import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig, validateConfig, envNameToPath, pathToEnvName } from '../../config/load.js';
import { isPosError } from '../../config/errors.js';
import { simConfigPath, shippedConfigDir } from '../../config/paths.js';
import { systemTimeZone } from '../../config/local-time.js';
import { loadCheckedConfig } from '../../runtime/config-check.js';

const dir = mkdtempSync(join(tmpdir(), 'codpos-config-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (isPosError(error, 'CODPOS_CONFIG_INVALID')) return error.details!.problems as string[];
    throw error;
  }
  throw new Error('expected the config to be refused');
}

t.test('the shipped configs are valid', async (t) => {
  const sim = loadConfig({ file: simConfigPath, env: {} }).config;
  t.equal(sim.devices.printer.transport.kind, 'sim');
  t.equal(sim.host.mode, 'sim');
  t.equal(sim.data.dir, './var');
  const example = loadConfig({ file: join(shippedConfigDir, 'example.json'), env: {} }).config;
  t.same(example.devices.scanner.transport, { kind: 'serial', path: '/dev/codpos/scanner' });
  t.equal(example.devices.scanner.baudRate, 9600);
  t.equal(example.host.tpdu, '6000230000');
  t.equal(example.offline.maxAmountPerTransaction, 20000);
  t.equal(example.terminal.timeZone, 'Europe/Berlin');
});

t.test('defaults fill every setting of an empty file', async (t) => {
  const config = validateConfig({});
  t.equal(config.devices.printer.profile, '58mm');
  t.equal(config.host.framing, 'len2-tpdu');
  t.equal(config.spool.retentionDays, 45);
});

t.test('three distinct mistakes give three path: message lines', async (t) => {
  const bad = file(
    'bad.json',
    JSON.stringify({ devices: { printer: { baudRate: 'fast' } }, host: { port: 99999 }, terminl: {} }),
  );
  t.same(
    problemsOf(() => loadConfig({ file: bad, env: {} })),
    [
      'devices.printer.baudRate: expected an integer, got "fast"',
      'host.port: expected a number at most 65535, got 99999',
      'terminl: unknown setting',
    ],
  );
});

t.test('unknown keys are refused at every depth', async (t) => {
  t.same(
    problemsOf(() => validateConfig({ devices: { scanner: { sufix: '\n' } } })),
    ['devices.scanner.sufix: unknown setting'],
  );
  t.same(
    problemsOf(() => validateConfig({ devices: { printer: { transport: { kind: 'usb' } } } })),
    ['devices.printer.transport.kind: expected one of "serial", "hid", "ble", "sim", got "usb"'],
  );
});

t.test('the PIN pad simulator KSN must fit the DUKPT kind', async (t) => {
  t.same(
    problemsOf(() => validateConfig({ devices: { pinpad: { dukpt: 'aes128' } } })),
    ['devices.pinpad.sim.ksn: expected 12 bytes of hex for AES DUKPT, got "FFFF9876543210E00000"'],
  );
  t.equal(
    validateConfig({ devices: { pinpad: { dukpt: 'aes128', sim: { ksn: '123456789012345600000000' } } } }).devices
      .pinpad.sim.ksn.length,
    24,
  );
});

t.test('terminal: time zone, merchant category code and IFD serial number, with their defaults', async (t) => {
  const defaults = validateConfig({ terminal: { id: 'COD-00/7' } }).terminal;
  t.equal(defaults.timeZone, systemTimeZone(), 'the system zone when none is set');
  t.equal(defaults.merchantCategoryCode, '4215', 'courier services');
  t.equal(defaults.ifdSerialNumber, 'COD00007', 'from terminal.id, an8');
  const set = validateConfig({
    terminal: { timeZone: 'Asia/Tokyo', merchantCategoryCode: '4121', ifdSerialNumber: 'SN000042' },
  }).terminal;
  t.same([set.timeZone, set.merchantCategoryCode, set.ifdSerialNumber], ['Asia/Tokyo', '4121', 'SN000042']);
  t.equal(validateConfig({}, { CODPOS_TERMINAL__TIME_ZONE: 'Europe/Berlin' }).terminal.timeZone, 'Europe/Berlin');
  t.same(
    problemsOf(() =>
      validateConfig({ terminal: { timeZone: 'Mars/Olympus', merchantCategoryCode: '42', ifdSerialNumber: 'SN-42' } }),
    ),
    [
      'terminal.timeZone: expected an IANA time zone name such as Europe/Berlin or Asia/Tokyo, got "Mars/Olympus"',
      'terminal.merchantCategoryCode: expected 4 digits (ISO 18245 merchant category code), got "42"',
      'terminal.ifdSerialNumber: expected 8 letters or digits (tag 9F1E), got "SN-42"',
    ],
  );
});

t.test('a bad time zone fails the check that codposd and `codpos config check` run, naming it', async (t) => {
  const bad = file('bad-zone.json', JSON.stringify({ terminal: { timeZone: 'Asia/Tokio' } }));
  t.same(
    problemsOf(() => loadCheckedConfig({ file: bad, env: {} })),
    ['terminal.timeZone: expected an IANA time zone name such as Europe/Berlin or Asia/Tokyo, got "Asia/Tokio"'],
  );
  t.equal(
    loadCheckedConfig({
      file: file('good-zone.json', JSON.stringify({ terminal: { timeZone: 'Asia/Tokyo' } })),
      env: {},
    }).config.terminal.timeZone,
    'Asia/Tokyo',
  );
});

t.test('host.tcDelivery: advice by default, or batch-upload', async (t) => {
  t.equal(validateConfig({}).host.tcDelivery, 'advice');
  t.equal(validateConfig({ host: { tcDelivery: 'batch-upload' } }).host.tcDelivery, 'batch-upload');
  t.same(
    problemsOf(() => validateConfig({ host: { tcDelivery: 'never' } })),
    ['host.tcDelivery: expected one of "advice", "batch-upload", got "never"'],
  );
});

t.test('devices.printer.codePage: only the pages the printer driver encodes, named when another is set', async (t) => {
  t.equal(validateConfig({}).devices.printer.codePage, 0);
  t.equal(validateConfig({ devices: { printer: { codePage: 16 } } }).devices.printer.codePage, 16);
  t.same(
    problemsOf(() => validateConfig({ devices: { printer: { codePage: 17 } } })),
    ['devices.printer.codePage: expected a code page the printer driver encodes: 0 (PC437) or 16 (WPC1252), got 17'],
  );
  const bad = file('bad-code-page.json', JSON.stringify({ devices: { printer: { codePage: 2 } } }));
  t.match(
    problemsOf(() => loadCheckedConfig({ file: bad, env: {} })),
    [/^devices\.printer\.codePage: .*0 \(PC437\) or 16 \(WPC1252\), got 2$/],
  );
});

t.test('a file that cannot be read or parsed is one clear line', async (t) => {
  t.match(
    problemsOf(() => loadConfig({ file: join(dir, 'missing.json'), env: {} })),
    [/missing\.json: cannot read the file \(ENOENT\)/],
  );
  t.match(
    problemsOf(() => loadConfig({ file: file('broken.json', '{"host": '), env: {} })),
    [/broken\.json: not valid JSON/],
  );
  t.match(
    problemsOf(() => loadConfig({ file: file('array.json', '[]'), env: {} })),
    [/expected a JSON object at the top level/],
  );
});

t.test('CODPOS_* environment overrides, typed by the schema', async (t) => {
  const config = validateConfig(
    {},
    {
      CODPOS_DEVICES__PRINTER__BAUD_RATE: '9600',
      CODPOS_TERMINAL__ID: '12345678', // text that looks like a number stays text
      CODPOS_HOST__LENGTH_INCLUDES_TPDU: 'false',
      CODPOS_DEVICES__CARD_READER__SIM_CARDS: '["visa-dda","mc-cda"]',
      CODPOS_CONFIG: '/ignored/because/reserved.json',
      PATH: '/usr/bin',
    },
  );
  t.equal(config.devices.printer.baudRate, 9600);
  t.equal(config.terminal.id, '12345678');
  t.equal(config.host.lengthIncludesTpdu, false);
  t.same(config.devices.cardReader.simCards, ['visa-dda', 'mc-cda']);
});

t.test('a bad or unknown environment variable is named', async (t) => {
  t.same(
    problemsOf(() => validateConfig({}, { CODPOS_HOST__PORT: 'abc', CODPOS_HOST__PROT: '1' })),
    [
      'host.port (from CODPOS_HOST__PORT): expected an integer, got "abc"',
      'host.prot (from CODPOS_HOST__PROT): unknown setting',
    ],
  );
});

t.test('environment names map to setting paths and back', async (t) => {
  t.same(envNameToPath('CODPOS_DEVICES__PRINTER__BAUD_RATE'), ['devices', 'printer', 'baudRate']);
  t.equal(pathToEnvName(['devices', 'cardReader', 'apduTimeoutMs']), 'CODPOS_DEVICES__CARD_READER__APDU_TIMEOUT_MS');
});
