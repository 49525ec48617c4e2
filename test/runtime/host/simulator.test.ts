/** The acquirer simulator's own behaviours, driven over TCP through the real link. */
import t from 'tap';
import { PosError } from '../../../config/errors.js';
import { buildAdvice, buildBatchUpload, buildPurchase, buildReversal, buildSettlement, readResponse, readSettlementResponse, repeatOf, stanCounter, type IsoMessage } from '../../../emv/iso8583/index.js';
import { encodePinBlock } from '../../../emv/crypto/pin-block.js';
import { deriveTdesKeys, parseTdesKsn } from '../../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, parseAesKsn } from '../../../emv/crypto/dukpt-aes.js';
import { AcquirerHostSimulator, KSN_FIELD } from '../../../runtime/host/simulator.js';
import { TERMINAL, startLink, type Link } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const ZERO_TOTALS = { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 };

function context(first: number) {
  return { ...TERMINAL, nextStan: stanCounter(first) };
}

async function ask(link: Link, request: IsoMessage) {
  return readResponse(await link.mux.request(request, 2000), request);
}

t.test('reversals take a purchase out of the host totals once, however often repeated; advices count once', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const ctx = context(0);
  const purchase = buildPurchase({ amount: 1500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
  t.equal((await ask(link, purchase)).responseCode, '00');
  const settleWith = async (totals: typeof ZERO_TOTALS) => {
    const message = buildSettlement({ batchNumber: 1, totals }, ctx);
    return readSettlementResponse(await link.mux.request(message, 2000), message);
  };
  t.equal((await settleWith({ ...ZERO_TOTALS, debitCount: 1, debitAmount: 1500 })).inBalance, true);

  const reversal = buildReversal(purchase, ctx);
  t.equal((await ask(link, reversal)).responseCode, '00');
  t.equal((await ask(link, repeatOf(reversal))).mti, '0410', 'a 0401 is answered 0410');
  t.equal((await settleWith(ZERO_TOTALS)).inBalance, true, 'the reversed purchase is out');
  const notBalanced = await settleWith({ ...ZERO_TOTALS, debitCount: 1, debitAmount: 1500 });
  t.equal(notBalanced.inBalance, false);
  t.equal(notBalanced.responseCode, '95');

  const advice = buildAdvice({ amount: 700, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '051', approvedAt: new Date('2026-11-29T08:00:00Z'), authCode: 'Y1' }, ctx);
  t.equal((await ask(link, advice)).mti, '0230');
  t.equal((await ask(link, repeatOf(advice))).mti, '0230');
  t.equal((await settleWith({ ...ZERO_TOTALS, debitCount: 1, debitAmount: 700 })).inBalance, true, 'the advice counted once');

  const upload = buildBatchUpload(
    { mti: '0200', processingCode: '000000', amount: 1500, pan: VISA_PAN, stan: String(purchase.fields[11]), transmission: String(purchase.fields[7]), localTime: '101500', localDate: '1129', posEntryMode: '012', rrn: String(purchase.fields[37]), authCode: '123456', responseCode: '00' },
    ctx,
    { last: true },
  );
  t.equal((await ask(link, upload)).mti, '0330');
  const authorization = { mti: '0100', fields: { ...purchase.fields, 11: '000900' } };
  t.equal((await ask(link, authorization)).responseCode, '12', 'a message type it does not serve: invalid transaction');
});

t.test('the DUKPT PIN check: right PIN approved, wrong PIN 55, PIN block without its KSN 55; the PIN block never reaches the log', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const ctx = context(100);
  const ksn = parseTdesKsn('FFFF9876543210E00001');
  const key = deriveTdesKeys(link.config.devices.pinpad.sim.bdk, ksn).pinKey;
  const purchase = (pin: string, withKsn = true) => {
    const pinBlock = encodePinBlock({ format: 0, pin, pan: VISA_PAN, key });
    const message = buildPurchase({ amount: 500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '021', pinBlock }, ctx);
    if (withKsn) message.fields[KSN_FIELD] = ksn.toString('hex').toUpperCase();
    return { message, pinBlock };
  };
  const right = purchase('1234');
  t.equal((await ask(link, right.message)).responseCode, '00');
  t.equal((await ask(link, purchase('4321').message)).responseCode, '55');
  t.equal((await ask(link, purchase('1234', false).message)).responseCode, '55');
  const text = link.log.text();
  t.ok(text.length > 0, 'the simulator logged at debug level');
  t.notMatch(text, right.pinBlock.toString('hex'), 'no PIN block (hex) in the log');
  t.notMatch(text, right.pinBlock.toString('base64'), 'no PIN block (base64) in the log');
  t.notMatch(text, VISA_PAN, 'no full PAN in the log');
});

t.test('AES DUKPT PIN pads (devices.pinpad.dukpt aes128): the format 4 block is checked under the AES PIN key of its 12-byte KSN', async (t) => {
  // A host that carries the 16-byte format 4 block in DE52.
  const link = await startLink({
    config: {
      devices: { pinpad: { dukpt: 'aes128', sim: { ksn: '123456789012345600000000' } } },
      host: { fieldOverrides: { 52: { name: 'PIN data (AES)', content: 'b', lengthType: 'fixed', maxLength: 16, encoding: 'binary' } } },
    },
  });
  t.teardown(() => link.close());
  const ctx = context(300);
  const ksn = parseAesKsn('123456789012345600000001');
  const key = deriveAesKeys(link.config.devices.pinpad.sim.bdk, ksn, 'aes128').pinKey;
  const purchase = (pin: string) => {
    const pinBlock = encodePinBlock({ format: 4, pin, pan: VISA_PAN, key });
    const message = buildPurchase({ amount: 500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '021', pinBlock }, ctx);
    message.fields[KSN_FIELD] = ksn.toString('hex').toUpperCase();
    return { message, pinBlock };
  };
  const right = purchase('1234');
  t.equal((await ask(link, right.message)).responseCode, '00', 'right PIN');
  t.equal((await ask(link, purchase('4321').message)).responseCode, '55', 'wrong PIN');
  t.notMatch(link.log.text(), right.pinBlock.toString('hex'), 'no PIN block in the log');
  t.notMatch(link.log.text(), VISA_PAN, 'no full PAN in the log');
});

t.test('rules: applied by MTI and amount, newest first, removed after `times`', async (t) => {
  const link = await startLink({ rules: [{ mti: '0200', amount: 300, action: 'decline', times: 1 }] });
  t.teardown(() => link.close());
  const ctx = context(200);
  const buy = (amount: number) => buildPurchase({ amount, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
  t.equal((await ask(link, buy(300))).responseCode, '05', 'declined by amount (default code 05)');
  t.equal((await ask(link, buy(300))).responseCode, '00', 'the rule was used up');
  link.sim.behave({ mti: '0200', action: 'decline', responseCode: '61' });
  link.sim.behave({ mti: '0200', amountAtLeast: 10_000, action: 'decline', responseCode: '51' });
  t.equal((await ask(link, buy(20_000))).responseCode, '51', 'the newest matching rule wins');
  t.equal((await ask(link, buy(50))).responseCode, '61');
  link.sim.clearRules();
  t.equal((await ask(link, buy(50))).responseCode, '00');
  t.throws(() => link.sim.behave({ action: 'explode' as never }), { code: 'CODPOS_USAGE_BAD_OPTION' });
});

t.test('a port already taken is CODPOS_HOST_SIM_LISTEN naming it', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const second = new AcquirerHostSimulator({ dialect: link.dialect, framing: link.framing, port: link.sim.port });
  const error = await second.start().catch((e: unknown) => e);
  t.ok(error instanceof PosError);
  t.equal((error as PosError).code, 'CODPOS_HOST_SIM_LISTEN');
  t.match((error as PosError).message, String(link.sim.port));
});
