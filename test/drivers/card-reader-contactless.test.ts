import t from 'tap';
import { once } from 'node:events';
import { memoryPair, type MemoryTransport } from '../../drivers/transport/memory.js';
import { CardReaderDriver } from '../../drivers/card-reader/driver.js';
import { CardReaderSim, type SimCard } from '../../drivers/card-reader/sim.js';
import { MAX_INDICATIONS, type SimFieldCard } from '../../drivers/card-reader/contactless-field.js';
import {
  decodeFromReader,
  decodeRequest,
  encodeEvent,
  encodeReply,
  encodeRequest,
  type ReaderEvent,
  type ReaderReply,
  type ReaderRequest,
} from '../../drivers/card-reader/protocol.js';
import { readerFrame, readerLink } from '../../drivers/card-reader/link.js';
import { LengthPrefixFramer } from '../../drivers/framing/length-prefix.js';
import type { BuiltDevices } from '../../drivers/factory.js';
import type { ApiHandler, ApiOperation, ApiRequest } from '../../runtime/api/server.js';
import { splitsOf } from './split.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SELECT_PPSE = hex('00A404000E325041592E5359532E444446303100');
const PPSE_FCI = hex('6F 10 84 0E 325041592E5359532E4444463031 9000');
const GPO = hex('80A8000002830000');
const UID_A = hex('04 A2 2B 7A 3C 5D 80');
const PUPI_B = hex('1A 2B 3C 4D');

/** A contactless card of our own: answers SELECT PPSE with an FCI and anything else with its INS and 9000. */
class FieldCard implements SimFieldCard {
  readonly log: string[] = [];
  resets = 0;
  constructor(
    readonly type: 'A' | 'B',
    readonly uid: Buffer | string,
    /** Runs as the card handles an APDU (a test pulls the card away mid-exchange here). */
    private readonly during?: (apdu: Buffer) => void,
  ) {}
  handle(apdu: Buffer): Buffer {
    this.log.push(apdu.toString('hex'));
    this.during?.(apdu);
    if (apdu.equals(SELECT_PPSE)) return PPSE_FCI;
    if (apdu[1] === 0xee) throw new Error('the card stops answering');
    return Buffer.from([apdu[1]!, 0x90, 0x00]);
  }
  reset(): void {
    this.resets++;
  }
}

/** A contact card whose chip answers, for the contact/contactless exclusion. */
const contactCard: SimCard = {
  tracks: {},
  powerOn: () => hex('3B 68 00 00 00 73 C8 40 13 00 90 00'),
  powerOff: () => undefined,
  transmit: () => hex('9000'),
};

async function pair(ackTimeoutMs?: number) {
  const { host, device } = memoryPair('card reader');
  const sim = new CardReaderSim(device);
  const driver = new CardReaderDriver(host, { apduTimeoutMs: 5000, ...(ackTimeoutMs ? { ackTimeoutMs } : {}) });
  await sim.start();
  await driver.start();
  return { sim, driver, host, device: device as MemoryTransport };
}

/** The reader-to-host wire drops the first ACK the reader sends once `arm()` is called. */
function dropNextAck(device: MemoryTransport): { arm: () => void; dropped: () => boolean } {
  let armed = false;
  let dropped = false;
  const write = device.write.bind(device);
  device.write = async (data: Buffer) => {
    if (armed && !dropped && data.length === 1 && data[0] === 0x06) {
      dropped = true;
      return;
    }
    return write(data);
  };
  return { arm: () => (armed = true), dropped: () => dropped };
}

t.test('contactless requests, replies and events round-trip', async (t) => {
  const requests: ReaderRequest[] = [
    { seq: 1, type: 'field-on' },
    { seq: 2, type: 'poll', timeoutMs: 0 },
    { seq: 3, type: 'poll', timeoutMs: 65535 },
    { seq: 4, type: 'cl-apdu', apdu: SELECT_PPSE },
    { seq: 5, type: 'field-off' },
    { seq: 6, type: 'indicate', status: 'not-ready', beep: 'none' },
    { seq: 7, type: 'indicate', status: 'card-read-successfully', beep: 'success' },
    { seq: 8, type: 'indicate', status: 'processing-error', beep: 'alert' },
  ];
  for (const request of requests) t.same(decodeRequest(encodeRequest(request)), request, request.type);
  const replies: ReaderReply[] = [
    { seq: 1, type: 'field-on' },
    { seq: 2, type: 'card-detected', cardType: 'A', uid: UID_A },
    { seq: 2, type: 'card-detected', cardType: 'A', uid: hex('01020304') },
    { seq: 2, type: 'card-detected', cardType: 'A', uid: hex('0102030405060708090A') },
    { seq: 2, type: 'card-detected', cardType: 'B', uid: PUPI_B },
    { seq: 3, type: 'collision' },
    { seq: 3, type: 'poll-timeout' },
    { seq: 4, type: 'cl-apdu', response: PPSE_FCI },
    { seq: 5, type: 'field-off' },
    { seq: 6, type: 'indicated' },
    { seq: 7, type: 'error', code: 0x09, message: 'the card left the field during the exchange' },
  ];
  for (const reply of replies) t.same(decodeFromReader(encodeReply(reply)), reply, reply.type);
  const event: ReaderEvent = { type: 'left-field', cardType: 'B', uid: PUPI_B };
  t.same(decodeFromReader(encodeEvent(event)), event);
  t.same(encodeRequest({ seq: 9, type: 'poll', timeoutMs: 0x1234 }), hex('09 11 12 34'), 'timeout big-endian');
  t.same(encodeRequest({ seq: 9, type: 'indicate', status: 'ready-to-read', beep: 'alert' }), hex('09 14 02 02'));
});

t.test('malformed contactless messages are refused and the message names what and where', async (t) => {
  const refused = (run: () => unknown, message: RegExp) =>
    t.throws(run, { code: 'CODPOS_DEVICE_READER_MESSAGE', message }, message.source);
  refused(() => decodeRequest(hex('01 11 05')), /poll timeout of 1 bytes at offset 2, need 2/);
  refused(() => decodeRequest(hex('01 11 000500')), /poll timeout of 3 bytes at offset 2/);
  refused(() => decodeRequest(hex('01 12 00A4')), /contactless APDU of 2 bytes at offset 2, need at least 4/);
  refused(() => decodeRequest(hex('01 14 06 00')), /UI status 00\.\.05 and a beep pattern 00\.\.02, got 0600/);
  refused(() => decodeRequest(hex('01 14 01 03')), /got 0103/);
  refused(() => decodeRequest(hex('01 14 01')), /got 01$/);
  refused(() => decodeRequest(hex('01 14 01 00 00')), /got 010000/);
  refused(() => encodeRequest({ seq: 1, type: 'poll', timeoutMs: 65536 }), /poll timeout of 65536 ms/);
  refused(() => encodeRequest({ seq: 1, type: 'poll', timeoutMs: -1 }), /poll timeout of -1 ms/);
  refused(() => encodeRequest({ seq: 1, type: 'poll', timeoutMs: 1.5 }), /poll timeout of 1\.5 ms/);
  refused(() => decodeFromReader(hex('01 91 43 01020304')), /card type "C" at offset 2: expected A or B/);
  refused(() => decodeFromReader(hex('01 91 41 010203')), /type A UID of 3 bytes at offset 3: expected 4, 7, 10/);
  refused(() => decodeFromReader(hex('01 91 42 01020304050607')), /type B PUPI of 7 bytes at offset 3: expected 4$/);
  refused(() => decodeFromReader(hex('00 C5 41')), /type A UID of 0 bytes/);
  refused(() => decodeFromReader(hex('01 94 90')), /contactless APDU reply without SW1 SW2/);
  refused(() => encodeReply({ seq: 1, type: 'card-detected', cardType: 'A', uid: hex('0102') }), /UID of 2 bytes/);
});

t.test('the contactless example in docs/card-reader-protocol.md is the bytes on the wire', async (t) => {
  t.same(readerFrame(encodeRequest({ seq: 9, type: 'poll', timeoutMs: 3000 })), hex('02 00 04 09 11 0B B8 AF'));
  const detected = hex('02 00 0A 09 91 41 04 A2 2B 7A 3C 5D 80 C5');
  t.same(readerFrame(encodeReply({ seq: 9, type: 'card-detected', cardType: 'A', uid: UID_A })), detected);
  const [frame] = new LengthPrefixFramer({ maxLength: 300 }).push(detected);
  t.same(frame?.type === 'frame' ? decodeFromReader(frame.payload) : frame, {
    seq: 9,
    type: 'card-detected',
    cardType: 'A',
    uid: UID_A,
  });
});

t.test('the contactless replies and events decode at every split with garbage between frames', async (t) => {
  const messages = [
    encodeReply({ seq: 1, type: 'field-on' }),
    encodeReply({ seq: 2, type: 'card-detected', cardType: 'B', uid: PUPI_B }),
    encodeReply({ seq: 3, type: 'cl-apdu', response: PPSE_FCI }),
    encodeEvent({ type: 'left-field', cardType: 'A', uid: UID_A }),
    encodeReply({ seq: 4, type: 'collision' }),
  ];
  const stream = Buffer.concat([
    hex('ff 02 ff ff 00'),
    readerFrame(messages[0]!),
    hex('06 13 37'),
    readerFrame(messages[1]!),
    hex('02 00 02 aa bb 00'),
    readerFrame(messages[2]!),
    readerFrame(messages[3]!),
    hex('15'),
    readerFrame(messages[4]!),
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

t.test('field on, a tapped card is detected and its target carries CL APDUs; field off ends it', async (t) => {
  const { sim, driver } = await pair();
  const card = new FieldCard('A', UID_A.toString('hex'));
  await sim.tap(card);
  await t.rejects(driver.poll(0), { code: 'CODPOS_DEVICE_CL_FIELD_OFF', message: /field is off/ }, 'no poll unpowered');
  await driver.fieldOn();
  t.equal(sim.fieldIsOn, true);
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  t.equal(target.type, 'A');
  t.same(target.uid, UID_A, 'the UID from its hex');
  t.same(await target.transmit(SELECT_PPSE), PPSE_FCI);
  t.same(await target.transmit(GPO), hex('A8 9000'));
  t.same(card.log, [SELECT_PPSE.toString('hex'), GPO.toString('hex')], 'each APDU reached the card once');
  await driver.fieldOff();
  t.equal(sim.fieldIsOn, false);
  t.equal(card.resets, 1, 'the card lost power with the field');
  await t.rejects(target.transmit(GPO), {
    code: 'CODPOS_DEVICE_CL_NO_CARD',
    message: /04a22b7a3c5d80 is no longer the activated card/,
  });
  t.equal(card.log.length, 2, 'a stale target sends nothing');
  // The field comes back on (Entry Point restarting at B): the card still there is detected again.
  await driver.fieldOn();
  const again = await driver.poll(1000);
  t.match(again, { type: 'A', uid: UID_A });
  await t.rejects(target.transmit(GPO), { code: 'CODPOS_DEVICE_CL_NO_CARD' }, 'the old target stays stale');
});

t.test('a poll with no card times out; a card tapped while a poll waits answers it', async (t) => {
  const { sim, driver } = await pair();
  await driver.fieldOn();
  t.equal(await driver.poll(1), 'timeout');
  const executed = sim.executed;
  await t.rejects(driver.poll(70000), { code: 'CODPOS_DEVICE_READER_MESSAGE', message: /poll timeout of 70000 ms/ });
  t.equal(sim.executed, executed, 'a poll the protocol cannot carry is not sent');
  const polling = once(sim, 'polling');
  const result = driver.poll(60000);
  await polling;
  await sim.tap(new FieldCard('B', PUPI_B));
  t.match(await result, { type: 'B', uid: PUPI_B });
});

t.test('two cards in the field are a collision; one card then is detected', async (t) => {
  const { sim, driver } = await pair();
  await driver.fieldOn();
  const first = new FieldCard('A', UID_A);
  const second = new FieldCard('B', PUPI_B);
  await sim.tapTwo(first, second);
  t.equal(await driver.poll(1000), 'collision');
  const cardless = await driver.poll(1);
  t.equal(cardless, 'collision', 'still two cards: still a collision');
  const polling = once(sim, 'polling');
  const waiting = driver.poll(60000);
  await sim.removeFromField();
  await polling;
  await sim.tap(second);
  t.match(await waiting, { type: 'B', uid: PUPI_B });
  t.same([first.log, second.log], [[], []], 'no APDU reached either card during the collision');
});

t.test('a card removed between APDUs: the reader reports it and the next APDU fails as torn', async (t) => {
  const { sim, driver } = await pair();
  const left: unknown[] = [];
  driver.on('card-left-field', (card) => left.push(card));
  const card = new FieldCard('A', UID_A);
  await driver.fieldOn();
  await sim.tap(card);
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  await target.transmit(SELECT_PPSE);
  const reported = once(driver, 'card-left-field');
  await sim.removeFromField();
  await reported;
  t.same(left, [{ type: 'A', uid: UID_A }], 'one removal, naming the card');
  await t.rejects(target.transmit(GPO), {
    code: 'CODPOS_DEVICE_CL_CARD_REMOVED',
    message: /left the field during the exchange/,
  });
  t.same(card.log, [SELECT_PPSE.toString('hex')], 'the APDU after the removal never reached the card');
  t.equal(await driver.poll(1), 'timeout', 'the field is empty now');
  await t.rejects(target.transmit(GPO), { code: 'CODPOS_DEVICE_CL_NO_CARD' }, 'a new poll retires the target');
});

t.test('a card pulled away while it answers: the APDU fails as torn, having reached the card once', async (t) => {
  const { sim, driver } = await pair();
  let pull = false;
  const card = new FieldCard('A', UID_A, () => {
    if (pull) void sim.removeFromField();
  });
  await driver.fieldOn();
  await sim.tap(card);
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  t.same(await target.transmit(SELECT_PPSE), PPSE_FCI);
  pull = true;
  await t.rejects(target.transmit(GPO), { code: 'CODPOS_DEVICE_CL_CARD_REMOVED' });
  t.same(card.log, [SELECT_PPSE.toString('hex'), GPO.toString('hex')]);
});

t.test('a card that stops answering is a transmission error; APDUs without a detected card are refused', async (t) => {
  const { sim, driver } = await pair();
  await driver.fieldOn();
  await sim.tap(new FieldCard('A', UID_A));
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  await t.rejects(target.transmit(hex('80EE0000')), {
    code: 'CODPOS_DEVICE_CL_TRANSMISSION',
    message: /transmission error/,
  });
  // Any poll retires the targets before it, a collision (which activates no card) included.
  await sim.tapTwo(new FieldCard('A', UID_A), new FieldCard('B', PUPI_B));
  t.equal(await driver.poll(1000), 'collision');
  const stale = target.transmit(GPO);
  await t.rejects(stale, { code: 'CODPOS_DEVICE_CL_NO_CARD', message: /no longer the activated card/ });
});

t.test(
  'the reader refuses CL APDUs with the field off or no card activated (a host that skipped the poll)',
  async (t) => {
    const { host, device } = memoryPair('card reader');
    const sim = new CardReaderSim(device);
    await sim.start();
    await host.open();
    // A bare host on the link: the driver would refuse these itself, the reader must too.
    const link = readerLink(host, 'raw host');
    const replies: Array<ReaderReply | ReaderEvent> = [];
    link.on('frame', (payload: Buffer) => replies.push(decodeFromReader(payload)));
    const ask = async (request: ReaderRequest) => {
      const answered = once(link, 'frame');
      await link.send(readerFrame(encodeRequest(request)));
      await answered;
      return replies.at(-1);
    };
    const card = new FieldCard('A', UID_A);
    await sim.tap(card);
    t.match(await ask({ seq: 1, type: 'cl-apdu', apdu: GPO }), { seq: 1, type: 'error', code: 0x07 }, 'field off');
    t.match(await ask({ seq: 2, type: 'field-on' }), { seq: 2, type: 'field-on' });
    t.match(
      await ask({ seq: 3, type: 'cl-apdu', apdu: GPO }),
      { seq: 3, type: 'error', code: 0x08, message: /no card is activated in the field/ },
      'a card in the field, not yet activated by a poll',
    );
    t.same(card.log, [], 'the card saw nothing');
    t.match(await ask({ seq: 4, type: 'poll', timeoutMs: 0 }), { seq: 4, type: 'card-detected', cardType: 'A' });
    t.match(await ask({ seq: 5, type: 'cl-apdu', apdu: GPO }), { seq: 5, type: 'cl-apdu', response: hex('A8 9000') });
    t.same(card.log, [GPO.toString('hex')]);
    link.detach();
  },
);

t.test('the reader shows and records the indications it is sent, the latest 64', async (t) => {
  const { sim, driver } = await pair();
  await driver.indicate('ready-to-read');
  await driver.indicate('card-read-successfully', 'success');
  await driver.indicate('processing-error', 'alert');
  t.same(sim.indications, [
    { status: 'ready-to-read', beep: 'none' },
    { status: 'card-read-successfully', beep: 'success' },
    { status: 'processing-error', beep: 'alert' },
  ]);
  const statuses = ['idle', 'processing'] as const;
  for (let i = 0; i < MAX_INDICATIONS; i++) await driver.indicate(statuses[i % 2]!);
  t.equal(sim.indications.length, MAX_INDICATIONS, 'bounded');
  t.same(sim.indications[0], { status: 'idle', beep: 'none' }, 'the oldest three were dropped');
  t.same(sim.indications.at(-1), { status: 'processing', beep: 'none' });
});

t.test('contact and contactless share the link but never a session', async (t) => {
  const { sim, driver } = await pair();
  await sim.insert(contactCard);
  await driver.powerOn();
  const executed = sim.executed;
  await t.rejects(driver.fieldOn(), {
    code: 'CODPOS_DEVICE_READER_SESSION',
    message: /cannot turn the contactless field on: the chip in the contact slot is powered/,
  });
  await t.rejects(driver.poll(10), { code: 'CODPOS_DEVICE_READER_SESSION', message: /cannot poll/ });
  t.equal(sim.executed, executed, 'refused by the driver: nothing reached the reader');
  await driver.powerOff();
  await driver.fieldOn();
  await sim.tap(new FieldCard('A', UID_A));
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  await t.rejects(driver.powerOn(), {
    code: 'CODPOS_DEVICE_READER_SESSION',
    message: /cannot power on the chip: the contactless field is on/,
  });
  await t.rejects(driver.transmit(hex('00B2010C00')), {
    code: 'CODPOS_DEVICE_READER_SESSION',
    message: /cannot send a contact APDU: the contactless field is on/,
  });
  await driver.fieldOff();
  t.same(await driver.powerOn(), contactCard.powerOn(), 'contact again once the field is off');
  await t.rejects(target.transmit(GPO), { code: 'CODPOS_DEVICE_CL_NO_CARD' }, 'the field off retired the target');
  // A pulled contact card ends the contact session: the field may come on without a power off.
  await sim.remove();
  await driver.fieldOn();
  t.equal(sim.fieldIsOn, true);
});

t.test('the reader itself refuses to mix: a restarted host that does not know the chip is powered', async (t) => {
  const { host, device } = memoryPair('card reader');
  const sim = new CardReaderSim(device);
  await sim.start();
  const before = new CardReaderDriver(host, { apduTimeoutMs: 5000 });
  await before.start();
  await sim.insert(contactCard);
  await before.powerOn();
  await before.stop();
  const after = new CardReaderDriver(host, { apduTimeoutMs: 5000 });
  await after.start();
  await t.rejects(after.fieldOn(), {
    code: 'CODPOS_DEVICE_READER_SESSION',
    message: /contact slot and the contactless field cannot both be in use/,
  });
  t.equal(sim.fieldIsOn, false);
  await after.powerOff();
  await after.fieldOn();
  await t.rejects(after.powerOn(), { code: 'CODPOS_DEVICE_READER_SESSION', message: /field is on/ });
  await after.stop();
  const third = new CardReaderDriver(host, { apduTimeoutMs: 5000 });
  await third.start();
  await t.rejects(third.powerOn(), {
    code: 'CODPOS_DEVICE_READER_SESSION',
    message: /contact slot and the contactless field cannot both be in use/,
  });
});

t.test(
  'a lost ACK on a CL APDU: the host resends, the reader answers from its cache, the card sees it once',
  async (t) => {
    const { sim, driver, device } = await pair(20);
    const wire = dropNextAck(device);
    const card = new FieldCard('A', UID_A);
    await driver.fieldOn();
    await sim.tap(card);
    const target = await driver.poll(1000);
    if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
    const executed = sim.executed;
    const repeated = once(sim, 'repeat');
    wire.arm();
    t.same(await target.transmit(GPO), hex('A8 9000'));
    await repeated;
    t.ok(wire.dropped(), 'the ACK was lost');
    t.same(card.log, [GPO.toString('hex')], 'the card saw the APDU once');
    t.equal(sim.executed, executed + 1);
  },
);

t.test('a lost ACK on a waiting poll: the repeat is not a second poll, the card is reported once', async (t) => {
  const { sim, driver, device } = await pair(20);
  const wire = dropNextAck(device);
  await driver.fieldOn();
  const executed = sim.executed;
  const detected: unknown[] = [];
  wire.arm();
  const polling = once(sim, 'polling');
  const repeated = once(sim, 'repeat');
  const result = driver.poll(60000).then((found) => detected.push(found));
  await polling;
  await repeated;
  t.ok(wire.dropped(), 'the ACK of the poll was lost and the host sent it again');
  await sim.tap(new FieldCard('A', UID_A));
  await result;
  t.match(detected, [{ type: 'A', uid: UID_A }]);
  t.equal(sim.executed, executed + 1, 'one poll ran');
  t.same(await driver.status(), { slot: 'empty', chip: false }, 'and the link goes on in step');
});

t.test('tapping a new card while one is activated reports the first one leaving', async (t) => {
  const { sim, driver } = await pair();
  await driver.fieldOn();
  await sim.tap(new FieldCard('A', UID_A));
  await driver.poll(1000);
  const left = once(driver, 'card-left-field');
  await sim.tap(new FieldCard('B', PUPI_B));
  t.same(await left, [{ type: 'A', uid: UID_A }]);
  t.match(await driver.poll(1000), { type: 'B', uid: PUPI_B });
});

t.test(
  'POST /v1/sim/card { action: tap }: taps a card from the contactless cards given to the sim control',
  async (t) => {
    const { SimControl } = await import('../../runtime/api/sim-control.js');
    const { sim, driver } = await pair();
    const control = new SimControl(() => ({ cardReader: { sim, driver } }) as unknown as BuiltDevices);
    const post = (control.routes()['/v1/sim/card']!.POST as ApiOperation).handler as ApiHandler;
    const request = {} as ApiRequest;
    await t.rejects(post({ action: 'tap', card: 'phone' }, request), {
      code: 'CODPOS_USAGE_SIM',
      message: /no virtual contactless cards are loaded/,
    });
    const phone = new FieldCard('A', UID_A);
    control.useContactlessCards({ names: () => ['phone'], load: () => phone });
    await t.rejects(post({ action: 'tap', card: 'watch' }, request), {
      code: 'CODPOS_USAGE_SIM',
      message: /expected a contactless card profile \(phone\)/,
    });
    t.same(await post({ action: 'tap', card: 'phone' }, request), { tapped: 'phone' });
    await driver.fieldOn();
    const target = await driver.poll(1000);
    if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
    t.same(await target.transmit(SELECT_PPSE), PPSE_FCI, 'the tapped card answers');
    const left = once(driver, 'card-left-field');
    t.same(await post({ action: 'remove' }, request), { removed: true });
    t.same(await left, [{ type: 'A', uid: UID_A }], 'remove takes the card out of the field too');
    t.equal(await driver.poll(1), 'timeout');
  },
);

t.test('a reader that restarted under the host: the field is off, then no card is activated', async (t) => {
  const { host, device } = memoryPair('card reader');
  const before = new CardReaderSim(device);
  const driver = new CardReaderDriver(host, { apduTimeoutMs: 5000 });
  await before.start();
  await driver.start();
  await driver.fieldOn();
  await before.tap(new FieldCard('A', UID_A));
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  await before.stop();
  const after = new CardReaderSim(device);
  await after.start();
  await after.tap(new FieldCard('A', UID_A));
  await t.rejects(target.transmit(GPO), { code: 'CODPOS_DEVICE_CL_FIELD_OFF', message: /field is off/ });
  await driver.fieldOn();
  await t.rejects(target.transmit(GPO), { code: 'CODPOS_DEVICE_CL_NO_CARD', message: /no card is activated/ });
  t.match(await driver.poll(1000), { type: 'A', uid: UID_A }, 'a poll finds the card again');
});
