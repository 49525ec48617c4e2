import t from 'tap';
import { once } from 'node:events';
import { memoryPair, MemoryTransport } from '../../drivers/transport/memory.js';
import { CardReaderDriver } from '../../drivers/card-reader/driver.js';
import { CardReaderSim, type SimCard } from '../../drivers/card-reader/sim.js';
import {
  decodeFromReader,
  decodeRequest,
  encodeEvent,
  encodeReply,
  encodeRequest,
} from '../../drivers/card-reader/protocol.js';
import { readerFrame } from '../../drivers/card-reader/link.js';
import { LengthPrefixFramer } from '../../drivers/framing/length-prefix.js';
import { transmitT0, withLe } from '../../drivers/card-reader/t0.js';
import { PosError } from '../../config/errors.js';
import { splitsOf } from './split.js';

/** Every reader event the driver emits, in order, with its arguments: a test asserts the whole
 * sequence, so a driver that emits the wrong event (or an extra one) for a reader message fails. */
function readerEvents(driver: CardReaderDriver): Array<[string, ...unknown[]]> {
  const seen: Array<[string, ...unknown[]]> = [];
  for (const name of ['card-inserted', 'card-removed', 'chip-mute', 'swipe'])
    driver.on(name, (...args: unknown[]) => seen.push([name, ...args]));
  return seen;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ATR = hex('3B 6E 00 00 80 31 80 66 B0 84 12 01 6E 01 83 00 90 00');
const FCI = hex('6F 1A 84 0E 315041592E5359532E4444463031 A5 08 88 01 01 5F2D 02 656E');
const RECORD = hex(
  '70 43 5F20 0F 5445535420434152442F564953412020 57 13 4761739001010010D22122011143804400000F' +
    '9F1F 18 ' +
    '31'.repeat(24) +
    '5A 08 4761739001010010',
);

/** A tiny card of the VirtualCard shape answering T=0 style: 61xx for SELECT, 6Cxx for READ RECORD with a wrong Le. */
class TestCard implements SimCard {
  readonly tracks = {
    track1: 'B4761739001010010^TEST CARD/VISA^22122011143800440000',
    track2: '4761739001010010=22122011143804400000',
  };
  log: string[] = [];
  private pending: Buffer | undefined;
  constructor(private readonly mute = false) {}
  powerOn(): Buffer {
    if (this.mute) throw new PosError('CODPOS_EMV_CHIP_MUTE', 'chip mute');
    return ATR;
  }
  powerOff(): void {}
  transmit(apdu: Buffer): Buffer {
    this.log.push(apdu.toString('hex'));
    const ins = apdu[1];
    if (ins === 0xa4) {
      this.pending = FCI;
      return hex('61' + FCI.length.toString(16).padStart(2, '0'));
    }
    if (ins === 0xc0 && this.pending) {
      const out = Buffer.concat([this.pending, hex('9000')]);
      this.pending = undefined;
      return out;
    }
    if (ins === 0xb2) {
      if (apdu[4] !== RECORD.length) return hex('6C' + RECORD.length.toString(16));
      return Buffer.concat([RECORD, hex('9000')]);
    }
    return hex('6D00');
  }
}

t.test('messages round-trip and malformed ones name the offset', async (t) => {
  const apdu = hex('00A404000E315041592E5359532E444446303100');
  t.same(decodeRequest(encodeRequest({ seq: 7, type: 'apdu', apdu })), { seq: 7, type: 'apdu', apdu });
  t.same(decodeFromReader(encodeReply({ seq: 7, type: 'status', slot: 'powered', chip: true })), {
    seq: 7,
    type: 'status',
    slot: 'powered',
    chip: true,
  });
  t.same(decodeFromReader(encodeEvent({ type: 'swipe', track2: '4761739001010010=2212' })), {
    type: 'swipe',
    track2: '4761739001010010=2212',
  });
  t.throws(() => decodeRequest(hex('0199')), {
    code: 'CODPOS_DEVICE_READER_MESSAGE',
    message: /unknown command 0x99 at offset 1/,
  });
  t.throws(() => decodeRequest(hex('0103 00A4')), { message: /APDU of 2 bytes at offset 2/ });
});

t.test('the example in docs/card-reader-protocol.md is the bytes on the wire', async (t) => {
  t.same(readerFrame(encodeRequest({ seq: 5, type: 'power-on' })), hex('02 00 02 05 02 05'), 'host: POWER ON, SEQ 5');
  const atr = hex('3B 68 00 00 00 73 C8 40 13 00 90 00');
  const answer = hex('02 00 0E 05 82 3B 68 00 00 00 73 C8 40 13 00 90 00 A2');
  t.same(readerFrame(encodeReply({ seq: 5, type: 'atr', atr })), answer, 'reader: ATR, SEQ 5, LRC A2');
  const framer = new LengthPrefixFramer({ maxLength: 300 });
  const [event] = framer.push(answer);
  t.same(event?.type === 'frame' ? decodeFromReader(event.payload) : event, { seq: 5, type: 'atr', atr });
});

t.test('the reader stream decodes at every split with garbage between frames', async (t) => {
  const messages = [
    encodeEvent({ type: 'inserted', chip: true }),
    encodeReply({ seq: 3, type: 'atr', atr: ATR }),
    encodeReply({ seq: 4, type: 'apdu', response: Buffer.concat([RECORD, hex('9000')]) }),
    encodeEvent({ type: 'swipe', track1: 'B4761^X^22', track2: '4761=22' }),
  ];
  const stream = Buffer.concat([
    hex('ff 02 ff ff 00'),
    readerFrame(messages[0]!),
    hex('06 13 37'),
    readerFrame(messages[1]!),
    hex('02 00 02 aa bb 00'),
    readerFrame(messages[2]!),
    readerFrame(messages[3]!),
  ]);
  const expected = messages.map((m) => decodeFromReader(m));
  for (const parts of splitsOf(stream)) {
    const framer = new LengthPrefixFramer({ maxLength: 300 });
    const frames = parts.flatMap((p) => framer.push(p)).filter((e) => e.type === 'frame');
    t.same(
      frames.map((f) => (f.type === 'frame' ? decodeFromReader(f.payload) : undefined)),
      expected,
    );
  }
});

t.test('T=0: 61xx fetches with GET RESPONSE, 6Cxx resends with the right Le', async (t) => {
  const card = new TestCard();
  card.powerOn();
  const raw = async (apdu: Buffer) => card.transmit(apdu);
  t.same(await transmitT0(hex('00A404000E315041592E5359532E444446303100'), raw), Buffer.concat([FCI, hex('9000')]));
  t.same(await transmitT0(hex('00B2010C00'), raw), Buffer.concat([RECORD, hex('9000')]));
  t.same(card.log, [
    '00a404000e315041592e5359532e444446303100',
    '00c000001c',
    '00b2010c00',
    '00b2010c' + RECORD.length.toString(16),
  ]);
  t.same(withLe(hex('00B2010C'), 0x45), hex('00B2010C45'));
  t.same(withLe(hex('80A8000002830000'), 0x10), hex('80A800000283 0010'));
  await t.rejects(transmitT0(hex('00B2'), raw), { code: 'CODPOS_EMV_APDU' });
});

async function pair() {
  const { host, device } = memoryPair('card reader');
  const sim = new CardReaderSim(device);
  const driver = new CardReaderDriver(host, { apduTimeoutMs: 2000 });
  await sim.start();
  await driver.start();
  return { sim, driver, host, device };
}

t.test('insert -> event; power on -> ATR; APDUs through the card channel; remove -> event', async (t) => {
  const { sim, driver } = await pair();
  const seen = readerEvents(driver);
  t.same(await driver.status(), { slot: 'empty', chip: false });
  await t.rejects(driver.powerOn(), { code: 'CODPOS_EMV_NO_CARD' });
  const inserted = new Promise((resolve) => driver.once('card-inserted', resolve));
  const card = new TestCard();
  await sim.insert(card);
  t.same(await inserted, { chip: true });
  t.same(await driver.powerOn(), ATR);
  t.same(await driver.status(), { slot: 'powered', chip: true });
  t.same(await driver.transmit(hex('00A404000E315041592E5359532E444446303100')), Buffer.concat([FCI, hex('9000')]));
  t.same(await driver.transmit(hex('00B2010C00')), Buffer.concat([RECORD, hex('9000')]));
  t.same(await driver.transmit(hex('80CA9F1700')), hex('6D00'), 'other status words pass through');
  await driver.powerOff();
  const removed = once(driver, 'card-removed');
  await sim.remove();
  t.same(await removed, [], 'card-removed carries nothing');
  t.same(seen, [['card-inserted', { chip: true }], ['card-removed']], 'one insertion, then one removal');
  t.match(await driver.status(), { slot: 'empty' }, 'the reader agrees the slot is empty');
});

t.test('swipe gives both tracks; a mute chip is reported and power on fails with CHIP_MUTE', async (t) => {
  const { sim, driver } = await pair();
  const seen = readerEvents(driver);
  const swiped = new Promise((resolve) => driver.once('swipe', resolve));
  await sim.swipe(new TestCard());
  t.same(await swiped, new TestCard().tracks);
  const mute = once(driver, 'chip-mute');
  await sim.insert(new TestCard(true));
  t.same(await mute, [], 'chip-mute carries nothing');
  t.same(
    seen,
    [['swipe', new TestCard().tracks], ['card-inserted', { chip: true }], ['chip-mute']],
    'the insertion of a mute chip, then its report',
  );
  t.same(await driver.status(), { slot: 'present', chip: true }, 'the mute card is still in the slot, unpowered');
  await t.rejects(driver.powerOn(), { code: 'CODPOS_EMV_CHIP_MUTE', message: /mute/ });
});

t.test('a lost ACK makes the host resend; the reader answers from its cache and runs the APDU once', async (t) => {
  const { host, device } = memoryPair('card reader');
  // The wire from reader to host drops the first ACK the reader sends after a command.
  let dropped = false;
  const wire = device as MemoryTransport;
  const write = wire.write.bind(wire);
  wire.write = async (data: Buffer) => {
    if (!dropped && data.length === 1 && data[0] === 0x06) {
      dropped = true;
      return;
    }
    return write(data);
  };
  const sim = new CardReaderSim(device);
  const driver = new CardReaderDriver(host, { ackTimeoutMs: 20 });
  await sim.start();
  await driver.start();
  await sim.insert(new TestCard());
  dropped = false;
  t.same(await driver.powerOn(), ATR);
  t.ok(dropped);
  // The next request queues behind the resent power-on, so once it is answered the repeat has been handled.
  t.same(await driver.status(), { slot: 'powered', chip: true });
  t.equal(sim.executed, 2, 'power-on ran once (its repeat was answered from the cache), then status');
});

t.test('shipped virtual cards: a mute chip, a magstripe-only card, a swipe of the same card', async (t) => {
  const { VirtualCard, loadCardProfile } = await import('../../emv/card/index.js');
  const { sim, driver } = await pair();
  const seen = readerEvents(driver);
  const mute = once(driver, 'chip-mute');
  await sim.insert(new VirtualCard(loadCardProfile('mute-chip')));
  t.same(await mute, [], 'chip-mute carries nothing');
  t.same(
    seen,
    [['card-inserted', { chip: true }], ['chip-mute']],
    'mute chip reported on insertion, after the insertion itself',
  );
  await t.rejects(driver.powerOn(), { code: 'CODPOS_EMV_CHIP_MUTE' });
  const inserted = new Promise((resolve) => driver.once('card-inserted', resolve));
  const stripe = new VirtualCard(loadCardProfile('magstripe-only'));
  await sim.insert(stripe);
  t.same(await inserted, { chip: false });
  await t.rejects(driver.powerOn(), { code: 'CODPOS_EMV_NO_CHIP', message: /no chip/ });
  const swiped = new Promise((resolve) => driver.once('swipe', resolve));
  await sim.swipe(stripe);
  t.same(await swiped, { track1: stripe.tracks.track1, track2: stripe.tracks.track2 });
});
