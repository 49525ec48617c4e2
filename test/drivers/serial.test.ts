/** SerialTransport over real pseudo-terminals: the ways a device can vanish, each turned into one disconnected close. */
import t from 'tap';
import { mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPtyPair } from '../../drivers/transport/pty-pair.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import type { PosError } from '../../config/errors.js';

async function pair(name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-serial-'));
  return openPtyPair(join(dir, `${name}`), join(dir, `${name}.sim`));
}

t.test('data both ways through the native binding', async (t) => {
  const p = await pair('echo');
  const host = new SerialTransport({ path: p.hostPath, baudRate: 115200, livenessMs: 0 });
  const device = new SerialTransport({ path: p.devicePath, baudRate: 115200, livenessMs: 0 });
  await host.open();
  await device.open();
  const got = new Promise<Buffer>((resolve) => device.once('data', resolve));
  await host.write(Buffer.from([0x02, 0x00, 0xff, 0x0a]));
  await host.drain();
  t.same(await got, Buffer.from([0x02, 0x00, 0xff, 0x0a]), 'raw bytes, no tty translation');
  await host.close();
  await device.close();
  await p.close();
});

t.test(
  'the device node vanishes while the port still "works" (no close from serialport): the liveness probe reports it',
  async (t) => {
    const p = await pair('vanish');
    const host = new SerialTransport({ path: p.hostPath, baudRate: 115200, livenessMs: 20 });
    await host.open();
    const closed = new Promise<PosError | undefined>((resolve) => host.once('close', resolve));
    unlinkSync(p.hostPath); // like /dev/ttyUSB0 disappearing on a USB unplug
    const error = await closed;
    t.match(error, { code: 'CODPOS_DEVICE_DISCONNECTED', disconnected: true });
    t.equal(host.isOpen, false);
    await p.close();
  },
);

t.test(
  'the other end hangs up: the next read or write gives one disconnected close, and writes then fail as not open',
  async (t) => {
    const p = await pair('hangup');
    const host = new SerialTransport({ path: p.hostPath, baudRate: 115200, livenessMs: 0 });
    await host.open();
    const closes: Array<PosError | undefined> = [];
    const closed = new Promise<void>((resolve) =>
      host.on('close', (e) => {
        closes.push(e);
        resolve();
      }),
    );
    // The serialport stream under the transport, held so the test can wait for its close to finish.
    const port = (host as unknown as { port: { closing: boolean } }).port;
    p.kill();
    // The relay dies asynchronously: a write that races ahead of its death still succeeds and
    // shows nothing, so keep writing until the loss shows (each write is a chance to see it).
    const writes: Array<Promise<unknown>> = [];
    // Four writes at a time, so several are in flight when the loss shows: each failing one is a
    // sign of the same loss, and the transport must report it once.
    const poke = () => {
      for (let i = 0; i < 4; i++) writes.push(host.write(Buffer.from('x')).catch(() => undefined));
    };
    const poking = setInterval(poke, 50);
    poke();
    await closed;
    clearInterval(poking);
    poke();
    // A second (wrong) close could only come from a write answered after the loss or from the
    // port's own close: wait until every write has its answer and the port has finished closing
    // (serialport emits its 'close' as it clears `closing`), so the count below sees both.
    await Promise.all(writes);
    for (let i = 0; i < 1000 && port.closing; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    t.equal(port.closing, false, 'the port finished closing');
    t.equal(closes.length, 1, 'one close, however many signs of the loss');
    t.match(closes[0], { disconnected: true });
    await t.rejects(host.write(Buffer.from('y')), { code: 'CODPOS_DEVICE_NOT_OPEN' });
  },
);
