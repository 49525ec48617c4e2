import t from 'tap';
import { memoryPair } from '../../drivers/transport/memory.js';
import { ScannerDriver, type Scan } from '../../drivers/scanner/driver.js';
import { ScannerSim } from '../../drivers/scanner/sim.js';
import { HidPosDecoder } from '../../drivers/scanner/hid-pos.js';
import { KeyboardWedgeDecoder } from '../../drivers/scanner/keyboard-wedge.js';
import { splitAim } from '../../drivers/scanner/aim.js';
import { splitsOf } from './split.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * Report bytes written out by hand in the wire layout of HID POS scanners (not produced by our
 * encoder, so a symmetric encoder/decoder bug cannot hide): id 02, 13 data bytes, AIM ]E0,
 * EAN-13 4006381333931, no continuation. No physical scanner capture is in the repository.
 */
const RECORDED_HID_POS_EAN13 = hex('02 0d 5d4530 34303036333831333333393331' + '00'.repeat(43) + '00');
/** Two reports of one long QR: 56 bytes + continuation flag 1, then 4 more bytes. */
const RECORDED_HID_POS_QR = [
  hex('02 38 5d5131' + Buffer.from('https://track.example/S/RR123456785CH/0123456789abcdefgh').toString('hex') + '01'),
  hex('02 05 5d5131' + Buffer.from('ijklm').toString('hex') + '00'.repeat(51) + '00'),
];
/** Boot keyboard reports written out by hand, typing "Ab1-" then Enter as a wedge scanner does, with a key held over two reports. */
const RECORDED_WEDGE = [
  '02 00 04 00 00 00 00 00', // shift + a -> A
  '00 00 00 00 00 00 00 00',
  '00 00 05 00 00 00 00 00', // b
  '00 00 05 1e 00 00 00 00', // b still held (not repeated) + 1
  '00 00 00 00 00 00 00 00',
  '00 00 2d 00 00 00 00 00', // -
  '00 00 00 00 00 00 00 00',
  '00 00 28 00 00 00 00 00', // Enter
  '00 00 00 00 00 00 00 00',
].map(hex);

t.test('AIM identifiers', async (t) => {
  t.same(splitAim(']E04006381333931'), { symbology: 'EAN-13', aimId: ']E0', data: '4006381333931' });
  t.same(splitAim(']E455123457'), { symbology: 'EAN-8', aimId: ']E4', data: '55123457' });
  t.equal(splitAim(']Q1hello').symbology, 'QR Code');
  t.equal(splitAim(']C0RR123456785CH').symbology, 'Code 128');
  t.same(splitAim('plain'), { symbology: 'unknown', data: 'plain' });
});

t.test('HID POS: report bytes decode, long codes join across reports', async (t) => {
  const decoder = new HidPosDecoder();
  t.same(decoder.push(RECORDED_HID_POS_EAN13), { symbology: 'EAN-13', data: '4006381333931' });
  t.equal(decoder.push(RECORDED_HID_POS_QR[0]!), undefined, 'continuation flag set: wait');
  t.same(decoder.push(RECORDED_HID_POS_QR[1]!), {
    symbology: 'QR Code',
    data: 'https://track.example/S/RR123456785CH/0123456789abcdefghijklm',
  });
  t.equal(decoder.push(hex('01 00 00')), undefined, 'other report ids are ignored');
  t.throws(() => decoder.push(hex('02 40 5d4530 31')), { code: 'CODPOS_DEVICE_HID_REPORT', message: /byte 1/ });
});

t.test('keyboard wedge: boot report bytes, shift, held keys not repeated', async (t) => {
  const decoder = new KeyboardWedgeDecoder();
  const results = RECORDED_WEDGE.map((r) => decoder.push(r)).filter(Boolean);
  t.same(results, [{ symbology: 'unknown', data: 'Ab1-' }]);
  t.throws(() => decoder.push(hex('00 00 04')), { message: /8 bytes/ });
});

t.test('line mode: every split of prefix + AIM + data + suffix, garbage between', async (t) => {
  const stream = Buffer.from('@]E04006381333931\r\n\r@]C0RR123456785CH\r');
  for (const parts of splitsOf(stream)) {
    const { host, device } = memoryPair();
    await host.open();
    await device.open();
    const driver = new ScannerDriver(host, { prefix: '@', suffix: '\r', aimIds: true });
    const scans: Scan[] = [];
    driver.on('scan', (s: Scan) => scans.push(s));
    for (const p of parts) await device.write(p);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    t.same(
      scans.map((s) => [s.symbology, s.data]),
      [
        ['EAN-13', '4006381333931'],
        ['Code 128', 'RR123456785CH'],
      ],
    );
    t.match(scans[0]!.time, /^\d{4}-\d\d-\d\dT/);
  }
});

for (const mode of ['line', 'hid-pos', 'hid-keyboard'] as const) {
  t.test(`simulator -> driver in ${mode} mode`, async (t) => {
    const { host, device } = memoryPair();
    const driver = new ScannerDriver(host, { mode, aimIds: true });
    const sim = new ScannerSim(device, { mode, aimIds: true });
    await driver.start();
    await sim.start();
    const got = new Promise<Scan>((resolve) => driver.once('scan', resolve));
    await sim.scan('RR123456785CH', 'Code 128');
    const scan = await got;
    t.same([scan.symbology, scan.data], ['Code 128', 'RR123456785CH']);
    await driver.stop();
  });
}

t.test('line mode without suffix: silence ends the code', async (t) => {
  const { host, device } = memoryPair();
  const driver = new ScannerDriver(host, { suffix: '', aimIds: false });
  await driver.start();
  await device.open();
  const got = new Promise<Scan>((resolve) => driver.once('scan', resolve));
  await device.write(Buffer.from('12345'));
  t.same((await got).data, '12345');
  await driver.stop();
});

t.test('a malformed HID report is reported as protocol-error, not a crash; the next scan still decodes', async (t) => {
  const { host, device } = memoryPair();
  const driver = new ScannerDriver(host, { mode: 'hid-pos' });
  await driver.start();
  await device.open();
  const problem = new Promise<Error>((resolve) => driver.once('protocol-error', resolve));
  await device.write(hex('02 40 5d4530 31'));
  t.match(await problem, { code: 'CODPOS_DEVICE_HID_REPORT' });
  const scan = new Promise<Scan>((resolve) => driver.once('scan', resolve));
  await device.write(RECORDED_HID_POS_EAN13);
  t.equal((await scan).data, '4006381333931');
  await driver.stop();
});
