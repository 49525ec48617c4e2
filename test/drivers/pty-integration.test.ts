/**
 * Integration over REAL pseudo-terminals through the native serialport binding:
 * every simulator sits on one end of a PTY pair (python3 pty relay), every driver
 * opens the other end by path, exactly as the daemon does with real UARTs.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimDevices, type SimDevices } from '../../drivers/sim-devices.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { ReconnectingTransport } from '../../drivers/transport/reconnecting.js';
import type { DeviceState } from '../../drivers/transport/transport.js';
import { ScannerDriver, type Scan } from '../../drivers/scanner/driver.js';
import { CardReaderDriver } from '../../drivers/card-reader/driver.js';
import { PinpadDriver } from '../../drivers/pinpad/driver.js';
import { PrinterDriver } from '../../drivers/printer/driver.js';
import { EscPosBuilder } from '../../drivers/printer/escpos.js';
import { PRINTER_PROFILES } from '../../drivers/printer/profiles.js';
import { deriveTdesKeys, parseTdesKsn } from '../../emv/crypto/dukpt-tdes.js';
import { decodePinBlock } from '../../emv/crypto/pin-block.js';
import { VirtualCard, loadCardProfile } from '../../emv/card/index.js';
import { decodeTlv, findTag } from '../../emv/tlv/index.js';

const BDK = '0123456789ABCDEFFEDCBA9876543210';
const dir = mkdtempSync(join(tmpdir(), 'codpos-pty-'));
let devices: SimDevices;
const links: ReconnectingTransport[] = [];
let scannerLink: ReconnectingTransport;
let scanner: ScannerDriver;
let printer: PrinterDriver;

function link(path: string): ReconnectingTransport {
  const l = new ReconnectingTransport(new SerialTransport({ path, baudRate: 115200, livenessMs: 100 }), {
    initialDelayMs: 50,
    maxDelayMs: 200,
  });
  links.push(l);
  return l;
}

t.before(async () => {
  devices = await startSimDevices({ dir, pinpad: { bdk: BDK, ksn: 'FFFF9876543210E00000' } });
  scannerLink = link(devices.paths.scanner);
  scanner = new ScannerDriver(scannerLink);
  await scanner.start();
  printer = new PrinterDriver(link(devices.paths.printer), { statusPollMs: 20 });
  await printer.start();
});
t.teardown(async () => {
  for (const l of links) await l.close();
  await devices.stop();
});

t.test('scanner: a scan arrives as an event', async (t) => {
  const scan = new Promise<Scan>((resolve) => scanner.once('scan', resolve));
  await devices.scanner.scan('4006381333931', 'EAN-13');
  const got = await scan;
  t.same([got.symbology, got.data], ['EAN-13', '4006381333931']);
});

t.test('card reader: a card gives an ATR and answers APDUs', async (t) => {
  const driver = new CardReaderDriver(link(devices.paths['card-reader']));
  await driver.start();
  const inserted = new Promise((resolve) => driver.once('card-inserted', resolve));
  const profile = loadCardProfile('visa-dda');
  await devices.cardReader.insert(new VirtualCard(profile));
  t.same(await inserted, { chip: true });
  t.same(await driver.powerOn(), Buffer.from(profile.atr ?? '3B6500002063CB6600', 'hex'), "the virtual card's ATR");
  const response = await driver.transmit(Buffer.from('00A404000E315041592E5359532E444446303100', 'hex'));
  t.same(
    response.subarray(-2),
    Buffer.from([0x90, 0x00]),
    'SELECT PSE answered 9000 (61xx/6Cxx handled by the driver)',
  );
  const fci = findTag(decodeTlv(response.subarray(0, -2)), 0x84);
  t.equal(fci?.value.toString('latin1'), '1PAY.SYS.DDF01', 'the FCI names the PSE');
  // The kernel's application selection (PSE, records, SELECT AID) through this very driver.
  const { CardChannel, buildCandidateList } = await import('../../emv/kernel/index.js');
  const visa = {
    aid: 'A0000000031010',
    partialSelection: true,
    applicationVersion: '0096',
    tacDenial: '0000000000',
    tacOnline: '0000000000',
    tacDefault: '0000000000',
    floorLimit: 0,
  };
  const selection = await buildCandidateList(new CardChannel((apdu) => driver.transmit(apdu)), [visa]);
  if (selection.kind !== 'candidates') throw new Error('card blocked');
  t.same(
    selection.candidates.map((c) => c.aid.toString('hex').toUpperCase()),
    ['A0000000031010'],
    'the kernel found the Visa application',
  );
  await driver.powerOff();
});

t.test('PIN pad: the encrypted block decrypts with the BDK to the digits pressed', async (t) => {
  const driver = new PinpadDriver(link(devices.paths.pinpad));
  await driver.start();
  devices.pinpad.once('prompt', () => {
    devices.pinpad.press('2468');
    devices.pinpad.enter();
  });
  const result = await driver.requestPin({ pan: '4761739001010010' });
  if (result.outcome !== 'pin') throw new Error(`no PIN block: ${JSON.stringify(result)}`);
  const key = deriveTdesKeys(BDK, parseTdesKsn(result.ksn)).pinKey;
  t.equal(decodePinBlock({ format: 0, block: result.pinBlock, pan: '4761739001010010', key }), '2468');
});

t.test('printer: the decoded text equals the receipt sent', async (t) => {
  const receipt = ['CODPOS COURIER', 'Waybill RR123456785CH', 'COD 12.50 USD  CARD ****0010', 'APPROVED 123456'];
  const job = new EscPosBuilder(PRINTER_PROFILES['58mm']).init().align('center');
  for (const line of receipt) job.line(line);
  await printer.print(job.cut().build());
  t.same(devices.printer.pages.at(-1), receipt);
});

t.test('printer: a large raster job (a signature) crosses the PTY intact', async (t) => {
  const width = 384;
  const height = 800;
  const pixels = new Uint8Array(width * height).map((_, i) => ((i * 7919) % 13 < 4 ? 1 : 0));
  await printer.print(
    new EscPosBuilder(PRINTER_PROFILES['58mm']).raster({ width, height, pixels }).line('signed').cut().build(),
  );
  t.same(devices.printer.pages.at(-1), [`[RASTER ${width}x${height}]`, 'signed']);
  t.same(devices.printer.decoder.images.at(-1)!.pixels, pixels, 'every dot arrived');
});

t.test('killing a device PTY: disconnected, then reopened when it returns, no crash', async (t) => {
  const states: DeviceState[] = [];
  scannerLink.onState((s) => states.push(s));
  t.equal(scannerLink.state.state, 'online');
  const offline = new Promise<DeviceState>((resolve) =>
    scannerLink.onState((s) => s.state === 'offline' && resolve(s)),
  );
  devices.unplug('scanner');
  const down = await offline;
  t.match(down.reason, /disconnected|no such|ENOENT/i);
  await devices.plug('scanner');
  await scannerLink.whenOnline();
  t.ok(scannerLink.opens >= 2, 'the driver reopened the same path');
  const scan = new Promise<Scan>((resolve) => scanner.once('scan', resolve));
  await devices.scanner.scan('RR123456785CH');
  t.equal((await scan).data, 'RR123456785CH');
  t.same(
    states.map((s) => s.state).filter((s, i, a) => s !== a[i - 1]),
    ['offline', 'online'],
  );
});
