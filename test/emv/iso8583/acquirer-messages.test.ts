/**
 * What the acquirer gets beyond the basic layouts: DE12/DE13 by the terminal's time zone at
 * each message's instant; DE18 from the merchant category code; a reversal's reason (DE25),
 * the approval it undoes (DE38) and the card's final chip data (DE55); the 0220 completion
 * advice that brings the TC and the issuer script results of an online approval.
 */
import t from 'tap';
import {
  REVERSAL_REASON_CODES,
  REVERSAL_REASONS,
  buildAdvice,
  buildCompletionAdvice,
  buildPurchase,
  buildReversal,
  buildVoid,
  decodeIso8583,
  encodeIso8583,
  maskedMessageJson,
  pos87b,
  stanCounter,
  type IsoMessage,
  type MessageContext,
  type ReversalReason,
} from '../../../emv/iso8583/index.js';
import { decodeTlv, findTag } from '../../../emv/tlv/index.js';

const PAN = '4761739001010119';
const TRACK2 = `${PAN}=30122011143800000`;
const REQUEST_ICC = Buffer.from('9F2701809F2608AABBCCDDEEFF0011950500000480009F100706010A03A00000', 'hex');
// After GENERATE AC 2: a TC, TVR with "issuer authentication failed" cleared (passed), TSI, a script result.
const FINAL_ICC = Buffer.from('9F2701409F26081122334455667788950500000480009B02F8009F5B052055667788', 'hex');

function context(overrides: Partial<MessageContext> = {}): MessageContext {
  return {
    terminalId: 'TERM0001',
    merchantId: 'MERCHANT0000001',
    currency: '392',
    clock: () => new Date('2026-11-29T22:30:00Z'),
    timeZone: 'Asia/Tokyo',
    nextStan: stanCounter(41),
    ...overrides,
  };
}

function onTheWire(message: IsoMessage): IsoMessage {
  return decodeIso8583(encodeIso8583(message, pos87b), pos87b);
}

function chipPurchase(ctx: MessageContext): IsoMessage {
  return buildPurchase(
    {
      amount: 4_200,
      card: { pan: PAN, expiry: '3012', track2: TRACK2, panSequenceNumber: '001' },
      posEntryMode: '051',
      pinBlock: Buffer.alloc(8, 0x11),
      iccData: REQUEST_ICC,
    },
    ctx,
  );
}

t.test("DE12/DE13 are the time zone's wall clock: 22:30 UTC in Tokyo is the next day", async (t) => {
  const wire = onTheWire(chipPurchase(context()));
  t.equal(wire.fields[7], '1129223000', 'DE7 stays UTC');
  t.equal(wire.fields[12], '073000');
  t.equal(wire.fields[13], '1130', '30 November, local');
  t.equal(wire.fields[37], '6334' + '07' + '000042', 'RRN: year 6, day 334 (30 November), hour 07, STAN');
  // Control: without a zone (and no fixed offset) DE12/DE13 are UTC, as before.
  const utc = onTheWire(chipPurchase(context({ timeZone: undefined })));
  t.equal(utc.fields[13], '1129');
  t.equal(utc.fields[12], '223000');
});

t.test("the offset is computed for each message's instant: one context across a DST switch", async (t) => {
  // Berlin springs forward on 29 March 2026 at 01:00 UTC.
  let now = new Date('2026-03-29T00:30:00Z');
  const ctx = context({ timeZone: 'Europe/Berlin', clock: () => now });
  const before = onTheWire(chipPurchase(ctx));
  now = new Date('2026-03-29T01:30:00Z');
  const after = onTheWire(chipPurchase(ctx));
  t.same([before.fields[13], before.fields[12]], ['0329', '013000'], 'CET, UTC+1');
  t.same([after.fields[13], after.fields[12]], ['0329', '033000'], 'CEST, UTC+2, same context');
});

t.test('DE18 (merchant type) from the context in the 0200, void, 0400, 0220 and completion advice', async (t) => {
  const ctx = context({ merchantCategoryCode: '4215' });
  const purchase = chipPurchase(ctx);
  const messages: Array<[string, IsoMessage]> = [
    ['0200 purchase', purchase],
    ['0200 void', buildVoid({ request: purchase, rrn: '633407000042', authCode: 'A1B2C3' }, ctx)],
    ['0400 reversal', buildReversal(purchase, ctx)],
    [
      '0220 offline advice',
      buildAdvice(
        {
          amount: 100,
          card: { pan: PAN },
          posEntryMode: '051',
          approvedAt: new Date('2026-11-29T22:00:00Z'),
          authCode: 'Y1',
          iccData: FINAL_ICC,
        },
        ctx,
      ),
    ],
    [
      '0220 completion advice',
      buildCompletionAdvice(
        purchase,
        { finalIccData: FINAL_ICC, authCode: 'A1B2C3', responseCode: '00', rrn: '633407000042' },
        ctx,
      ),
    ],
  ];
  for (const [name, message] of messages) t.equal(onTheWire(message).fields[18], '4215', name);
  // Without a code in the context (a dialect without DE18), no DE18.
  t.equal(chipPurchase(context()).fields[18], undefined);
  // A reversal keeps the original's DE18 even when the context no longer has one.
  t.equal(buildReversal(purchase, context()).fields[18], '4215');
});

t.test(
  "a 0220 offline advice: DE55 is the card's TC, DE12/DE13 the approval's wall clock, DE7 the sending time",
  async (t) => {
    // Approved offline at 21:00 UTC (06:00 the next day in Tokyo), sent at 22:30 UTC.
    const approval = {
      amount: 100,
      card: { pan: PAN },
      posEntryMode: '051',
      approvedAt: new Date('2026-11-29T21:00:00Z'),
      authCode: 'Y1',
    };
    const wire = onTheWire(buildAdvice({ ...approval, iccData: FINAL_ICC }, context()));
    t.same(wire.fields[55], FINAL_ICC, 'the TC and its data reach the acquirer');
    t.equal(wire.fields[12], '060000');
    t.equal(wire.fields[13], '1130');
    t.equal(wire.fields[7], '1129223000');
    t.equal(wire.fields[22], '051', 'the entry mode of the approval');
    t.equal(onTheWire(buildAdvice(approval, context())).fields[55], undefined, 'no chip data: no DE55');
  },
);

t.test("a reversal without options is today's: the original DE25 and DE55, no DE38", async (t) => {
  const ctx = context();
  const purchase = chipPurchase(ctx);
  const wire = onTheWire(buildReversal(purchase, ctx));
  t.equal(wire.fields[25], '00');
  t.equal(wire.fields[38], undefined);
  t.same(wire.fields[55], REQUEST_ICC);
});

t.test("a reversal's reason goes in DE25, one code per reason from one table", async (t) => {
  const ctx = context();
  const purchase = chipPurchase(ctx);
  const expected1987: Record<ReversalReason, string> = {
    timeout: '68',
    'unreadable-response': '20',
    'card-declined': '21',
    'terminal-failure': '22',
    cancelled: '17',
    'partial-not-accepted': '21',
    interrupted: '22',
    'not-completed': '21',
  };
  t.same([...REVERSAL_REASONS].sort(), Object.keys(expected1987).sort(), 'every reason has a code');
  for (const reason of REVERSAL_REASONS) {
    t.equal(
      onTheWire(buildReversal(purchase, ctx, { reason })).fields[25],
      expected1987[reason],
      `${reason} (1987 layouts, n2)`,
    );
    t.equal(
      buildReversal(purchase, { ...ctx, reversalReasonLayout: '1993' }, { reason }).fields[25],
      REVERSAL_REASON_CODES[reason]['1993'],
      `${reason} (1993 message reason code, n4)`,
    );
  }
  t.equal(
    buildReversal(purchase, { ...ctx, reversalReasonLayout: '1993' }, { reason: 'timeout' }).fields[25],
    '4021',
    'timeout waiting for response',
  );
  t.equal(
    buildReversal(purchase, { ...ctx, reversalReasonLayout: '1993' }, { reason: 'cancelled' }).fields[25],
    '4000',
    'customer cancellation',
  );
  t.throws(() => buildReversal(purchase, ctx, { reason: 'bored' as ReversalReason }), {
    code: 'CODPOS_ISO8583_BAD_VALUE',
    message: /no reason "bored"; choose one of timeout, /,
    details: { field: '25' },
  });
});

t.test(
  "a reversal of an approval the card declined: DE38 of the approval, the final DE55 in place of the request's",
  async (t) => {
    const ctx = context();
    const purchase = chipPurchase(ctx);
    const reversal = onTheWire(
      buildReversal(purchase, ctx, { reason: 'card-declined', authCode: 'A1B2C3', iccData: decodeTlv(FINAL_ICC) }),
    );
    t.equal(reversal.mti, '0400');
    t.equal(reversal.fields[25], '21');
    t.equal(reversal.fields[38], 'A1B2C3');
    t.same(reversal.fields[55], FINAL_ICC, 'the final chip data (Tlv[] encoded)');
    t.equal(reversal.fields[11], purchase.fields[11], 'still the original STAN');
    t.equal(
      reversal.fields[90],
      `${purchase.mti}${purchase.fields[11] as string}${purchase.fields[7] as string}${'0'.repeat(22)}`,
    );
    t.equal(reversal.fields[35], undefined, 'no track data');
    t.equal(reversal.fields[52], undefined, 'no PIN block');
    t.equal(reversal.fields[2], PAN);
  },
);

t.test(
  '0220 completion advice: DE90 names the approved 0200, the final DE55, its amount, code and times',
  async (t) => {
    let now = new Date('2026-11-29T22:30:00Z');
    const ctx = context({ clock: () => now });
    const purchase = chipPurchase(ctx);
    now = new Date('2026-11-29T22:30:04Z');
    const advice = buildCompletionAdvice(
      purchase,
      { finalIccData: FINAL_ICC, authCode: 'A1B2C3', responseCode: '00', rrn: '633407000042' },
      ctx,
    );
    t.equal(advice.mti, '0220');
    const wire = onTheWire(advice);
    t.equal(wire.fields[90], '0200' + '000042' + '1129223000' + '0'.repeat(22), 'DE90: MTI, STAN and DE7 of the 0200');
    t.equal(wire.fields[11], '000043', 'a new STAN');
    t.equal(wire.fields[7], '1129223004', 'DE7 is this transmission');
    t.same([wire.fields[12], wire.fields[13]], ['073000', '1130'], 'DE12/DE13 of the transaction');
    t.equal(wire.fields[3], '000000');
    t.equal(wire.fields[4], '000000004200', 'the original amount');
    t.same([wire.fields[37], wire.fields[38], wire.fields[39]], ['633407000042', 'A1B2C3', '00']);
    t.same(wire.fields[55], FINAL_ICC, 'the TC and 9F5B');
    const icc = decodeTlv(wire.fields[55] as Buffer);
    t.equal(findTag(icc, 0x9f27)!.value.toString('hex'), '40');
    t.equal(findTag(icc, 0x9f5b)!.value.toString('hex').toUpperCase(), '2055667788');
    t.same([wire.fields[2], wire.fields[14], wire.fields[22], wire.fields[23]], [PAN, '3012', '051', '001']);
    t.equal(wire.fields[35], undefined, 'no track data');
    t.equal(wire.fields[52], undefined, 'no PIN block');
    t.notMatch(JSON.stringify(maskedMessageJson(wire)), new RegExp(PAN), 'masked for display');
  },
);

t.test('completion advice of a swiped-style original (PAN only in DE35) and of a partial approval', async (t) => {
  const ctx = context();
  const swiped = buildPurchase(
    { amount: 4_200, card: { track2: TRACK2 }, posEntryMode: '051', iccData: REQUEST_ICC },
    ctx,
  );
  const advice = onTheWire(
    buildCompletionAdvice(
      swiped,
      { finalIccData: FINAL_ICC, authCode: 'A1B2C3', responseCode: '10', rrn: '633407000042', approvedAmount: 3_000 },
      ctx,
    ),
  );
  t.equal(advice.fields[2], PAN, 'PAN from the track');
  t.equal(advice.fields[14], '3012', 'expiry from the track');
  t.equal(advice.fields[35], undefined);
  t.equal(advice.fields[4], '000000003000', 'the approved amount');
  t.equal(advice.fields[39], '10');
  t.throws(
    () =>
      buildCompletionAdvice(
        { mti: '0200', fields: { 11: '000001', 7: '1129223000' } },
        { finalIccData: FINAL_ICC, authCode: 'A1B2C3', responseCode: '00', rrn: '633407000042' },
        ctx,
      ),
    {
      code: 'CODPOS_ISO8583_MISSING_FIELD',
      message: /field 3 \(processing code\)/,
    },
  );
});
