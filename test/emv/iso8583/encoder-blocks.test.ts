/**
 * The encoder writes messages one after another into shared blocks and hands out views of
 * them (emv/iso8583/scratch.ts). A message handed out must never change afterwards: not when
 * later messages fill its block, not when one outgrows the block mid-message, not when one is
 * refused half-written.
 */
import t, { type Test } from 'tap';
import { decodeIso8583, encodeIso8583, pos87b, type IsoMessage } from '../../../emv/iso8583/index.js';
import { Scratch } from '../../../emv/iso8583/scratch.js';

/** Each field the message was built with, as the decoder reads it back. */
function assertDecodesTo(t: Test, wire: Buffer, message: IsoMessage): void {
  const back = decodeIso8583(wire, pos87b).fields;
  for (const [number, value] of Object.entries(message.fields)) t.same(back[Number(number)], value, `field ${number}`);
}

function purchase(stan: number, iccBytes: number): IsoMessage {
  return {
    mti: '0200',
    fields: {
      3: '000000',
      4: String(stan).padStart(12, '0'),
      11: String(stan % 1_000_000).padStart(6, '0'),
      41: 'TERM0001',
      // Seeded by the STAN: each message's DE55 differs from its neighbours'.
      55: Buffer.from(Array.from({ length: iccBytes }, (_, i) => (stan * 31 + i * 7) & 0xff)),
    },
  };
}

t.test('messages handed out keep their bytes while hundreds more fill and replace blocks', async (t) => {
  const sent: Array<{ message: IsoMessage; wire: Buffer; copy: Buffer }> = [];
  for (let stan = 1; stan <= 600; stan++) {
    // Mostly purchase-sized, every 50th near the field's maximum (bigger than the room a block keeps).
    const message = purchase(stan, stan % 50 === 0 ? 990 : 100);
    const wire = encodeIso8583(message, pos87b);
    sent.push({ message, wire, copy: Buffer.from(wire) });
  }
  const changed = sent.filter(({ wire, copy }) => !wire.equals(copy)).length;
  t.equal(changed, 0, 'no message changed after later ones were written');
  const blocks = new Set(sent.map(({ wire }) => wire.buffer));
  t.ok(blocks.size > 1, `the messages span ${blocks.size} blocks`);
  t.ok(blocks.size < sent.length / 10, 'many messages share a block (no block a message)');
  for (const { message, wire } of [sent[0]!, sent[49]!, sent[599]!]) assertDecodesTo(t, wire, message);
});

t.test('a message refused half-written leaves the ones before it intact, and the next one is whole', async (t) => {
  const before = encodeIso8583(purchase(1, 100), pos87b);
  const copy = Buffer.from(before);
  // DE41 is 8 characters: the refusal comes after DE3, DE4 and DE11 are written.
  t.throws(() => encodeIso8583({ mti: '0200', fields: { ...purchase(2, 100).fields, 41: 'TOO-LONG-ID' } }, pos87b), {
    code: 'CODPOS_ISO8583_LENGTH_OVER_MAX',
  });
  t.ok(before.equals(copy), 'the earlier message is unchanged');
  const after = encodeIso8583(purchase(3, 100), pos87b);
  assertDecodesTo(t, after, purchase(3, 100));
});

t.test('Scratch: a block outgrown mid-message keeps every position the writer holds', async (t) => {
  const scratch = new Scratch();
  const first = scratch.begin();
  scratch.bytes.write('first', first, 'latin1');
  const firstMessage = scratch.finish(first + 5);
  const start = scratch.begin();
  t.equal(start % 8, 0, 'a message starts 8-byte aligned');
  scratch.bytes.write('head', start, 'latin1');
  // Far more than a block holds: the block is replaced, the head stays where it was written.
  const bytes = scratch.ensure(start + 4, 100_000);
  t.equal(bytes.toString('latin1', start, start + 4), 'head');
  bytes.fill(0x41, start + 4, start + 100_004);
  const big = scratch.finish(start + 100_004);
  t.equal(big.length, 100_004);
  t.equal(big.toString('latin1', 0, 6), 'headAA');
  t.equal(firstMessage.toString('latin1'), 'first', 'the message handed out before is its own view, unchanged');
});
