import t from 'tap';
import { Writable } from 'node:stream';
import { DevicesService } from '../../runtime/devices-service.js';
import { createLogger } from '../../runtime/log.js';
import { validateConfig } from '../../config/load.js';
import { PosError } from '../../config/errors.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: createLogger({ destination: sink }) };
}

t.test('simulated devices all come online, each logged once, and stop', async (t) => {
  const { lines, log } = capture();
  const service = new DevicesService(validateConfig({}).devices, log);
  await service.start();
  t.same(service.health(), { state: 'up' });
  t.same(Object.keys(service.states()).sort(), ['cardReader', 'pinpad', 'printer', 'scanner']);
  const states = lines.filter((l) => l.msg === 'device state');
  t.same(states.map((l) => `${l.device as string}:${l.state as string}`).sort(), [
    'cardReader:online',
    'pinpad:online',
    'printer:online',
    'scanner:online',
  ]);
  await service.stop();
});

t.test(
  'a device whose transport cannot load (no libusb, no Bluetooth) leaves the rest running, degraded and named',
  async (t) => {
    const { lines, log } = capture();
    const config = validateConfig({
      devices: {
        scanner: { transport: { kind: 'hid', vendorId: 0x05e0, productId: 0x1200 } },
        printer: { transport: { kind: 'ble', peripheral: 'PRINTER-58' } },
      },
    }).devices;
    const service = new DevicesService(config, log, {
      hidLoader: () => {
        throw new PosError(
          'CODPOS_DEVICE_HID_UNAVAILABLE',
          'USB HID unavailable: libusb-1.0 is missing (Debian: apt-get install libusb-1.0-0)',
        );
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
    t.ok(
      lines.some((l) => l.device === 'scanner' && l.level === 'warn'),
      'the unavailable scanner is logged as a warning',
    );
  },
);

t.test(
  'device events go on the bus for the screen app: cards in and out, swipes without their tracks, barcodes, printer state',
  async (t) => {
    const { EventBus } = await import('../../runtime/api/events.js');
    const { VirtualCard, loadCardProfile } = await import('../../emv/card/index.js');
    const { log } = capture();
    const events = new EventBus();
    const seen: Array<{ type: string; data: Record<string, unknown> }> = [];
    events.subscribe((event) => seen.push({ type: event.type, data: event.data }));
    const service = new DevicesService(validateConfig({}).devices, log, {}, events);
    await service.start();
    t.teardown(() => service.stop());
    const { cardReader, scanner, printer } = service.devices;
    const until = async (type: string) => {
      for (let i = 0; i < 500 && !seen.some((e) => e.type === type); i++)
        await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await cardReader!.sim!.insert(new VirtualCard(loadCardProfile('visa-dda')));
    await until('card.inserted');
    await cardReader!.sim!.remove();
    await until('card.removed');
    await cardReader!.sim!.swipe(new VirtualCard(loadCardProfile('magstripe-only')));
    await until('card.swiped');
    await scanner!.sim!.scan('RR123456785CH');
    await until('scanner.scan');
    const printed = printer!.driver.print(Buffer.from('x\n'));
    await until('printer.state');
    await printed;
    const deviceEvents = seen.filter((e) => e.type !== 'device.state');
    t.match(
      deviceEvents.find((e) => e.type === 'card.inserted'),
      { data: { chip: true } },
    );
    t.ok(deviceEvents.some((e) => e.type === 'card.removed'));
    t.same(deviceEvents.find((e) => e.type === 'card.swiped')?.data, {}, 'a swipe carries no track data');
    t.match(
      deviceEvents.find((e) => e.type === 'scanner.scan'),
      { data: { data: 'RR123456785CH' } },
    );
    t.ok(deviceEvents.some((e) => e.type === 'printer.state'));
    t.notMatch(JSON.stringify(seen), '4111111111111111', 'no PAN on the bus');
    t.ok(
      seen.some((e) => e.type === 'device.state'),
      'and the link states',
    );
  },
);
