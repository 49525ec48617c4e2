import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSerialPorts, hasExecutable } from '../../drivers/transport/serial-list.js';
import { SerialTransport } from '../../drivers/transport/serial.js';

t.test('without udevadm on PATH, ports come from /dev (serialport.list would crash the process)', async (t) => {
  const dev = mkdtempSync(join(tmpdir(), 'codpos-dev-'));
  for (const name of ['ttyS0', 'ttyUSB0', 'ttyACM1', 'null', 'tty1']) writeFileSync(join(dev, name), '');
  mkdirSync(join(dev, 'serial', 'by-id'), { recursive: true });
  symlinkSync(join(dev, 'ttyUSB0'), join(dev, 'serial', 'by-id', 'usb-Honeywell_Scanner-if00'));
  t.equal(await hasExecutable('udevadm', '/nonexistent-bin'), false);
  const ports = await listSerialPorts({ pathEnv: '/nonexistent-bin', devDir: dev });
  t.same(
    ports.map((p) => [p.path.slice(dev.length + 1), p.source, p.serialNumber]),
    [
      ['ttyACM1', 'dev', undefined],
      ['ttyS0', 'dev', undefined],
      ['ttyUSB0', 'dev', 'usb-Honeywell_Scanner-if00'],
    ],
  );
});

t.test('serial transport options are checked by name; an absent path is a retryable disconnect', async (t) => {
  t.throws(() => new SerialTransport({ path: '', baudRate: 9600 }), { message: /"path"/ });
  t.throws(() => new SerialTransport({ path: '/dev/x', baudRate: 0 }), { message: /"baudRate"/ });
  const transport = new SerialTransport({ path: '/dev/codpos-no-such-tty', baudRate: 9600 });
  await t.rejects(transport.open(), { code: 'CODPOS_DEVICE_OPEN_FAILED', disconnected: true });
  await t.rejects(transport.write(Buffer.from('x')), { code: 'CODPOS_DEVICE_NOT_OPEN' });
});
