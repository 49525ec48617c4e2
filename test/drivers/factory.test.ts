import t from 'tap';
import { validateConfig } from '../../config/load.js';
import {
  buildDevices,
  buildPrinter,
  startDevice,
  stopDevice,
  pinpadSimOptions,
  loadSimKit,
} from '../../drivers/factory.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Scan } from '../../drivers/scanner/driver.js';

const eafnosupport = () => {
  throw Object.assign(new Error('EAFNOSUPPORT, Address family not supported by protocol'), { code: 'EAFNOSUPPORT' });
};
const noLibusb = () => {
  throw new Error('libusb-1.0.so.0: cannot open shared object file: No such file or directory');
};

t.test('the simulated config: every device starts in-process and works', async (t) => {
  const config = validateConfig({});
  const devices = await buildDevices(config.devices);
  for (const d of Object.values(devices)) await startDevice(d);
  t.equal(devices.scanner!.link.state.state, 'online');
  const scan = new Promise<Scan>((resolve) => devices.scanner!.driver.once('scan', resolve));
  await devices.scanner!.sim!.scan('RR123456785CH', 'Code 128');
  t.equal((await scan).data, 'RR123456785CH');
  t.same((await devices.pinpad!.driver.identify()).ksn, 'FFFF9876543210E00001');
  t.same(await devices.cardReader!.driver.status(), { slot: 'empty', chip: false });
  await devices.printer!.driver.print(devices.printer!.driver.builder().line('hello').cut().build());
  t.same(devices.printer!.sim!.pages, [['hello']]);
  for (const d of Object.values(devices)) await stopDevice(d);
});

t.test(
  'no Bluetooth and no libusb: those devices are in error with the reason, the others start (the daemon still starts)',
  async (t) => {
    const config = validateConfig({
      devices: {
        scanner: { transport: { kind: 'hid', vendorId: 0x0c2e, productId: 0x0b61 } },
        printer: { transport: { kind: 'ble', peripheral: 'PT-210', scanTimeoutMs: 50 } },
      },
    });
    const devices = await buildDevices(config.devices, { hidLoader: noLibusb, nobleLoader: eafnosupport });
    for (const d of Object.values(devices)) await startDevice(d);
    t.equal(devices.scanner!.link.state.state, 'error');
    t.match(devices.scanner!.link.state.reason, /libusb-1\.0-0/);
    t.equal(devices.printer!.link.state.state, 'error');
    t.match(devices.printer!.link.state.reason, /Bluetooth LE is unsupported/);
    t.equal(devices.cardReader!.link.state.state, 'online');
    t.equal(devices.pinpad!.link.state.state, 'online');
    for (const d of Object.values(devices)) await stopDevice(d);
  },
);

t.test('a disabled device is not built; a 24-hex simulator KSN selects AES DUKPT', async (t) => {
  const config = validateConfig({
    devices: { printer: { enabled: false }, pinpad: { dukpt: 'aes128', sim: { ksn: '123456789012345600000000' } } },
  });
  t.notOk((await buildDevices(config.devices)).printer);
  t.same(pinpadSimOptions(config.devices.pinpad), {
    bdk: '0123456789ABCDEFFEDCBA9876543210',
    aesKsn: '123456789012345600000000',
    dukpt: 'aes128',
    entryTimeoutMs: 60000,
  });
});

t.test(
  'a single simulated device built without the simulator kit is refused, naming the device and the fix',
  async (t) => {
    const config = validateConfig({});
    t.throws(() => buildPrinter(config.devices.printer), {
      code: 'CODPOS_DEVICE_SIM_NOT_LOADED',
      message: /printer: transport.kind is sim but the simulators were not loaded/,
    });
  },
);

t.test('the factory does not import a simulator: a box with real devices never loads them', async (t) => {
  // Only type imports of the simulators (erased); the kit is a dynamic import.
  const source = readFileSync(fileURLToPath(new URL('../../drivers/factory.ts', import.meta.url)), 'utf8');
  const valueImports = source.split('\n').filter((line) => /^import (?!type )/.test(line) && /sim/i.test(line));
  t.same(valueImports, [], 'no value import of a simulator module');
  t.match(source, /await import\('\.\/sim-kit\.js'\)/);
});

t.test(
  'devices.printer.codePage: every job built from the driver selects the page at init and its text is encoded in it',
  async (t) => {
    const text = 'Reçu: café à Zürich';
    for (const [codePage, printed] of [
      [16, text],
      [0, 'Re?u: caf? ? Z?rich'],
    ] as const) {
      const built = buildPrinter(validateConfig({ devices: { printer: { codePage } } }).devices.printer, {
        sims: await loadSimKit(),
      });
      await startDevice(built);
      t.equal(built.driver.profile.codePage, codePage, 'the profile the receipt renderers use carries the page');
      const init = built.driver.builder().init().build();
      t.equal(
        init.toString('hex'),
        `1b401b74${codePage.toString(16).padStart(2, '0')}`,
        `ESC @ then ESC t ${codePage}`,
      );
      await built.driver.print(built.driver.builder().init().line(text).cut().build());
      t.same(built.sim!.pages, [[printed]], `page ${codePage} prints ${JSON.stringify(printed)}`);
      await stopDevice(built);
    }
  },
);
