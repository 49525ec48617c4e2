import t from 'tap';
import { Writable } from 'node:stream';
import { DevicesService } from '../../runtime/devices-service.js';
import { createLogger } from '../../runtime/log.js';
import { validateConfig } from '../../config/load.js';
import { PosError } from '../../config/errors.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { lines, log: createLogger({ destination: sink }) };
}

t.test('simulated devices all come online, each logged once, and stop', async (t) => {
  const { lines, log } = capture();
  const service = new DevicesService(validateConfig({}).devices, log);
  await service.start();
  t.same(service.health(), { state: 'up' });
  t.same(Object.keys(service.states()).sort(), ['cardReader', 'pinpad', 'printer', 'scanner']);
  const states = lines.filter((l) => l.msg === 'device state');
  t.same(states.map((l) => `${l.device}:${l.state}`).sort(), ['cardReader:online', 'pinpad:online', 'printer:online', 'scanner:online']);
  await service.stop();
});

t.test('a device whose transport cannot load (no libusb, no Bluetooth) leaves the rest running, degraded and named', async (t) => {
  const { lines, log } = capture();
  const config = validateConfig({
    devices: {
      scanner: { transport: { kind: 'hid', vendorId: 0x05e0, productId: 0x1200 } },
      printer: { transport: { kind: 'ble', peripheral: 'PRINTER-58' } },
    },
  }).devices;
  const service = new DevicesService(config, log, {
    hidLoader: () => {
      throw new PosError('CODPOS_DEVICE_HID_UNAVAILABLE', 'USB HID unavailable: libusb-1.0 is missing (Debian: apt-get install libusb-1.0-0)');
    },
    nobleLoader: () => {
      throw new PosError('CODPOS_DEVICE_BLE_UNSUPPORTED', 'Bluetooth LE unsupported on this kernel (EAFNOSUPPORT)');
    },
  });
  t.teardown(() => service.stop());
  await service.start();
  const health = service.health();
  t.equal(health.state, 'degraded');
  t.match(health.reason, /scanner (error|offline).*libusb-1\.0-0/);
  t.match(health.reason, /printer (error|offline).*Bluetooth/);
  t.equal(service.states().cardReader?.state, 'online');
  t.equal(service.states().pinpad?.state, 'online');
  t.ok(lines.some((l) => l.device === 'scanner' && l.level === 'warn'), 'the unavailable scanner is logged as a warning');
});
