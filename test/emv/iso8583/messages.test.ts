/**
 * The typed POS messages: each builder's fields (STAN, RRN and date-times from the
 * injected counter and clock), their wire form in pos87b, repeats, and the readers
 * that turn host responses into results (a decline is data, a mismatch an error).
 */
import t from 'tap';
import {
  buildAdvice,
  buildBatchUpload,
  buildNetworkRequest,
  buildPurchase,
  buildResponse,
  buildReversal,
  buildSettlement,
  buildVoid,
  decodeIso8583,
  encodeIso8583,
  matchKey,
  messageToJson,
  pos87b,
  readResponse,
  readSettlementResponse,
  readSettlementTotals,
  repeatOf,
  responseMti,
  stanCounter,
  type IsoMessage,
  type MessageContext,
} from '../../../emv/iso8583/index.js';

const PAN = '4761739001010119';
const TRACK2 = `${PAN}=22122011143804400000`;

function context(lastStan = 41): MessageContext {
  return {
    terminalId: 'TERM0001',
    merchantId: 'MERCHANT0000001',
    currency: '840',
    nii: '010',
    clock: () => new Date(Date.UTC(2026, 10, 29, 5, 15, 0)), // 2026-11-29 05:15:00 UTC
    utcOffsetMinutes: 8 * 60, // the terminal is at UTC+8: 13:15 local
    nextStan: stanCounter(lastStan),
  };
}

/** Encodes in the terminal's dialect and decodes again: what the host would see. */
function onTheWire(message: IsoMessage): IsoMessage {
  return decodeIso8583(encodeIso8583(message, pos87b), pos87b);
}

t.test('0200 purchase: fields from the request, STAN/RRN/times from the context, DE55 from TLV', async (t) => {
  const purchase = buildPurchase(
    {
      amount: 12_345,
      card: { track2: TRACK2, panSequenceNumber: '001' },
      posEntryMode: '051',
      pinBlock: Buffer.from('0123456789ABCDEF', 'hex'),
      iccData: [
        { tag: 0x9f02, value: Buffer.from('000000012345', 'hex') },
        { tag: 0x5f34, value: Buffer.from('02', 'hex') },
      ],
    },
    context(),
  );
  t.equal(purchase.mti, '0200');
  const json = messageToJson(onTheWire(purchase));
  t.same(json.fields, {
    3: '000000',
    4: '000000012345',
    7: '1129051500',
    11: '000042',
    12: '131500',
    13: '1129',
    22: '051',
    23: '001',
    24: '010',
    25: '00',
    35: TRACK2,
    37: '633313000042', // year 6, day 333, hour 13, STAN
    41: 'TERM0001',
    42: 'MERCHANT0000001',
    49: '840',
    52: '0123456789ABCDEF',
    55: '9F02060000000123455F340102', // the same bytes as pyiso8583's DE55 vector
  });
});

t.test('void: processing code 02, the original amount, RRN and approval, DE90; no track or PIN', async (t) => {
  const ctx = context();
  const purchase = buildPurchase(
    { amount: 5_000, card: { track2: TRACK2 }, posEntryMode: '021', pinBlock: Buffer.alloc(8) },
    ctx,
  );
  const voided = onTheWire(buildVoid({ request: purchase, rrn: '633313000042', authCode: 'A1B2C3' }, ctx));
  t.equal(voided.mti, '0200');
  t.equal(voided.fields[3], '020000');
  t.equal(voided.fields[4], '000000005000');
  t.equal(voided.fields[11], '000043', 'a new STAN');
  t.equal(voided.fields[37], '633313000042');
  t.equal(voided.fields[38], 'A1B2C3');
  t.equal(voided.fields[90], '0200' + '000042' + '1129051500' + '0'.repeat(22));
  t.equal(voided.fields[2], PAN, 'PAN taken from the track');
  t.equal(voided.fields[14], '2212', 'expiry taken from the track');
  t.equal(voided.fields[35], undefined);
  t.equal(voided.fields[52], undefined);
});

t.test('0400 reversal keeps the original STAN; 0401 repeat is the same message under the repeat MTI', async (t) => {
  const ctx = context();
  const purchase = buildPurchase(
    {
      amount: 990,
      card: { track2: TRACK2 },
      posEntryMode: '051',
      pinBlock: Buffer.alloc(8),
      iccData: Buffer.from('9F2701809F2608AABBCCDDEEFF0011', 'hex'),
    },
    ctx,
  );
  const reversal = buildReversal(purchase, ctx);
  t.equal(reversal.mti, '0400');
  const wire = onTheWire(reversal);
  t.equal(wire.fields[11], purchase.fields[11], 'the original STAN');
  t.equal(wire.fields[4], '000000000990');
  t.equal(wire.fields[90], '0200000042' + '1129051500' + '0'.repeat(22));
  t.equal(wire.fields[35], undefined, 'no track data');
  t.equal(wire.fields[52], undefined, 'no PIN block');
  t.same(wire.fields[55], purchase.fields[55], 'the ICC data of the original');
  const repeat = repeatOf(reversal);
  t.equal(repeat.mti, '0401');
  const a = encodeIso8583(reversal, pos87b);
  const b = encodeIso8583(repeat, pos87b);
  t.same(a.subarray(2), b.subarray(2), 'identical but for the MTI');
  t.equal(responseMti(repeat.mti), '0410');
});

t.test('0220 advice of an offline approval; 0221 repeat', async (t) => {
  const advice = buildAdvice(
    {
      amount: 1_500,
      card: { pan: PAN, expiry: '2212' },
      posEntryMode: '051',
      approvedAt: new Date(Date.UTC(2026, 10, 28, 23, 59, 30)),
      authCode: 'Y1',
      responseCode: 'Y1',
      iccData: Buffer.from('9F2701409F2608AABBCCDDEEFF0011', 'hex'),
    },
    context(),
  );
  t.equal(advice.mti, '0220');
  const wire = onTheWire(advice);
  t.equal(wire.fields[12], '075930', 'local time of the approval');
  t.equal(wire.fields[13], '1129', 'local date of the approval (UTC+8 crosses midnight)');
  t.equal(wire.fields[7], '1129051500', 'DE7 is this transmission');
  t.equal(wire.fields[38], 'Y1    ');
  t.equal(wire.fields[39], 'Y1');
  t.equal(repeatOf(advice).mti, '0221');
  t.equal(responseMti('0221'), '0230');
});

t.test('0320 batch upload and 0500 settlement with count and amount totals', async (t) => {
  const ctx = context(100);
  const upload = onTheWire(
    buildBatchUpload(
      {
        mti: '0200',
        processingCode: '000000',
        amount: 2_500,
        pan: PAN,
        expiry: '2212',
        stan: '000042',
        transmission: '1129051500',
        localTime: '131500',
        localDate: '1129',
        posEntryMode: '051',
        rrn: '633313000042',
        authCode: 'A1B2C3',
        responseCode: '00',
      },
      ctx,
      { last: true },
    ),
  );
  t.equal(upload.mti, '0320');
  t.equal(upload.fields[3], '000000', 'last upload: processing code ends in 0');
  t.equal(upload.fields[11], '000101');
  t.equal(upload.fields[90], '0200000042' + '1129051500' + '0'.repeat(22));

  const totals = {
    debitCount: 12,
    debitAmount: 1_234_567n,
    creditCount: 1,
    creditAmount: 2_500,
    debitReversalCount: 0,
    debitReversalAmount: 0n,
    creditReversalCount: 0,
    creditReversalAmount: 0n,
  };
  const settlement = buildSettlement({ batchNumber: 7, totals }, ctx);
  t.equal(settlement.mti, '0500');
  const wire = onTheWire(settlement);
  t.equal(wire.fields[3], '920000');
  t.equal(wire.fields[60], '000007');
  t.equal(wire.fields[76], '0000000012');
  t.equal(wire.fields[88], '0000000001234567');
  t.same(readSettlementTotals(wire), { ...totals, creditAmount: 2_500n });
  t.equal(onTheWire(buildSettlement({ batchNumber: 7, totals, afterUpload: true }, ctx)).fields[3], '960000');

  const balanced = readSettlementResponse(onTheWire(buildResponse(wire, { 39: '00' })), wire);
  t.equal(balanced.inBalance, true);
  t.equal(balanced.totals.debitCount, 12);
  const differs = readSettlementResponse(onTheWire(buildResponse(wire, { 39: '95' })), wire);
  t.equal(differs.inBalance, false, '95: upload the batch');
  t.throws(() => buildSettlement({ batchNumber: 0, totals }, ctx), {
    code: 'CODPOS_ISO8583_BAD_VALUE',
    message: /field 60/,
  });
  t.throws(() => buildSettlement({ batchNumber: 1, totals: { ...totals, debitCount: -1 } }, ctx), {
    message: /field 76/,
  });
});

t.test('0800 sign-on and echo', async (t) => {
  const ctx = context();
  const signOn = onTheWire(buildNetworkRequest('sign-on', ctx));
  t.equal(signOn.mti, '0800');
  t.equal(signOn.fields[70], '001');
  t.equal(signOn.fields[11], '000042');
  const echo = onTheWire(buildNetworkRequest('echo', ctx));
  t.equal(echo.fields[70], '301');
  const answer = readResponse(onTheWire(buildResponse(echo, { 39: '00' })), echo);
  t.equal(answer.mti, '0810');
  t.equal(answer.outcome, 'approved');
});

t.test('responses: outcomes are data, mismatches are errors', async (t) => {
  const ctx = context();
  const purchase = buildPurchase({ amount: 100, card: { pan: PAN, expiry: '2212' }, posEntryMode: '012' }, ctx);
  const approved = readResponse(
    onTheWire(buildResponse(purchase, { 38: 'A1B2C3', 39: '00', 55: Buffer.from('910A0102030405060708090A', 'hex') })),
    purchase,
  );
  t.equal(approved.outcome, 'approved');
  t.equal(approved.authCode, 'A1B2C3');
  t.equal(approved.rrn, purchase.fields[37]);
  t.same(approved.iccData, Buffer.from('910A0102030405060708090A', 'hex'));
  t.equal(readResponse(buildResponse(purchase, { 39: '05' }), purchase).outcome, 'declined');
  t.equal(readResponse(buildResponse(purchase, { 39: '91' }), purchase).outcome, 'retry');
  t.equal(readResponse(buildResponse(purchase, { 39: '01' }), purchase).outcome, 'refer');
  t.equal(
    matchKey(buildResponse(purchase, { 39: '00' })),
    matchKey(purchase),
    'the mux key matches request and response',
  );

  const otherStan = buildResponse(purchase, { 39: '00', 11: '000099' });
  t.throws(() => readResponse(otherStan, purchase), { code: 'CODPOS_ISO8583_RESPONSE_MISMATCH', message: /field 11/ });
  t.throws(() => readResponse({ ...buildResponse(purchase, { 39: '00' }), mti: '0230' }, purchase), {
    code: 'CODPOS_ISO8583_BAD_MTI',
    message: /expected a 0210/,
  });
  t.throws(() => readResponse(buildResponse(purchase, {}), purchase), {
    code: 'CODPOS_ISO8583_MISSING_FIELD',
    message: /field 39/,
  });
  t.notOk(Object.keys(buildResponse(purchase, { 39: '00' }).fields).includes('35'), 'track data is never echoed');
});

t.test('STANs come from the injected counter and wrap after 999999', async (t) => {
  const ctx = context(999_998);
  t.equal(buildNetworkRequest('echo', ctx).fields[11], '999999');
  t.equal(buildNetworkRequest('echo', ctx).fields[11], '000001');
  const broken = { ...context(), nextStan: () => 0 };
  t.throws(() => buildNetworkRequest('echo', broken), {
    code: 'CODPOS_ISO8583_BAD_VALUE',
    message: /the STAN counter gave 0/,
  });
  t.throws(() => buildPurchase({ amount: -1, card: { pan: PAN }, posEntryMode: '012' }, context()), {
    message: /field 4: an amount is 0 to 999999999999/,
  });
});
