/**
 * A stream split at every offset yields the same frames,
 * pg-protocol style; plus the framing settings (length encodings, TPDU, private
 * header, whether the length counts the headers) and their errors.
 */
import t from 'tap';
import {
  IsoStreamFramer,
  encodeIso8583,
  frameMessage,
  makeTpdu,
  pos87b,
  replyTpdu,
  unframeMessage,
  type Frame,
  type FramingOptions,
} from '../../../emv/iso8583/index.js';
import { prng, randomMessage } from './random.js';

const random = prng(2024);
const messages = Array.from({ length: 4 }, () => encodeIso8583(randomMessage(random, pos87b), pos87b));
const tpdu = makeTpdu('0010', '0000');
const header = Buffer.from('600101010102', 'hex');

const settings: Record<string, FramingOptions> = {
  'binary2 (default)': {},
  'binary2 + TPDU': { tpdu: true },
  'bcd2 + TPDU': { lengthHeader: 'bcd2', tpdu: true },
  ascii4: { lengthHeader: 'ascii4' },
  'binary2 + TPDU + 6-byte header': { tpdu: true, privateHeaderLength: 6 },
  'binary2 + TPDU, length counts only the message': { tpdu: true, lengthIncludesHeaders: false },
};

function framesOf(options: FramingOptions): Buffer[] {
  return messages.map((m) => frameMessage(m, options, { tpdu, privateHeader: header }));
}

function summary(frames: Frame[]): string[] {
  return frames.map(
    (f) =>
      `${f.tpdu ? f.tpdu.id + f.tpdu.destination + f.tpdu.source : '-'}|${f.privateHeader?.toString('hex') ?? '-'}|${f.message.toString('hex')}`,
  );
}

for (const [name, options] of Object.entries(settings)) {
  t.test(`stream framer, ${name}: split at every offset`, async (t) => {
    const frames = framesOf(options);
    const stream = Buffer.concat(frames);
    const expected = summary(frames.map((f) => unframeMessage(f, options)));
    t.same(
      expected.map((s) => s.split('|')[2]),
      messages.map((m) => m.toString('hex')),
      'unframe gives back each message',
    );
    let broken = 0;
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new IsoStreamFramer(options);
      const got = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      if (JSON.stringify(summary(got)) !== JSON.stringify(expected) || framer.bufferedBytes !== 0) broken++;
    }
    t.equal(broken, 0, `all ${stream.length + 1} two-piece splits yield the same ${frames.length} frames`);
    // One byte at a time: every offset is a split at once.
    const framer = new IsoStreamFramer(options);
    const byByte: Frame[] = [];
    for (let i = 0; i < stream.length; i++) byByte.push(...framer.push(stream.subarray(i, i + 1)));
    t.same(summary(byByte), expected, 'byte-by-byte feeding yields the same frames');
    // Random three-piece splits, with the chunk buffer reused (the framer must copy what it keeps).
    const r = prng(7);
    for (let k = 0; k < 200; k++) {
      const a = Math.floor(r() * stream.length);
      const b = a + Math.floor(r() * (stream.length - a));
      const reuse = Buffer.alloc(stream.length);
      const f = new IsoStreamFramer(options);
      const got: Frame[] = [];
      for (const [from, to] of [
        [0, a],
        [a, b],
        [b, stream.length],
      ] as const) {
        const chunk = reuse.subarray(0, to - from);
        stream.copy(chunk, 0, from, to);
        got.push(...f.push(chunk));
        reuse.fill(0xee);
      }
      if (JSON.stringify(summary(got)) !== JSON.stringify(expected)) {
        t.fail(`three-piece split at ${a}/${b}`);
        break;
      }
    }
  });
}

t.test('length header encodings and what they count', async (t) => {
  const message = Buffer.from('0800822000000000000004000000000000000000', 'hex');
  t.equal(frameMessage(message, {}).subarray(0, 2).toString('hex'), '0014', 'binary2 counts the message');
  t.equal(frameMessage(message, { lengthHeader: 'bcd2' }).subarray(0, 2).toString('hex'), '0020', 'bcd2: 20 as BCD');
  t.equal(frameMessage(message, { lengthHeader: 'ascii4' }).subarray(0, 4).toString('latin1'), '0020', 'ascii4');
  t.equal(
    frameMessage(message, { tpdu: true }, { tpdu }).subarray(0, 2).toString('hex'),
    '0019',
    'counts the TPDU by default',
  );
  t.equal(
    frameMessage(message, { tpdu: true, lengthIncludesHeaders: false }, { tpdu }).subarray(0, 2).toString('hex'),
    '0014',
    'or only the message',
  );
  t.same(
    frameMessage(message, { tpdu: true }, { tpdu }).subarray(2, 7),
    Buffer.from('6000100000', 'hex'),
    'TPDU 60 + destination + source',
  );
  t.same(replyTpdu(tpdu), { id: '60', destination: '0000', source: '0010' }, 'a reply swaps destination and source');
});

t.test('framing errors are PosErrors naming the offset or option', async (t) => {
  const frame = frameMessage(messages[0]!, { tpdu: true }, { tpdu });
  t.throws(() => unframeMessage(frame.subarray(0, frame.length - 1), { tpdu: true }), {
    code: 'CODPOS_ISO8583_BAD_FRAME',
    message: /says the frame is \d+ bytes, but it is/,
  });
  t.throws(() => unframeMessage(Buffer.concat([frame, Buffer.from([0])]), { tpdu: true }), {
    code: 'CODPOS_ISO8583_BAD_FRAME',
  });
  t.throws(() => unframeMessage(Buffer.from('1A00', 'hex'), { lengthHeader: 'bcd2' }), {
    code: 'CODPOS_ISO8583_BAD_FRAME',
    message: /byte 0: BCD length byte 0x1A/,
  });
  t.throws(() => new IsoStreamFramer({ lengthHeader: 'ascii4' }).push(Buffer.from('00x5', 'latin1')), {
    code: 'CODPOS_ISO8583_BAD_FRAME',
    message: /byte 2: ASCII length byte 0x78/,
  });
  t.throws(() => new IsoStreamFramer({ lengthHeader: 'none' }), {
    code: 'CODPOS_ISO8583_BAD_FRAME',
    message: /lengthHeader/,
  });
  t.throws(() => frameMessage(messages[0]!, { tpdu: true }), {
    code: 'CODPOS_ISO8583_BAD_FRAME',
    message: /option tpdu/,
  });
  t.throws(() => frameMessage(messages[0]!, { privateHeaderLength: 6 }, { privateHeader: Buffer.alloc(5) }), {
    message: /option privateHeader/,
  });
  t.throws(() => frameMessage(Buffer.alloc(10_000), { lengthHeader: 'bcd2' }), { message: /holds at most 9999/ });
  t.throws(
    () => new IsoStreamFramer({ tpdu: true }).push(Buffer.from('000300', 'hex')),
    { message: /too short/ },
    'a length that cannot hold the TPDU',
  );
  t.throws(() => makeTpdu('10'), { message: /option tpdu/ });
});
