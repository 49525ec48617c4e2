import t from 'tap';
import { readFileSync } from 'node:fs';
import { memoryPair, MemoryTransport } from '../../drivers/transport/memory.js';
import { PinpadDriver } from '../../drivers/pinpad/driver.js';
import { PinpadSim } from '../../drivers/pinpad/sim.js';
import {
  encodeHostMessage,
  parseHostMessage,
  encodePadMessage,
  parsePadMessage,
  FS,
} from '../../drivers/pinpad/protocol.js';
import { pinpadPacket } from '../../drivers/pinpad/link.js';
import { StxEtxLrcFramer, STX, ETX, SI, SO } from '../../drivers/framing/stx-etx-lrc.js';
import { deriveTdesKeys, parseTdesKsn } from '../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, parseAesKsn } from '../../emv/crypto/dukpt-aes.js';
import { decodePinBlock } from '../../emv/crypto/pin-block.js';
import { splitsOf } from './split.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/drivers-pinpad.json', import.meta.url), 'utf8')) as {
  tdes_dukpt_pin: {
    name: string;
    source: string;
    inputs: { bdk: string; ksn: string; pin: string; pan: string };
    expected: { encrypted_pin_block: string };
  }[];
};
const BDK = '0123456789ABCDEFFEDCBA9876543210';
const INITIAL_KSN = 'FFFF9876543210E00000';

t.test('messages encode and parse back; malformed ones name what is wrong', async (t) => {
  t.same(encodeHostMessage({ type: 'pin-entry', dukpt: 'tdes', pan: '4012345678909' }), {
    payload: `Z60.4012345678909${FS}DUKPT ENCRYPTION`,
    control: false,
  });
  t.same(encodeHostMessage({ type: 'cancel' }), { payload: '72', control: true });
  for (const m of [
    { type: 'display', text: 'TOTAL 12.50', clear: true },
    { type: 'pin-entry', dukpt: 'aes128', pan: '4012345678909' },
    { type: 'identify' },
    { type: 'cancel' },
  ] as const) {
    const { payload, control } = encodeHostMessage(m);
    t.same(parseHostMessage(payload, control), m);
  }
  const block = { type: 'pin-block', dukpt: 'tdes', ksn: 'FFFF9876543210E00001', block: '1B9C1845EB993A7A' } as const;
  t.equal(
    encodePadMessage(block),
    '73.000009876543210E000011B9C1845EB993A7A',
    'leading F digits of the KSN suppressed, as VeriFone pads send it',
  );
  t.same(parsePadMessage(encodePadMessage(block)), block);
  t.same(parsePadMessage('73.00005'), {
    type: 'entry-failed',
    dukpt: 'tdes',
    code: '00005',
    reason: 'cancelled on the PIN pad',
  });
  t.same(parsePadMessage('73.00000FFFF9876543210E000011B9C1845EB993A7A'), block, 'a full 20-digit KSN is read too');
  t.throws(() => parsePadMessage('73.00000ABCD'), {
    code: 'CODPOS_DEVICE_PINPAD_MESSAGE',
    message: /4 hex digits, expected 26 to 36/,
  });
  t.throws(() => parseHostMessage('Q9', false), { message: /unknown or malformed request starting "Q9"/ });
});

t.test('the packets in docs/pinpad-protocol.md are the bytes on the wire', async (t) => {
  const packet = (message: Parameters<typeof encodeHostMessage>[0]) => {
    const { payload, control } = encodeHostMessage(message);
    return pinpadPacket(payload, control);
  };
  t.same(
    packet({ type: 'pin-entry', dukpt: 'tdes', pan: '4012345678909' }),
    Buffer.concat([
      Buffer.from([STX]),
      Buffer.from('Z60.4012345678909\x1cDUKPT ENCRYPTION', 'latin1'),
      Buffer.from([ETX, 0x20]),
    ]),
    'Z60, LRC 20',
  );
  const answer = encodePadMessage({
    type: 'pin-block',
    dukpt: 'tdes',
    ksn: 'FFFF9876543210E00001',
    block: '1B9C1845EB993A7A',
  });
  t.same(
    pinpadPacket(answer, false),
    Buffer.concat([
      Buffer.from([STX]),
      Buffer.from('73.000009876543210E000011B9C1845EB993A7A', 'latin1'),
      Buffer.from([ETX, 0x6e]),
    ]),
    '73, LRC 6E',
  );
  t.same(packet({ type: 'cancel' }), Buffer.from([SI, 0x37, 0x32, SO, 0x0b]), 'cancel: control packet 72, LRC 0B');
  t.same(
    packet({ type: 'display', text: 'TOTAL 12.50', clear: true }).subarray(0, 4),
    Buffer.from([STX, 0x5a, 0x32, 0x1a]),
    'Z2 then SUB to clear first',
  );
});

t.test("the pad's packets decode at every split with garbage between them", async (t) => {
  const stream = Buffer.concat([
    Buffer.from([0x00, 0x41]),
    pinpadPacket('73.000009876543210E000011B9C1845EB993A7A', false),
    Buffer.from([0x06, 0x7f]),
    pinpadPacket('72', true),
    Buffer.from('junk'),
    pinpadPacket('7X1.OK.tdes.FFFF9876543210E00002.sim', false),
  ]);
  for (const parts of splitsOf(stream)) {
    const framer = new StxEtxLrcFramer({
      packets: [
        { start: STX, end: ETX },
        { start: SI, end: SO },
      ],
    });
    const frames = parts.flatMap((p) => framer.push(p)).filter((e) => e.type === 'frame');
    t.same(
      frames.map((f) => (f.type === 'frame' ? [f.start, f.payload.toString()] : [])),
      [
        [STX, '73.000009876543210E000011B9C1845EB993A7A'],
        [SI, '72'],
        [STX, '7X1.OK.tdes.FFFF9876543210E00002.sim'],
      ],
    );
  }
});

async function pair(simOptions: Partial<ConstructorParameters<typeof PinpadSim>[1]> = {}, driverOptions = {}) {
  const { host, device } = memoryPair('pinpad', { keepWrites: 100 });
  const sim = new PinpadSim(device, { bdk: BDK, ksn: INITIAL_KSN, ...simOptions });
  const driver = new PinpadDriver(host, { entryTimeoutMs: 60_000, ...driverOptions });
  await sim.start();
  await driver.start();
  return { sim, driver, host, device };
}

t.test(`TDES DUKPT PIN entry gives the published encrypted block (${vectors.tdes_dukpt_pin[0]!.source})`, async (t) => {
  const { sim, driver, device } = await pair();
  for (const vector of vectors.tdes_dukpt_pin) {
    sim.once('prompt', () => sim.enterPin(vector.inputs.pin));
    const result = await driver.requestPin({ pan: vector.inputs.pan });
    t.same(
      result,
      {
        outcome: 'pin',
        dukpt: 'tdes',
        format: 0,
        ksn: vector.inputs.ksn,
        pinBlock: vector.expected.encrypted_pin_block,
      },
      vector.name,
    );
  }
  const padToHost = Buffer.concat(device.written).toString('latin1');
  t.notMatch(padToHost, /041274EDCBA9876F/i, 'the clear PIN block never crosses the wire (X9.24 A.4 clear block)');
});

t.test('the block decrypts with the BDK to the digits pressed', async (t) => {
  const { sim, driver } = await pair();
  sim.once('prompt', () => {
    sim.press('98');
    sim.press('7');
    sim.press('65');
    sim.enter();
  });
  const result = await driver.requestPin({ pan: '5413330089020011' });
  if (result.outcome !== 'pin') throw new Error('expected a PIN block');
  const key = deriveTdesKeys(BDK, parseTdesKsn(result.ksn)).pinKey;
  t.equal(decodePinBlock({ format: 0, block: result.pinBlock, pan: '5413330089020011', key }), '98765');
});

t.test('AES DUKPT extension: format 4 block under the AES PIN key', async (t) => {
  const aesKsn = '123456789012345600000000';
  const { sim, driver } = await pair({ aesKsn }, { dukpt: 'aes128' });
  sim.once('prompt', () => sim.enterPin('4321'));
  const result = await driver.requestPin({ pan: '4012345678909' });
  if (result.outcome !== 'pin') throw new Error('expected a PIN block');
  t.equal(result.format, 4);
  t.equal(result.ksn.length, 24);
  t.equal(result.pinBlock.length, 32);
  const key = deriveAesKeys(BDK, parseAesKsn(result.ksn), 'aes128').pinKey;
  t.equal(decodePinBlock({ format: 4, block: result.pinBlock, pan: '4012345678909', key }), '4321');
});

t.test("cancel on the pad, cancel from the host and the pad's own timeout are outcomes", async (t) => {
  const { sim, driver } = await pair();
  sim.once('prompt', () => {
    sim.press('12');
    sim.cancelKey();
  });
  t.same(await driver.requestPin({ pan: '4012345678909' }), {
    outcome: 'cancelled',
    reason: 'cancelled on the PIN pad',
  });
  sim.once('prompt', () => void driver.cancel());
  t.same(await driver.requestPin({ pan: '4012345678909' }), { outcome: 'cancelled', reason: 'cancelled by the host' });
  t.equal(sim.entries, 0);
  const slow = await pair({ entryTimeoutMs: 20 });
  t.same(await slow.driver.requestPin({ pan: '4012345678909' }), { outcome: 'timeout', reason: 'PIN entry timed out' });
  await t.rejects(driver.requestPin({ pan: '123' }), { code: 'CODPOS_USAGE_PAN', message: /"pan"/ });
});

t.test('display and identify (KSN + self-test, no PIN)', async (t) => {
  const { sim, driver } = await pair();
  const shown = new Promise<string>((resolve) => sim.once('display', resolve));
  await driver.display('TOTAL 12.50');
  t.equal(await shown, 'TOTAL 12.50');
  t.same(await driver.identify(), {
    selfTestOk: true,
    dukpt: 'tdes',
    ksn: 'FFFF9876543210E00001',
    model: 'codpos-sim PINpad 1000SE-compatible',
  });
});

t.test('a damaged answer is NAKed and resent; the driver still gets the right block', async (t) => {
  const { host, device } = memoryPair('pinpad', { keepWrites: 100 });
  // The wire from pad to host flips a bit in the first multi-byte packet only.
  let damaged = false;
  const wire = device as MemoryTransport;
  const write = wire.write.bind(wire);
  wire.write = async (data: Buffer) => {
    if (!damaged && data.length > 1 && data[0] === STX) {
      damaged = true;
      const copy = Buffer.from(data);
      copy[5] ^= 0x01;
      return write(copy);
    }
    return write(data);
  };
  const sim = new PinpadSim(device, { bdk: BDK, ksn: INITIAL_KSN });
  const driver = new PinpadDriver(host);
  await sim.start();
  await driver.start();
  sim.once('prompt', () => sim.enterPin('1234'));
  const result = await driver.requestPin({ pan: '4012345678909' });
  t.same(result, {
    outcome: 'pin',
    dukpt: 'tdes',
    format: 0,
    ksn: 'FFFF9876543210E00001',
    pinBlock: '1B9C1845EB993A7A',
  });
  t.ok(damaged);
  t.ok(
    host.written.some((b) => b.length === 1 && b[0] === 0x15),
    'the driver sent NAK',
  );
});

t.test('a pad that NAKs everything: three tries, EOT, clear error', async (t) => {
  const { host, device } = memoryPair('pinpad', { keepWrites: 100 });
  await device.open();
  device.on('data', (chunk) => chunk.length > 1 && void device.write(Buffer.from([0x15])));
  const driver = new PinpadDriver(host);
  await driver.start();
  await t.rejects(driver.display('HELLO'), { code: 'CODPOS_DEVICE_LINK_FAILED', message: /refused the frame 3 times/ });
  t.same([...host.written.at(-1)!], [0x04]);
});

t.test('a pad that ACKs but never answers: the driver cancels and fails with a timeout', async (t) => {
  const { host, device } = memoryPair('pinpad', { keepWrites: 100 });
  await device.open();
  device.on('data', (chunk) => chunk.length > 1 && void device.write(Buffer.from([0x06])));
  const driver = new PinpadDriver(host, { entryTimeoutMs: 10, answerGraceMs: 10 });
  await driver.start();
  await t.rejects(driver.requestPin({ pan: '4012345678909' }), {
    code: 'CODPOS_DEVICE_PINPAD_TIMEOUT',
    message: /gave no answer within 20 ms/,
  });
  // The cancel goes out after the rejection: wait for it (bounded) rather than sleep a fixed time.
  const cancelSent = () =>
    host.written.some((b) => b.toString('latin1').startsWith('\x0f') && b.toString('latin1').includes('72'));
  for (let i = 0; i < 1000 && !cancelSent(); i++) await new Promise((r) => setTimeout(r, 2));
  t.ok(cancelSent(), 'the driver sent the cancel control packet');
});

t.test(
  'a pad that ends the entry with a bare EOT (VeriFone: cancel or timeout) gives a cancelled outcome',
  async (t) => {
    const { host, device } = memoryPair('pinpad');
    await device.open();
    device.on('data', (chunk) => {
      if (chunk.length > 1) void device.write(Buffer.from([0x06])).then(() => device.write(Buffer.from([0x04])));
    });
    const driver = new PinpadDriver(host);
    await driver.start();
    t.same(await driver.requestPin({ pan: '4012345678909' }), {
      outcome: 'cancelled',
      reason: 'the PIN pad ended the entry (EOT: cancelled or timed out on the pad)',
    });
  },
);
