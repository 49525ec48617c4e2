import t from 'tap';
import { DelimiterFramer } from '../../drivers/framing/delimiter.js';
import { StxEtxLrcFramer, encodeStxEtx, STX, ETX, SI, SO, ACK, NAK } from '../../drivers/framing/stx-etx-lrc.js';
import { LengthPrefixFramer, encodeLengthPrefixed } from '../../drivers/framing/length-prefix.js';
import { splitsOf } from './split.js';

t.test('delimiter: every split gives the same frames; overlong garbage is dropped and it resyncs', async (t) => {
  const stream = Buffer.from(']E04006381333931\r' + 'x'.repeat(40) + '\r]C0ABC-123\r\r]Q1hello\r');
  for (const parts of splitsOf(stream)) {
    const framer = new DelimiterFramer({ delimiter: '\r', maxLength: 20 });
    const frames = parts.flatMap((p) => framer.push(p, 0)).map((f) => f.toString());
    t.same(frames, [']E04006381333931', ']C0ABC-123', ']Q1hello']);
    t.equal(framer.dropped, 40);
  }
});

t.test('delimiter: a two-byte delimiter split across chunks', async (t) => {
  for (const parts of splitsOf(Buffer.from('AB\r\nCD\r\n'))) {
    const framer = new DelimiterFramer({ delimiter: '\r\n', includeDelimiter: true });
    t.same(
      parts.flatMap((p) => framer.push(p, 0)).map((f) => f.toString()),
      ['AB\r\n', 'CD\r\n'],
    );
  }
});

t.test('delimiter: the inter-byte timeout ends a frame sent without suffix', async (t) => {
  const framer = new DelimiterFramer({ delimiter: '\r', interByteTimeoutMs: 50 });
  t.same(framer.push(Buffer.from('123'), 1000), []);
  t.same(framer.push(Buffer.from('45'), 1040), [], 'bytes 40 ms apart stay one frame');
  t.equal(framer.expiresAt, 1090);
  t.same(framer.expire(1089), []);
  t.same(framer.expire(1090).map(String), ['12345']);
  t.same(framer.push(Buffer.from('67'), 2000), []);
  t.same(
    framer.push(Buffer.from('89\r'), 2100).map(String),
    ['67', '89'],
    'a gap longer than the timeout ends the first part',
  );
});

t.test('delimiter: options are validated by name', async (t) => {
  t.throws(() => new DelimiterFramer({ delimiter: '' }), {
    code: 'CODPOS_USAGE_FRAMER_OPTION',
    message: /"delimiter"/,
  });
  t.throws(() => new DelimiterFramer({ delimiter: '\r', interByteTimeoutMs: -1 }), { message: /"interByteTimeoutMs"/ });
  t.throws(() => new DelimiterFramer({ delimiter: '\r', maxLength: 0 }), { message: /"maxLength"/ });
});

t.test('stx-etx: encode computes the LRC over payload + ETX', async (t) => {
  const packet = encodeStxEtx('Z2HELLO');
  t.equal(packet[0], STX);
  t.equal(packet[packet.length - 2], ETX);
  // Worked by hand, XOR of Z 2 H E L L O ETX: 5A^32=68, ^48=20, ^45=65, ^4C=29, ^4C=65, ^4F=2A, ^03=29.
  t.equal(packet[packet.length - 1], 0x29);
  t.same(encodeStxEtx('72'), Buffer.from([0x02, 0x37, 0x32, 0x03, 0x37 ^ 0x32 ^ 0x03]));
});

t.test('stx-etx: every split, garbage between frames, control bytes, SI/SO packets', async (t) => {
  const cut = Buffer.from([STX, 0x31, 0x32]); // a frame cut short by a new STX
  const stream = Buffer.concat([
    Buffer.from('noise'),
    encodeStxEtx('Z2HELLO'),
    Buffer.from([0xff, 0x00, ACK]),
    cut,
    encodeStxEtx('73.00000ABC'),
    Buffer.from([NAK]),
    encodeStxEtx('01', SI, SO),
    Buffer.from('zz'),
  ]);
  for (const parts of splitsOf(stream)) {
    const framer = new StxEtxLrcFramer({
      packets: [
        { start: STX, end: ETX },
        { start: SI, end: SO },
      ],
    });
    const events = parts.flatMap((p) => framer.push(p));
    t.same(events, [
      { type: 'frame', start: STX, payload: Buffer.from('Z2HELLO') },
      { type: 'control', byte: ACK },
      { type: 'frame', start: STX, payload: Buffer.from('73.00000ABC') },
      { type: 'control', byte: NAK },
      { type: 'frame', start: SI, payload: Buffer.from('01') },
    ]);
  }
});

t.test('stx-etx: a bad LRC is reported, the next frame still decodes', async (t) => {
  const bad = encodeStxEtx('Z2X');
  bad[bad.length - 1] ^= 0x55;
  const framer = new StxEtxLrcFramer();
  const events = framer.push(Buffer.concat([bad, encodeStxEtx('Z2Y')]));
  t.equal(events[0]!.type, 'bad-lrc');
  t.same(events[1], { type: 'frame', start: STX, payload: Buffer.from('Z2Y') });
  t.throws(() => new StxEtxLrcFramer({ packets: [{ start: 300, end: 3 }] }), { message: /"packets\[0\]\.start"/ });
  t.throws(() => new StxEtxLrcFramer({ maxLength: 1.5 }), { message: /"maxLength"/ });
});

t.test('length-prefix: binary payloads, every split, garbage (even false SYNCs) between frames', async (t) => {
  const a = Buffer.from([0x01, 0x12, 0x00, 0xa4, 0x04, 0x00, 0x02, 0x03, 0x06, 0x15]); // payload holding SYNC/ETX/ACK/NAK values
  const b = Buffer.from([0x02, 0x90, 0x00]);
  const stream = Buffer.concat([
    Buffer.from([0x99, 0x02, 0xff, 0xff]), // garbage with a false SYNC whose length is absurd
    encodeLengthPrefixed(a),
    Buffer.from([0x06, 0x41, 0x42]),
    Buffer.from([0x02, 0x00, 0x01, 0x55, 0x00]), // false SYNC with a plausible length and a wrong LRC
    encodeLengthPrefixed(b),
  ]);
  for (const parts of splitsOf(stream)) {
    const framer = new LengthPrefixFramer({ maxLength: 300 });
    const events = parts.flatMap((p) => framer.push(p));
    t.same(
      events.filter((e) => e.type !== 'bad-frame'),
      [
        { type: 'frame', payload: a },
        { type: 'control', byte: 0x06 },
        { type: 'frame', payload: b },
      ],
    );
    t.ok(
      events.some((e) => e.type === 'bad-frame'),
      'the false SYNCs are reported',
    );
  }
});

t.test('length-prefix: options are validated by name', async (t) => {
  t.throws(() => new LengthPrefixFramer({ lengthBytes: 3 as 2 }), { message: /"lengthBytes"/ });
  t.throws(() => new LengthPrefixFramer({ lengthBytes: 1, maxLength: 256 }), { message: /"maxLength"/ });
  t.throws(() => new LengthPrefixFramer({ sync: 0x06 }), { message: /"sync"/ });
});
