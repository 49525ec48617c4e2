import t from 'tap';
import { memoryPair } from '../../drivers/transport/memory.js';
import { AckNakLink, ACK, NAK, EOT, type LinkInput } from '../../drivers/link/ack-nak.js';
import { StxEtxLrcFramer, encodeStxEtx } from '../../drivers/framing/stx-etx-lrc.js';

function stxDecoder(): (chunk: Buffer) => LinkInput[] {
  const framer = new StxEtxLrcFramer();
  return (chunk) =>
    framer
      .push(chunk)
      .map((e) =>
        e.type === 'frame' ? { type: 'frame', payload: e.payload } : e.type === 'bad-lrc' ? { type: 'bad' } : e,
      );
}

function corrupt(packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  copy[copy.length - 1] ^= 0xff;
  return copy;
}

t.test('a bad LRC is NAKed and the resent frame is delivered once', async (t) => {
  const { host, device } = memoryPair('ack-nak', { keepWrites: 100 });
  await host.open();
  await device.open();
  const receiver = new AckNakLink(device, { decode: stxDecoder(), name: 'receiver' });
  const frames: string[] = [];
  receiver.on('frame', (payload: Buffer) => frames.push(payload.toString()));
  // A sender whose first transmission is damaged on the wire.
  let sends = 0;
  const good = encodeStxEtx('Z2HELLO');
  const sender = new AckNakLink(
    {
      ...host,
      description: host.description,
      isOpen: true,
      on: host.on.bind(host),
      off: host.off.bind(host),
      once: host.once.bind(host),
      open: host.open.bind(host),
      close: host.close.bind(host),
      drain: host.drain.bind(host),
      write: (data: Buffer) => host.write(sends++ === 0 && data.length > 1 ? corrupt(data) : data),
    },
    { decode: stxDecoder(), name: 'sender' },
  );
  await sender.send(good);
  await new Promise((r) => setImmediate(r));
  t.same(frames, ['Z2HELLO']);
  t.equal(receiver.stats.naksSent, 1);
  t.equal(sender.stats.resent, 1);
  t.same(
    device.written.map((b) => [...b]),
    [[NAK], [ACK]],
  );
});

t.test('three NAKs end in EOT and a clear error', async (t) => {
  const { host, device } = memoryPair('ack-nak', { keepWrites: 100 });
  await host.open();
  await device.open();
  device.on('data', (chunk) => {
    if (chunk.length > 1) void device.write(Buffer.from([NAK]));
  });
  const sender = new AckNakLink(host, { decode: stxDecoder(), name: 'PIN pad' });
  await t.rejects(sender.send(encodeStxEtx('Z60.4111')), {
    code: 'CODPOS_DEVICE_LINK_FAILED',
    message: /PIN pad: the peer refused the frame 3 times \(NAK\); sent EOT/,
  });
  t.equal(host.written.filter((b) => b.length > 1).length, 3, 'sent three times');
  t.same([...host.written[host.written.length - 1]!], [EOT]);
});

t.test('silence counts as a refusal; the link gives up after the third try', async (t) => {
  const { host, device } = memoryPair();
  await host.open();
  await device.open();
  const sender = new AckNakLink(host, { decode: stxDecoder(), name: 'reader', ackTimeoutMs: 5 });
  await t.rejects(sender.send(encodeStxEtx('X')), { code: 'CODPOS_DEVICE_LINK_FAILED', message: /no ACK/ });
});

t.test('an unplug fails the frame in flight as disconnected', async (t) => {
  const { host, device } = memoryPair();
  await host.open();
  await device.open();
  const sender = new AckNakLink(host, { decode: stxDecoder(), name: 'reader', ackTimeoutMs: 10_000 });
  const sent = sender.send(encodeStxEtx('X'));
  host.unplug();
  await t.rejects(sent, { code: 'CODPOS_DEVICE_DISCONNECTED', disconnected: true });
});
