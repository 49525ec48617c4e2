import t from 'tap';
import { memoryPair } from '../../drivers/transport/memory.js';
import { ReconnectingTransport } from '../../drivers/transport/reconnecting.js';
import type { DeviceState } from '../../drivers/transport/transport.js';
import { PosError } from '../../config/errors.js';
import { TransportBase } from '../../drivers/transport/transport.js';

t.test('unplug -> offline with reason; plug back -> reopened and online; data flows again', async (t) => {
  const { host, device } = memoryPair('scanner');
  const link = new ReconnectingTransport(host, { initialDelayMs: 1, maxDelayMs: 4 });
  const states: DeviceState[] = [];
  link.onState((s) => states.push(s));
  // Each open of the inner transport settled, so the test can wait for retries that have failed.
  let failedOpens = 0;
  const open = host.open.bind(host);
  host.open = () =>
    open().catch((error: unknown) => {
      failedOpens++;
      throw error;
    });
  await link.open();
  await device.open();
  t.equal(link.state.state, 'online');
  host.unplug();
  t.equal(link.state.state, 'offline');
  t.match(link.state.reason, /unplugged/);
  // Not a sleep: wait until three retries have been tried and failed, then look.
  for (let i = 0; i < 2000 && failedOpens < 3; i++) await new Promise((r) => setTimeout(r, 1));
  t.ok(failedOpens >= 3, `the link kept retrying while unplugged (${failedOpens} failed opens)`);
  t.equal(link.state.state, 'offline', 'still offline while unplugged (retries fail)');
  t.equal(link.opens, 1, 'no retry counted as an open');
  host.plug();
  await link.whenOnline();
  await device.open();
  t.equal(link.opens, 2);
  const got = new Promise<Buffer>((resolve) => link.once('data', resolve));
  await device.write(Buffer.from('hi'));
  t.equal((await got).toString(), 'hi');
  t.same(
    states.map((s) => s.state).filter((s, i, all) => s !== all[i - 1]),
    ['online', 'offline', 'online'],
  );
  await link.close();
});

t.test('a fault retrying cannot fix is an error state, and open() does not throw', async (t) => {
  class Broken extends TransportBase {
    description = 'hid 0c2e:0b61';
    isOpen = false;
    async open(): Promise<void> {
      throw new PosError('CODPOS_DEVICE_HID_UNAVAILABLE', 'USB HID needs libusb-1.0-0');
    }
    async write(): Promise<void> {}
    async drain(): Promise<void> {}
    async close(): Promise<void> {}
  }
  const link = new ReconnectingTransport(new Broken());
  await link.open();
  t.same(link.state, { state: 'error', reason: 'USB HID needs libusb-1.0-0' });
  await t.rejects(link.write(Buffer.from('x')), { code: 'CODPOS_DEVICE_NOT_OPEN' });
  t.throws(() => new ReconnectingTransport(new Broken(), { initialDelayMs: 0, maxDelayMs: 1 }), {
    message: /"initialDelayMs"/,
  });
});
