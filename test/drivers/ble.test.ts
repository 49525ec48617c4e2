import t from 'tap';
import { BleTransport, loadNoble, scanBle } from '../../drivers/transport/ble.js';
import { BlePeripheralEnd, SimulatedBleBindings, simulatedNoble } from '../../drivers/transport/ble-sim.js';
import { ReconnectingTransport } from '../../drivers/transport/reconnecting.js';
import { PrinterDriver } from '../../drivers/printer/driver.js';
import { PrinterSim } from '../../drivers/printer/sim.js';
import { EscPosBuilder } from '../../drivers/printer/escpos.js';
import { PRINTER_PROFILES } from '../../drivers/printer/profiles.js';

const NUS = {
  service: '6e400001-b5a3-f393-e0a9-e50e24dcca9e',
  writeCharacteristic: '6e400002b5a3f393e0a9e50e24dcca9e',
  notifyCharacteristic: '6e400003b5a3f393e0a9e50e24dcca9e',
};

t.test('printing over BLE through noble (fake bindings): chunks of MTU - 3, paced, text decoded intact', async (t) => {
  const end = new BlePeripheralEnd({ address: 'aa:bb:cc:dd:ee:01', localName: 'PT-210', mtu: 23, ...NUS });
  const bindings = new SimulatedBleBindings('poweredOn', [end]);
  const noble = simulatedNoble(bindings);
  const sleeps: number[] = [];
  let wroteDuringPause = false;
  // A virtual clock that only moves while the transport sleeps: the pacing is then exact, whatever the machine's load.
  let clock = 1000;
  const transport = new BleTransport({
    peripheral: 'PT-210',
    scanTimeoutMs: 2000,
    writeIntervalMs: 15,
    ...NUS,
    loader: () => noble,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      const before = end.received.length;
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (end.received.length !== before) wroteDuringPause = true;
      clock += ms;
    },
  });
  const sim = new PrinterSim(end);
  const driver = new PrinterDriver(transport, { statusPollMs: 5 });
  await sim.start();
  await driver.start();
  t.equal(transport.chunkSize, 20);
  const receipt = ['CODPOS COURIER', 'Waybill RR123456785CH', 'COD collected 12.50 USD by card', 'Thank you'];
  const job = new EscPosBuilder(PRINTER_PROFILES['58mm']).init();
  for (const line of receipt) job.line(line);
  const bytes = job.code128('RR123456785CH').cut().build();
  await driver.print(bytes);
  t.same(sim.pages, [[...receipt, '[CODE128 RR123456785CH]']]);
  const jobChunks = end.received.filter((w) => w.size > 3);
  t.ok(
    end.received.every((w) => w.size <= 20),
    'no write exceeds MTU - 3',
  );
  t.ok(
    end.received.every((w) => w.withoutResponse),
    'written without response',
  );
  t.equal(jobChunks.filter((w) => w.size === 20).length, Math.floor(bytes.length / 20));
  t.equal(
    sleeps.length,
    end.received.length - 1,
    'one pause before every chunk but the first (job and status requests alike)',
  );
  t.ok(
    sleeps.every((ms) => ms === 15),
    'each pause keeps chunks 15 ms apart',
  );
  t.notOk(wroteDuringPause, 'no chunk is written while the transport pauses');
  await driver.stop();
});

t.test('a larger negotiated MTU gives larger chunks', async (t) => {
  const end = new BlePeripheralEnd({ address: 'aa:bb:cc:dd:ee:02', localName: 'P2', mtu: 185, ...NUS });
  const bindings = new SimulatedBleBindings('poweredOn', [end]);
  const transport = new BleTransport({
    peripheral: 'AA:BB:CC:DD:EE:02',
    scanTimeoutMs: 2000,
    ...NUS,
    loader: () => simulatedNoble(bindings),
    sleep: async () => {},
  });
  await end.open();
  await transport.open();
  t.equal(transport.chunkSize, 182, 'found by address, MTU 185');
  await transport.write(Buffer.alloc(400, 0x41));
  t.same(
    end.received.map((w) => w.size),
    [182, 182, 36],
  );
  const closed = new Promise((resolve) => transport.once('close', resolve));
  bindings.dropConnection('sim0');
  t.match(await closed, { code: 'CODPOS_DEVICE_DISCONNECTED', disconnected: true });
});

t.test('without Bluetooth the transport reports unsupported, and a reconnecting owner does not throw', async (t) => {
  const eafnosupport = () => {
    const error = new Error('EAFNOSUPPORT, Address family not supported by protocol') as Error & { code: string };
    error.code = 'EAFNOSUPPORT';
    throw error;
  };
  t.throws(() => loadNoble(eafnosupport), {
    code: 'CODPOS_DEVICE_BLE_UNSUPPORTED',
    message: /Bluetooth LE is unsupported here \(EAFNOSUPPORT/,
  });
  const transport = new BleTransport({ peripheral: 'PT-210', scanTimeoutMs: 100, ...NUS, loader: eafnosupport });
  await t.rejects(transport.open(), { code: 'CODPOS_DEVICE_BLE_UNSUPPORTED' });
  const owner = new ReconnectingTransport(
    new BleTransport({ peripheral: 'PT-210', scanTimeoutMs: 100, ...NUS, loader: eafnosupport }),
  );
  await owner.open();
  t.equal(owner.state.state, 'error');
  t.match(owner.state.reason, /unsupported/);
  const noAdapter = new SimulatedBleBindings('unsupported');
  const viaState = new BleTransport({
    peripheral: 'PT-210',
    scanTimeoutMs: 100,
    ...NUS,
    loader: () => simulatedNoble(noAdapter),
  });
  await t.rejects(viaState.open(), { code: 'CODPOS_DEVICE_BLE_UNSUPPORTED', message: /adapter state unsupported/ });
  await owner.close();
});

t.test('a scan lists peripherals; a missing peripheral is a retryable absence', async (t) => {
  const end = new BlePeripheralEnd({ address: 'aa:bb:cc:dd:ee:03', localName: 'SCANNER-1', ...NUS });
  const bindings = new SimulatedBleBindings('poweredOn', [end]);
  const seen: string[] = [];
  const found = await scanBle({
    timeoutMs: 30,
    loader: () => simulatedNoble(bindings),
    onFound: (p) => seen.push(p.name ?? p.address),
  });
  t.same(seen, ['SCANNER-1']);
  t.equal(found[0]!.address, 'aa:bb:cc:dd:ee:03');
  const transport = new BleTransport({
    peripheral: 'NOT-THERE',
    scanTimeoutMs: 30,
    ...NUS,
    loader: () => simulatedNoble(new SimulatedBleBindings('poweredOn', [])),
  });
  await t.rejects(transport.open(), { code: 'CODPOS_DEVICE_ABSENT', disconnected: true });
});

t.test('a BLE serial scanner (Nordic UART): line mode over notifications', async (t) => {
  const { ScannerDriver } = await import('../../drivers/scanner/driver.js');
  const { ScannerSim } = await import('../../drivers/scanner/sim.js');
  const end = new BlePeripheralEnd({ address: 'aa:bb:cc:dd:ee:04', localName: 'BLE-SCANNER', ...NUS });
  const bindings = new SimulatedBleBindings('poweredOn', [end]);
  const driver = new ScannerDriver(
    new BleTransport({
      peripheral: 'BLE-SCANNER',
      scanTimeoutMs: 2000,
      ...NUS,
      loader: () => simulatedNoble(bindings),
    }),
  );
  const sim = new ScannerSim(end);
  await sim.start();
  await driver.start();
  const scan = new Promise<{ symbology: string; data: string }>((resolve) => driver.once('scan', resolve));
  await sim.scan('https://t.example/RR123456785CH', 'QR Code');
  t.match(await scan, { symbology: 'QR Code', data: 'https://t.example/RR123456785CH' });
  await driver.stop();
});
