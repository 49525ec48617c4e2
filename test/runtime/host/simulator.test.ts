/** The acquirer simulator's own behaviours, driven over TCP through the real link. */
import t from 'tap';
import { PosError } from '../../../config/errors.js';
import {
  buildAdvice,
  buildBatchUpload,
  buildPurchase,
  buildReversal,
  buildSettlement,
  buildVoid,
  originalDataElements,
  readResponse,
  readSettlementResponse,
  repeatOf,
  stanCounter,
  type IsoMessage,
} from '../../../emv/iso8583/index.js';
import { encodePinBlock } from '../../../emv/crypto/pin-block.js';
import { deriveTdesKeys, nextKsn, parseTdesKsn } from '../../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, parseAesKsn } from '../../../emv/crypto/dukpt-aes.js';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { runTransaction, type OnlineRequest } from '../../../emv/kernel/index.js';
import { decodeTlv, encodeTlv, findTag } from '../../../emv/tlv/index.js';
import { AcquirerHostSimulator, KSN_FIELD } from '../../../runtime/host/simulator.js';
import { SimFaultDraw } from '../../../runtime/host/sim-faults.js';
import { PATIENT_MS, TERMINAL, TEST_TERMINAL, startLink, type Link } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const ZERO_TOTALS = { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 };

function context(first: number) {
  return { ...TERMINAL, nextStan: stanCounter(first) };
}

async function ask(link: Link, request: IsoMessage) {
  return readResponse(await link.mux.request(request, 2000), request);
}

t.test(
  'reversals take a purchase out of the host totals once, however often repeated; advices count once',
  async (t) => {
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

    const advice = buildAdvice(
      {
        amount: 700,
        card: { pan: VISA_PAN, expiry: '2812' },
        posEntryMode: '051',
        approvedAt: new Date('2026-11-29T08:00:00Z'),
        authCode: 'Y1',
      },
      ctx,
    );
    t.equal((await ask(link, advice)).mti, '0230');
    t.equal((await ask(link, repeatOf(advice))).mti, '0230');
    t.equal(
      (await settleWith({ ...ZERO_TOTALS, debitCount: 1, debitAmount: 700 })).inBalance,
      true,
      'the advice counted once',
    );

    const upload = buildBatchUpload(
      {
        mti: '0200',
        processingCode: '000000',
        amount: 1500,
        pan: VISA_PAN,
        stan: String(purchase.fields[11]),
        transmission: String(purchase.fields[7]),
        localTime: '101500',
        localDate: '1129',
        posEntryMode: '012',
        rrn: String(purchase.fields[37]),
        authCode: '123456',
        responseCode: '00',
      },
      ctx,
      { last: true },
    );
    t.equal((await ask(link, upload)).mti, '0330');
    const authorization = { mti: '0100', fields: { ...purchase.fields, 11: '000900' } };
    t.equal(
      (await ask(link, authorization)).responseCode,
      '12',
      'a message type it does not serve: invalid transaction',
    );
  },
);

t.test(
  "memory is bounded: the book keeps the latest maxBooked transactions (the rest counted as pruned), received the latest maxExchanges; a settlement empties the terminal's part",
  async (t) => {
    const link = await startLink({ bounds: { maxBooked: 3, maxExchanges: 4 } });
    t.teardown(() => link.close());
    const ctx = context(100);
    for (let i = 1; i <= 6; i++) {
      t.equal(
        (
          await ask(
            link,
            buildPurchase({ amount: 100 * i, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx),
          )
        ).responseCode,
        '00',
      );
    }
    t.equal(link.sim.bookedCount, 3, 'the latest three on the book');
    t.match(link.sim.audit(), {
      book: [{ terminalId: TERMINAL.terminalId, count: 3, amount: 400 + 500 + 600 }],
      pruned: 3,
    });
    t.same(
      link.sim.received.map((exchange) => exchange.amount),
      [300, 400, 500, 600],
      'the latest four exchanges',
    );
    const settlement = buildSettlement(
      { batchNumber: 1, totals: { ...ZERO_TOTALS, debitCount: 3, debitAmount: 1500 } },
      ctx,
    );
    t.equal(
      readSettlementResponse(await link.mux.request(settlement, 2000), settlement).inBalance,
      true,
      'the host settles what it kept',
    );
    t.equal(link.sim.bookedCount, 0, 'settled: nothing left on the book');
  },
);

t.test(
  'the DUKPT PIN check: right PIN approved, wrong PIN 55, PIN block without its KSN 55; the PIN block never reaches the log',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(100);
    const ksn = parseTdesKsn('FFFF9876543210E00001');
    const key = deriveTdesKeys(link.config.devices.pinpad.sim.bdk, ksn).pinKey;
    const purchase = (pin: string, withKsn = true) => {
      const pinBlock = encodePinBlock({ format: 0, pin, pan: VISA_PAN, key });
      const message = buildPurchase(
        { amount: 500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '021', pinBlock },
        ctx,
      );
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
  },
);

t.test(
  'AES DUKPT PIN pads (devices.pinpad.dukpt aes128): the format 4 block is checked under the AES PIN key of its 12-byte KSN',
  async (t) => {
    // A host that carries the 16-byte format 4 block in DE52.
    const link = await startLink({
      config: {
        devices: { pinpad: { dukpt: 'aes128', sim: { ksn: '123456789012345600000000' } } },
        host: {
          fieldOverrides: {
            52: { name: 'PIN data (AES)', content: 'b', lengthType: 'fixed', maxLength: 16, encoding: 'binary' },
          },
        },
      },
    });
    t.teardown(() => link.close());
    const ctx = context(300);
    const ksn = parseAesKsn('123456789012345600000001');
    const key = deriveAesKeys(link.config.devices.pinpad.sim.bdk, ksn, 'aes128').pinKey;
    const purchase = (pin: string) => {
      const pinBlock = encodePinBlock({ format: 4, pin, pan: VISA_PAN, key });
      const message = buildPurchase(
        { amount: 500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '021', pinBlock },
        ctx,
      );
      message.fields[KSN_FIELD] = ksn.toString('hex').toUpperCase();
      return { message, pinBlock };
    };
    const right = purchase('1234');
    t.equal((await ask(link, right.message)).responseCode, '00', 'right PIN');
    t.equal((await ask(link, purchase('4321').message)).responseCode, '55', 'wrong PIN');
    t.notMatch(link.log.text(), right.pinBlock.toString('hex'), 'no PIN block in the log');
    t.notMatch(link.log.text(), VISA_PAN, 'no full PAN in the log');
  },
);

t.test('rules: applied by MTI and amount, newest first, removed after `times`', async (t) => {
  const link = await startLink({ rules: [{ mti: '0200', amount: 300, action: 'decline', times: 1 }] });
  t.teardown(() => link.close());
  const ctx = context(200);
  const buy = (amount: number) =>
    buildPurchase({ amount, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
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

/** A chip card's online request as the EMV kernel makes it (a real ARQC; the PIN block under the sim PIN pad's next DUKPT key). */
async function chipOnline(
  link: Link,
  profile = 'visa-dda',
  amount = 2500,
  pin = '1234',
): Promise<{ online: OnlineRequest; ksn: string }> {
  const card = new VirtualCard(loadCardProfile(profile));
  card.powerOn();
  let online: OnlineRequest | undefined;
  let ksn = '';
  await runTransaction({
    transmit: (apdu) => card.transmit(apdu),
    terminal: TEST_TERMINAL,
    transaction: {
      amount,
      currencyCode: '0840',
      transactionType: '00',
      date: new Date('2026-11-29T10:15:00Z'),
      sequenceCounter: 1,
      unpredictableNumber: Buffer.from('12345678', 'hex'),
    },
    callbacks: {
      requestOnlinePin: (pan) => {
        const next = nextKsn(parseTdesKsn(link.config.devices.pinpad.sim.ksn));
        ksn = next.toString('hex').toUpperCase();
        return encodePinBlock({
          format: 0,
          pin,
          pan,
          key: deriveTdesKeys(link.config.devices.pinpad.sim.bdk, next).pinKey,
        });
      },
      // Only the request is wanted here: the host's answer is what the tests then ask for.
      goOnline: async (request) => {
        online = request;
        return { result: 'unable' };
      },
      random: () => 99,
    },
  });
  if (!online) throw new Error(`${profile}: the kernel did not go online`);
  return { online, ksn };
}

interface ChipChanges {
  pinBlock?: false;
  iccData?: false;
  /** DE35 instead of the one from tag 57, or false for none. */
  track2?: string | false;
  expiry?: string;
  amount?: number;
}

/** The 0200 the terminal sends for a chip card: DE2, DE14, DE23, DE35 (from tag 57), DE52 + KSN, DE55; `changes` spoil it. */
function chipPurchase(
  chip: { online: OnlineRequest; ksn: string },
  ctx: ReturnType<typeof context>,
  changes: ChipChanges = {},
): IsoMessage {
  const { online } = chip;
  const track2 = changes.track2 ?? online.track2!;
  const message = buildPurchase(
    {
      amount: changes.amount ?? 2500,
      posEntryMode: '051',
      card: {
        pan: online.pan,
        expiry: changes.expiry ?? online.expiry!.slice(0, 4),
        panSequenceNumber: online.panSequenceNumber!.padStart(3, '0'),
        ...(track2 !== false ? { track2 } : {}),
      },
      ...(changes.pinBlock !== false && online.pinBlock ? { pinBlock: online.pinBlock } : {}),
      ...(changes.iccData !== false ? { iccData: online.de55 } : {}),
    },
    ctx,
  );
  if (changes.pinBlock !== false) message.fields[KSN_FIELD] = chip.ksn;
  return message;
}

function refusalsLogged(link: Link): Array<Record<string, unknown>> {
  return link.log.lines.filter(
    (line) => line.level === 'info' && String(line.msg).startsWith('acquirer simulator: refused'),
  );
}

t.test(
  'chip entry: the complete request is approved; without DE52 (the CVM asked for online PIN) 55, without DE55 30, DE35 not matching DE2 or DE14 30; each refusal logged at info, masked',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(400);
    const chip = await chipOnline(link);
    const cvmResults = findTag(chip.online.de55, 0x9f34)!.value;
    t.equal(cvmResults[0]! & 0x3f, 0x02, 'the card asked for online PIN (9F34)');

    t.equal(
      (await ask(link, chipPurchase(chip, ctx))).responseCode,
      '00',
      'DE2 + DE14 + DE23 + DE35 + DE52 + DE55: approved',
    );
    const cases: Array<[ChipChanges, string, RegExp]> = [
      [{ pinBlock: false }, '55', /no PIN block \(DE52\), but the card's CVM results \(9F34\) name online PIN/],
      [{ iccData: false }, '30', /chip entry \(DE22 051\) without ICC data \(DE55\)/],
      [{ track2: '4761739001010127=30122011143800000' }, '30', /PAN in track 2 \(DE35\) is not the PAN in DE2/],
      [{ expiry: '2911' }, '30', /expiry in track 2 \(DE35\) is not the expiry in DE14/],
      [{ track2: '4761739001010119=30' }, '30', /track 2 data \(DE35\) cannot be read/],
    ];
    for (const [changes, code, reason] of cases) {
      const what = JSON.stringify(changes);
      t.equal((await ask(link, chipPurchase(chip, ctx, changes))).responseCode, code, `${what}: ${code}`);
      t.match(link.sim.received.at(-1)!.refusal, reason, `${what}: the exchange says why`);
    }
    t.equal(
      (await ask(link, chipPurchase(chip, ctx, { track2: false }))).responseCode,
      '00',
      'DE35 is not required with DE2',
    );
    const logged = refusalsLogged(link);
    t.equal(logged.length, cases.length, 'each refusal logged once at info');
    t.same(
      logged.map((l) => l.code),
      cases.map(([, code]) => code),
    );
    t.equal(logged[0]!.pan, '476173******0119', 'the masked PAN');
    const text = link.log.text() + JSON.stringify(link.sim.received);
    t.notMatch(text, '4761739001010119', 'no full PAN in the log or the exchanges');
    t.notMatch(text, chip.online.pinBlock!.toString('hex'), 'no PIN block');
  },
);

t.test('an ARQC that does not verify is declined 05, before the PIN is looked at', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const chip = await chipOnline(link);
  const spoiled = {
    ...chip,
    online: {
      ...chip.online,
      de55: chip.online.de55.map((tlv) =>
        tlv.tag === 0x9f02 ? { ...tlv, value: Buffer.from('000000009999', 'hex') } : tlv,
      ),
    },
  };
  t.equal((await ask(link, chipPurchase(spoiled, context(450), { pinBlock: false }))).responseCode, '05');
  t.equal(link.sim.received.at(-1)!.refusal, 'the ARQC (9F26) does not verify');
  t.equal(link.sim.received.at(-1)!.arqc, 'failed', 'the exchange records the failed check');
});

/** Stripe 0200s of VISA_PAN with the service code given, from DE22 `entryMode`, with or without the PIN 1234 (TDES DUKPT, KSN `ksnHex`). */
function stripeSwipes(link: Link, ctx: ReturnType<typeof context>, ksnHex: string) {
  const ksn = parseTdesKsn(ksnHex);
  const pinBlock = encodePinBlock({
    format: 0,
    pin: '1234',
    pan: VISA_PAN,
    key: deriveTdesKeys(link.config.devices.pinpad.sim.bdk, ksn).pinKey,
  });
  return (serviceCode: string, withPin: boolean, entryMode = '801'): IsoMessage => {
    const message = buildPurchase(
      {
        amount: 800,
        posEntryMode: entryMode,
        card: { track2: `${VISA_PAN}=3012${serviceCode}1143800000` },
        ...(withPin ? { pinBlock } : {}),
      },
      ctx,
    );
    if (withPin) message.fields[KSN_FIELD] = ksn.toString('hex').toUpperCase();
    return message;
  };
}

t.test(
  'stripe and fallback: a service code asking for a PIN (third digit 0, 3, 5) needs DE52 (55 without); 1 does not',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(500);
    const swipe = stripeSwipes(link, ctx, 'FFFF9876543210E00002');
    for (const serviceCode of ['200', '203', '205']) {
      t.equal(
        (await ask(link, swipe(serviceCode, false))).responseCode,
        '55',
        `service code ${serviceCode} without DE52: 55`,
      );
      t.equal(link.sim.received.at(-1)!.refusal, `no PIN block (DE52), but service code ${serviceCode} requires a PIN`);
      t.equal(
        (await ask(link, swipe(serviceCode, true))).responseCode,
        '00',
        `service code ${serviceCode} with the right PIN: 00`,
      );
    }
    t.equal((await ask(link, swipe('201', false))).responseCode, '00', 'service code 201: no PIN needed');
    // The stripe-only card (service code 101) as before: approved without a PIN.
    const stripe = buildPurchase(
      { amount: 800, posEntryMode: '901', card: { track2: '4111111111111111=30121011234500000000' } },
      ctx,
    );
    t.equal((await ask(link, stripe)).responseCode, '00');
  },
);

t.test(
  'stripe: a service code that asks for a PIN where there is a PIN pad (third digit 6, 7) needs DE52 from a terminal whose DE22 says it has one',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const swipe = stripeSwipes(link, context(550), 'FFFF9876543210E00003');
    for (const serviceCode of ['106', '107', '206']) {
      t.equal(
        (await ask(link, swipe(serviceCode, false, '901'))).responseCode,
        '55',
        `service code ${serviceCode}, PIN pad (DE22 901), no DE52: 55`,
      );
      t.match(
        link.sim.received.at(-1)!.refusal,
        new RegExp(`^no PIN block \\(DE52\\), but service code ${serviceCode} asks for a PIN where there is a PIN pad`),
      );
      t.equal(
        (await ask(link, swipe(serviceCode, true, '901'))).responseCode,
        '00',
        `service code ${serviceCode} with the right PIN: 00`,
      );
      t.equal(
        (await ask(link, swipe(serviceCode, false, '902'))).responseCode,
        '00',
        `service code ${serviceCode} from a terminal without a PIN pad (DE22 902): no PIN to ask for`,
      );
    }
  },
);

t.test(
  'partial approval: 10 with DE4 the approved amount, booked at that amount; approve may answer 08 or 11; a chip ARPC carries the code answered',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(600);
    const buy = (amount: number) =>
      buildPurchase({ amount, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    link.sim.behave({ mti: '0200', action: 'partial', approvedAmount: 1200, times: 1 });
    const byAmount = await link.mux.request(buy(2000), 2000);
    t.equal(readResponse(byAmount).responseCode, '10');
    t.equal(byAmount.fields[4], '000000001200', 'DE4: the approved amount');
    t.equal(link.sim.received.at(-1)!.approvedAmount, 1200);
    t.equal(link.sim.received.at(-1)!.amount, 2000);

    link.sim.behave({ mti: '0200', action: 'partial', approvedPercent: 25, times: 1 });
    t.equal((await link.mux.request(buy(1001), 2000)).fields[4], '000000000250', '25% of 1001, rounded down');
    link.sim.behave({ mti: '0200', action: 'partial', approvedAmount: 5000, times: 1 });
    t.equal(
      (await link.mux.request(buy(3000), 2000)).fields[4],
      '000000002999',
      'never the whole amount: at least 1 below',
    );
    link.sim.behave({ mti: '0200', action: 'partial', times: 1 });
    t.equal((await ask(link, buy(1))).responseCode, '51', '1 minor unit cannot be approved in part');

    link.sim.behave({ mti: '0200', action: 'approve', responseCode: '08', times: 1 });
    t.equal((await ask(link, buy(700))).responseCode, '08');
    link.sim.behave({ mti: '0200', action: 'approve', responseCode: '11', times: 1 });
    t.equal((await ask(link, buy(300))).responseCode, '11');
    t.same(
      link.sim.audit(TERMINAL.terminalId).book,
      [{ terminalId: TERMINAL.terminalId, count: 5, amount: 1200 + 250 + 2999 + 700 + 300 }],
      'the book holds approved amounts',
    );

    const settle = async (debitCount: number, debitAmount: number) => {
      const message = buildSettlement({ batchNumber: 1, totals: { ...ZERO_TOTALS, debitCount, debitAmount } }, ctx);
      return readSettlementResponse(await link.mux.request(message, 2000), message).responseCode;
    };
    t.equal(await settle(5, 2000 + 1001 + 3000 + 700 + 300), '95', 'requested amounts do not settle');
    t.equal(await settle(5, 1200 + 250 + 2999 + 700 + 300), '00', 'approved amounts do');

    const chip = await chipOnline(link);
    link.sim.behave({ mti: '0200', action: 'partial', approvedPercent: 40, times: 1 });
    const answer = await link.mux.request(chipPurchase(chip, ctx), 2000);
    t.equal(readResponse(answer).responseCode, '10');
    const arpc = findTag(decodeTlv(answer.fields[55] as Buffer), 0x91)!.value;
    t.equal(arpc.subarray(8).toString('latin1'), '10', 'tag 91: ARPC || ARC 10');
    t.throws(() => link.sim.behave({ action: 'approve', responseCode: '10' }), {
      code: 'CODPOS_USAGE_BAD_OPTION',
      message: /approve answers 00, 08, 11/,
    });
    t.throws(() => link.sim.behave({ action: 'partial', approvedPercent: 100 }), {
      code: 'CODPOS_USAGE_BAD_OPTION',
      message: /approvedPercent 100/,
    });
    t.throws(() => link.sim.behave({ action: 'decline', approvedAmount: 5 }), {
      code: 'CODPOS_USAGE_BAD_OPTION',
      message: /partial/,
    });
  },
);

t.test(
  'what arrived is recorded without card data: amount, DE25, DE38 on a reversal, DE18, which card fields came, and the chip verdicts from DE55',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(700);
    const chip = await chipOnline(link);
    const purchase = chipPurchase(chip, ctx);
    purchase.fields[18] = '4215';
    const approved = await ask(link, purchase);
    t.equal(approved.responseCode, '00');
    const first = link.sim.received.at(-1)!;
    t.match(first, {
      mti: '0200',
      amount: 2500,
      posConditionCode: '00',
      merchantCategoryCode: '4215',
      hasTrack2: true,
      hasPinBlock: true,
      hasIcc: true,
      cryptogramType: 'ARQC',
      entryMode: '051',
    });
    t.equal(first.tvr, findTag(chip.online.de55, 0x95)!.value.toString('hex').toUpperCase());

    // A reversal carrying its reason (DE25), the approval it reverses (DE38) and the final chip data.
    const reversal = buildReversal(purchase, ctx);
    reversal.fields[25] = '06';
    reversal.fields[38] = approved.authCode!;
    reversal.fields[55] = encodeTlv([
      { tag: 0x9f27, value: Buffer.from([0x00]) },
      { tag: 0x95, value: Buffer.from('0000048000', 'hex') },
      { tag: 0x9b, value: Buffer.from('E800', 'hex') },
      { tag: 0x9f5b, value: Buffer.from('2000000001', 'hex') },
      { tag: 0x9f1e, value: Buffer.from('SN000042', 'latin1') },
    ]);
    t.equal((await ask(link, reversal)).responseCode, '00');
    t.match(link.sim.received.at(-1)!, {
      mti: '0400',
      posConditionCode: '06',
      authCode: approved.authCode,
      hasTrack2: false,
      hasPinBlock: false,
      hasIcc: true,
      cryptogramType: 'AAC',
      tvr: '0000048000',
      tsi: 'E800',
      issuerScriptResults: '2000000001',
      ifdSerialNumber: 'SN000042',
    });
    const recorded = JSON.stringify(link.sim.received);
    t.notMatch(recorded, VISA_PAN, 'no PAN');
    t.notMatch(recorded, findTag(chip.online.de55, 0x9f26)!.value.toString('hex').toUpperCase(), 'no cryptogram');
    t.notMatch(recorded, chip.online.pinBlock!.toString('hex'), 'no PIN block');
  },
);

t.test(
  'advices: a completion (DE90 naming a booked 0200) is answered 00 and not booked again; an offline advice is booked; a reversal of an unknown original is 00 and recorded',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(800);
    const purchase = buildPurchase({ amount: 1500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    t.equal((await ask(link, purchase)).responseCode, '00');
    const completion = buildAdvice(
      {
        amount: 1500,
        card: { pan: VISA_PAN, expiry: '2812' },
        posEntryMode: '051',
        approvedAt: new Date('2026-11-29T10:15:00Z'),
        authCode: '123456',
        iccData: [{ tag: 0x9f27, value: Buffer.from([0x40]) }],
      },
      ctx,
    );
    completion.fields[90] = originalDataElements(purchase);
    t.equal((await ask(link, completion)).responseCode, '00');
    t.match(link.sim.received.at(-1)!, { mti: '0220', completion: true, cryptogramType: 'TC' });
    t.equal((await ask(link, repeatOf(completion))).responseCode, '00', 'its repeat too');
    t.same(
      link.sim.audit(TERMINAL.terminalId).book,
      [{ terminalId: TERMINAL.terminalId, count: 1, amount: 1500 }],
      'the completion did not book a second sale',
    );

    const offline = buildAdvice(
      {
        amount: 700,
        card: { pan: VISA_PAN, expiry: '2812' },
        posEntryMode: '051',
        approvedAt: new Date('2026-11-29T10:16:00Z'),
        authCode: 'Y1',
      },
      ctx,
    );
    t.equal((await ask(link, offline)).responseCode, '00');
    t.notOk(link.sim.received.at(-1)!.completion);
    t.same(
      link.sim.audit(TERMINAL.terminalId).book,
      [{ terminalId: TERMINAL.terminalId, count: 2, amount: 2200 }],
      'the offline approval is booked',
    );

    const never = buildPurchase({ amount: 999, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    t.equal(
      (await ask(link, buildReversal(never, ctx))).responseCode,
      '00',
      'a reversal of what the host never saw: 00',
    );
    t.match(link.sim.received.at(-1)!, { mti: '0400', answer: '00', original: `0200${String(never.fields[11])}` });
    t.same(link.sim.audit(TERMINAL.terminalId).book, [{ terminalId: TERMINAL.terminalId, count: 2, amount: 2200 }]);
  },
);

t.test(
  'a void takes its purchase off the book and a reversed void puts it back; a purchase answered by silence stays booked until reversed',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(900);
    const purchase = buildPurchase({ amount: 4000, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    const approved = await ask(link, purchase);
    const voided = buildVoid({ request: purchase, rrn: approved.rrn!, authCode: approved.authCode! }, ctx);
    t.equal((await ask(link, voided)).responseCode, '00');
    t.same(link.sim.audit().book, [{ terminalId: TERMINAL.terminalId, count: 0, amount: 0 }], 'voided');
    t.equal((await ask(link, voided)).responseCode, '12', 'nothing left to void');
    t.match(link.sim.received.at(-1)!.refusal, /no approved purchase/);
    const voidReversal = buildReversal(voided, ctx);
    voidReversal.fields[11] = '000950';
    t.equal((await ask(link, voidReversal)).responseCode, '00');
    t.same(
      link.sim.audit().book,
      [{ terminalId: TERMINAL.terminalId, count: 1, amount: 4000 }],
      'the reversed void put the purchase back',
    );

    link.sim.behave({ mti: '0200', action: 'silent', times: 1 });
    const unanswered = buildPurchase(
      { amount: 600, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' },
      ctx,
    );
    await t.rejects(link.mux.request(unanswered, 100), { code: 'CODPOS_HOST_TIMEOUT' });
    t.match(link.sim.received.at(-1)!, { answer: 'no answer', withheldAnswer: '00' });
    t.same(
      link.sim.audit().book,
      [{ terminalId: TERMINAL.terminalId, count: 2, amount: 4600 }],
      'the issuer approved it: booked',
    );
    t.equal((await ask(link, buildReversal(unanswered, ctx))).responseCode, '00');
    t.same(
      link.sim.audit().book,
      [{ terminalId: TERMINAL.terminalId, count: 1, amount: 4000 }],
      'reversed: off the book',
    );
  },
);

t.test(
  'audit: a reused STAN and a purchase sent before the reversal of an unanswered one are caught; the unreversed one is listed until reversed',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(1000);
    const buy = (amount: number) =>
      buildPurchase({ amount, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    const first = buy(100);
    t.equal((await ask(link, first)).responseCode, '00');
    const again = buy(200);
    again.fields[11] = first.fields[11]!;
    t.equal((await ask(link, again)).responseCode, '00');
    t.same(link.sim.audit().stanReused, [
      { terminalId: TERMINAL.terminalId, mti: '0200', stan: String(first.fields[11]), firstMti: '0200' },
    ]);

    link.sim.behave({ mti: '0200', action: 'silent', times: 1 });
    const lost = buy(300);
    await t.rejects(link.mux.request(lost, 100), { code: 'CODPOS_HOST_TIMEOUT' });
    const tooSoon = buy(400);
    t.equal((await ask(link, tooSoon)).responseCode, '00');
    let audit = link.sim.audit(TERMINAL.terminalId);
    t.same(audit.financialBeforeReversal, [
      { terminalId: TERMINAL.terminalId, stan: String(tooSoon.fields[11]), unreversed: [String(lost.fields[11])] },
    ]);
    t.same(audit.unreversed, [
      { terminalId: TERMINAL.terminalId, stan: String(lost.fields[11]), amount: 300, why: 'no answer' },
    ]);
    t.equal(audit.clean, false);

    const reversal = buildReversal(lost, ctx);
    reversal.fields[11] = String(Number(tooSoon.fields[11]) + 1).padStart(6, '0');
    t.equal((await ask(link, reversal)).responseCode, '00');
    audit = link.sim.audit(TERMINAL.terminalId);
    t.same(audit.unreversed, [], 'reversed: no longer listed');
    t.equal(audit.financialBeforeReversal.length, 1, 'what happened stays on the record');
    t.same(
      link.sim.audit('OTHER001'),
      { stanReused: [], financialBeforeReversal: [], unreversed: [], book: [], pruned: 0, clean: true },
      'another terminal: nothing',
    );
  },
);

t.test(
  'audit control: a terminal that reverses first (here under the original STAN, host.reversalStan "original") and uses each STAN once is clean',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const ctx = context(1100);
    const buy = (amount: number) =>
      buildPurchase({ amount, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    t.equal((await ask(link, buy(100))).responseCode, '00');
    link.sim.behave({ mti: '0200', action: 'silent', times: 1 });
    const silent = buy(200);
    await t.rejects(link.mux.request(silent, 100), { code: 'CODPOS_HOST_TIMEOUT' });
    const reversal = buildReversal(silent, ctx);
    t.equal(reversal.fields[11], silent.fields[11], 'the reversal keeps the STAN it reverses');
    t.equal((await ask(link, reversal)).responseCode, '00');
    t.equal((await ask(link, repeatOf(reversal))).responseCode, '00');
    link.sim.behave({ mti: '0200', action: 'drop', times: 1 });
    const dropped = buy(300);
    await t.rejects(link.mux.request(dropped, 3000), { code: 'CODPOS_HOST_DISCONNECTED' });
    t.equal((await ask(link, buildReversal(dropped, ctx))).responseCode, '00');
    t.equal((await ask(link, buy(400))).responseCode, '00');
    t.same(link.sim.audit(), {
      stanReused: [],
      financialBeforeReversal: [],
      unreversed: [],
      book: [{ terminalId: TERMINAL.terminalId, count: 2, amount: 500 }],
      pruned: 0,
      clean: true,
    });
  },
);

t.test(
  'random faults: each purchase draws its fault from the seed (reproducible); rules come first; reversals can be silenced or dropped',
  async (t) => {
    const faults = { seed: 20261129, rates: { decline05: 0.25, decline91: 0.25, partial: 0.25 } };
    const link = await startLink();
    await link.close();
    const { HostChannel, channelOptionsFromConfig } = await import('../../../runtime/host/channel.js');
    const { HostMux } = await import('../../../runtime/host/mux.js');
    const sim = new AcquirerHostSimulator({ dialect: link.dialect, framing: link.framing, faults });
    const { port } = await sim.start();
    const channel = new HostChannel(
      channelOptionsFromConfig({ ...link.config.host, port }, { reconnect: { initialMs: 20, maxMs: 200 } }),
    );
    const mux = new HostMux(channel, { dialect: link.dialect });
    t.teardown(async () => {
      mux.detach();
      await channel.close();
      await sim.stop();
    });
    await channel.open();
    const ctx = context(1200);
    const expected = new SimFaultDraw(faults);
    const codeOf: Record<string, string> = { decline05: '05', decline91: '91', partial: '10' };
    for (let i = 0; i < 24; i++) {
      if (i === 5) sim.behave({ mti: '0200', action: 'approve', times: 1 });
      const purchase = buildPurchase(
        { amount: 1000 + i, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' },
        ctx,
      );
      const answer = readResponse(await mux.request(purchase, PATIENT_MS), purchase);
      // The rule decided purchase 5 without a draw, so the seed's sequence goes on unshifted.
      const fault = i === 5 ? undefined : expected.purchase();
      t.equal(answer.responseCode, fault ? codeOf[fault] : '00', `purchase ${i}: ${fault ?? 'no fault'}`);
      t.equal(sim.received.at(-1)!.fault, fault);
    }
    t.ok(new Set(sim.received.map((r) => r.fault)).size === 4, 'every outcome came up');

    const lateSim = new AcquirerHostSimulator({
      dialect: link.dialect,
      framing: link.framing,
      faults: { seed: 1, rates: { late: 1 }, lateMs: 30, reversalRates: { drop: 1 } },
    });
    const late = await lateSim.start();
    const lateChannel = new HostChannel(
      channelOptionsFromConfig({ ...link.config.host, port: late.port }, { reconnect: { initialMs: 20, maxMs: 200 } }),
    );
    const lateMux = new HostMux(lateChannel, { dialect: link.dialect });
    t.teardown(async () => {
      lateMux.detach();
      await lateChannel.close();
      await lateSim.stop();
    });
    await lateChannel.open();
    const purchase = buildPurchase({ amount: 100, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    t.equal(readResponse(await lateMux.request(purchase, PATIENT_MS)).responseCode, '00', 'a late fault still answers');
    t.match(lateSim.received.at(-1)!, { fault: 'late', delayMs: 30 });
    await t.rejects(lateMux.request(buildReversal(purchase, ctx), PATIENT_MS), { code: 'CODPOS_HOST_DISCONNECTED' });
    t.match(lateSim.received.at(-1)!, { mti: '0400', fault: 'drop', answer: 'dropped the connection' });
    t.throws(
      () =>
        new AcquirerHostSimulator({
          dialect: link.dialect,
          framing: link.framing,
          faults: { seed: 1, rates: { silent: 1.5 } },
        }),
      { code: 'CODPOS_USAGE_BAD_OPTION', message: /silent=1.5/ },
    );
  },
);
