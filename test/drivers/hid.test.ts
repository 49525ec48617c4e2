import t from 'tap';
import { EventEmitter } from 'node:events';
import {
  HidTransport,
  listHidDevices,
  loadNodeHid,
  type NodeHidModule,
  type HidDeviceInfo,
} from '../../drivers/transport/hid.js';
import { ReconnectingTransport } from '../../drivers/transport/reconnecting.js';
import { memoryPair } from '../../drivers/transport/memory.js';
import { ScannerDriver, type Scan } from '../../drivers/scanner/driver.js';
import { ScannerSim } from '../../drivers/scanner/sim.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** HID POS (usage page 0x8C) report bytes written out by hand in the scanner's wire layout: EAN-13 4006381333931. */
const RECORDED_POS = [hex('02 0d 5d4530 34303036333831333333393331' + '00'.repeat(43) + '00')];
/** Boot keyboard reports from a wedge scanner typing "RR1" + Enter (shift held for R R, then released). */
const RECORDED_WEDGE = [
  '02 00 15 00 00 00 00 00',
  '02 00 00 00 00 00 00 00',
  '02 00 15 00 00 00 00 00',
  '00 00 00 00 00 00 00 00',
  '00 00 1e 00 00 00 00 00',
  '00 00 00 00 00 00 00 00',
  '00 00 28 00 00 00 00 00',
  '00 00 00 00 00 00 00 00',
].map(hex);

/** A stand-in for node-hid's module: one device that plays back reports once opened. */
function fakeNodeHid(devices: HidDeviceInfo[], reports: Buffer[]): NodeHidModule & { opened: string[] } {
  const opened: string[] = [];
  class FakeDevice extends EventEmitter {
    constructor(path: string) {
      super();
      opened.push(path);
      setImmediate(() => reports.forEach((r) => this.emit('data', r)));
    }
    write(values: number[]): number {
      return values.length;
    }
    close(): void {}
  }
  return { devices: () => devices, HID: FakeDevice, opened };
}

const SCANNER = {
  vendorId: 0x0c2e,
  productId: 0x0b61,
  path: '/dev/hidraw3',
  product: 'Scanner',
  usagePage: 0x8c,
  usage: 0x02,
};

for (const [mode, reports, expected] of [
  ['hid-pos', RECORDED_POS, { symbology: 'EAN-13', data: '4006381333931' }],
  ['hid-keyboard', RECORDED_WEDGE, { symbology: 'unknown', data: 'RR1' }],
] as const) {
  t.test(`${mode}: report bytes through the HID transport decode to a scan`, async (t) => {
    const hid = fakeNodeHid([SCANNER], [...reports]);
    const transport = new HidTransport({ vendorId: 0x0c2e, productId: 0x0b61, loader: () => hid });
    const driver = new ScannerDriver(transport, { mode, aimIds: mode === 'hid-pos' });
    const scan = new Promise<Scan>((resolve) => driver.once('scan', resolve));
    await driver.start();
    const got = await scan;
    t.same({ symbology: got.symbology, data: got.data }, expected);
    t.same(hid.opened, ['/dev/hidraw3']);
    await driver.stop();
  });
}

t.test(
  'libusb absent: a clear error naming the Debian package, the device shows error, other devices run',
  async (t) => {
    const missing = () => {
      const error = new Error('libusb-1.0.so.0: cannot open shared object file: No such file or directory') as Error & {
        code: string;
      };
      error.code = 'ERR_DLOPEN_FAILED';
      throw error;
    };
    t.throws(() => loadNodeHid(missing), {
      code: 'CODPOS_DEVICE_HID_UNAVAILABLE',
      message: /Install the Debian package libusb-1\.0-0/,
    });
    t.throws(() => listHidDevices(missing), { code: 'CODPOS_DEVICE_HID_UNAVAILABLE' });
    const hidScanner = new ReconnectingTransport(
      new HidTransport({ vendorId: 0x0c2e, productId: 0x0b61, loader: missing }),
    );
    await hidScanner.open(); // does not throw: the daemon keeps starting
    t.equal(hidScanner.state.state, 'error');
    t.match(hidScanner.state.reason, /libusb-1\.0-0/);
    // A serial-style scanner beside it still works.
    const { host, device } = memoryPair();
    const driver = new ScannerDriver(host);
    const sim = new ScannerSim(device);
    await driver.start();
    await sim.start();
    const scan = new Promise<Scan>((resolve) => driver.once('scan', resolve));
    await sim.scan('RR123456785CH');
    t.equal((await scan).data, 'RR123456785CH');
    await hidScanner.close();
  },
);

t.test('an absent device is a disconnect (retried), a bad option is named', async (t) => {
  const transport = new HidTransport({ vendorId: 1, productId: 2, loader: () => fakeNodeHid([], []) });
  await t.rejects(transport.open(), { code: 'CODPOS_DEVICE_ABSENT', disconnected: true });
  t.throws(() => new HidTransport({ vendorId: 0x10000, productId: 1 }), { message: /"vendorId"/ });
});
