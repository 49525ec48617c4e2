/**
 * Contactless end to end on the pure side: each shipped virtual contactless card tapped through
 * Entry Point and its kernel, the terminal built as the daemon builds it (kernelTerminal and
 * contactlessCombinations from the validated default config: reader CVM required limit 50.00,
 * contactless transaction limit 500.00, floor limit 0, so every approval is online). Each case
 * asserts the outcome's status, CVM, TVR, CID and ODA; online requests' cryptograms are verified
 * by the acquirer simulator's issuer with the card's contact profile. The card removed early and
 * two cards in the field go through the reader simulator and its driver over the in-memory
 * transport the reader tests use.
 */
import t from 'tap';
import { validateConfig } from '../../../config/load.js';
import { contactlessCombinations } from '../../../config/contactless.js';
import {
  VirtualCard,
  loadCardProfile,
  loadContactlessProfile,
  VirtualContactlessCard,
  contactlessAppletFor,
  virtualContactlessCard,
} from '../../../emv/card/index.js';
import type { ContactlessCardProfile } from '../../../emv/card/contactless-profile.js';
import { loadC2Profile } from '../../../emv/card/contactless-c2-applet.js';
import { EntryPoint } from '../../../emv/contactless/entry-point.js';
import { KernelC2 } from '../../../emv/contactless/kernel-c2.js';
import { KernelC3 } from '../../../emv/contactless/kernel-c3.js';
import type {
  ContactlessCombination,
  ContactlessOutcome,
  ContactlessTarget,
  KernelId,
} from '../../../emv/contactless/types.js';
import { runTransaction } from '../../../emv/kernel/index.js';
import type { HostAnswer, OnlineRequest, TransactionInput } from '../../../emv/kernel/types.js';
import { findTag } from '../../../emv/tlv/index.js';
import { kernelTerminal } from '../../../runtime/payment/terminal.js';
import { arqcVerifies, issuerAuthenticationData } from '../../../runtime/host/sim-issuer.js';
import { memoryPair } from '../../../drivers/transport/memory.js';
import { CardReaderDriver } from '../../../drivers/card-reader/driver.js';
import { CardReaderSim } from '../../../drivers/card-reader/sim.js';

const config = validateConfig({});
const TERMINAL = kernelTerminal(config);
const COMBINATIONS = contactlessCombinations(config);
const PIN_BLOCK = Buffer.from('0412AC89ABCDEF67', 'hex');

const UNDER_CVM_LIMIT = 1500;
const OVER_CVM_LIMIT = 6000;
const OVER_CONTACTLESS_LIMIT = 60000;

/** Relay resistance: the Mastercard-style cards take 2.0 ms to answer (their limits: 1.0 to 3.0 ms) plus 3.6 ms on the air. */
const RELAY_EXCHANGE_US = 3600 + 2000;

/** The reader's microsecond clock for kernel C-2, advanced only by EXCHANGE RELAY RESISTANCE DATA. */
const clock = { now: 5_000_000 };

function transaction(amount: number): TransactionInput {
  return {
    amount,
    currencyCode: '0840',
    transactionType: '00',
    date: new Date('2026-11-29T10:15:00Z'),
    sequenceCounter: 1,
    unpredictableNumber: Buffer.from('12345678', 'hex'),
  };
}

function entryPoint(combinations: ContactlessCombination[] = COMBINATIONS): EntryPoint {
  const kernels = new Map<KernelId, KernelC2 | KernelC3>([
    [2, new KernelC2({ clockMicros: () => clock.now })],
    [3, new KernelC3()],
  ]);
  return new EntryPoint({ kernels, combinations, terminal: TERMINAL });
}

/** The card in the field as a target whose relay resistance exchange takes RELAY_EXCHANGE_US; every command's INS kept. */
function timedTarget(card: VirtualContactlessCard, sent: number[] = []): ContactlessTarget {
  return {
    ...card.asTarget(),
    transmit: (apdu) => {
      sent.push(apdu[1]!);
      if (apdu[1] === 0xea) clock.now += RELAY_EXCHANGE_US;
      return card.transmit(apdu);
    },
  };
}

interface Tap {
  outcome: ContactlessOutcome;
  pinRequests: number;
  sent: number[];
  card: VirtualContactlessCard;
}

async function tap(card: VirtualContactlessCard | string, amount: number, ep = entryPoint()): Promise<Tap> {
  const physical = typeof card === 'string' ? virtualContactlessCard(card) : card;
  const sent: number[] = [];
  let pinRequests = 0;
  const outcome = await ep.run(timedTarget(physical, sent), transaction(amount), {
    requestOnlinePin: () => {
      pinRequests++;
      return PIN_BLOCK;
    },
  });
  return { outcome, pinRequests, sent, card: physical };
}

const hex = (b: Buffer | undefined) => b?.toString('hex').toUpperCase();

/** The contact profile's application of a contactless card: the keys the issuer knows. */
function issuerApp(name: string) {
  const contact = loadContactlessProfile(name).contactProfile;
  if (!contact) throw new Error(`${name} names no contact profile`);
  return loadCardProfile(contact).applications[0]!;
}

t.test('the terminal is the daemon default: CVM limit 50.00, contactless limit 500.00, floor 0', (t) => {
  t.same(
    COMBINATIONS.map((c) => [c.aid, c.kernelId, c.cvmRequiredLimit, c.transactionLimit, c.floorLimit]),
    [
      ['A0000000031010', 3, 5000, 50000, 0],
      ['A0000000041010', 2, 5000, 50000, 0],
    ],
  );
  t.end();
});

t.test('cl-visa-fdda under the CVM limit: the floor limit 0 asks online, ARQC, no CVM', async (t) => {
  const { outcome, pinRequests } = await tap('cl-visa-fdda', UNDER_CVM_LIMIT);
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.kernelId, 3);
  t.equal(outcome.cvm, 'no-cvm');
  t.equal(outcome.cid, 0x80, 'ARQC');
  t.equal(hex(outcome.tvr), '0000000000');
  t.equal(outcome.oda, 'none', 'no fDDA on an online qVSDC transaction');
  t.equal(pinRequests, 0);
  t.equal(outcome.online?.pan, '4761739001010119');
  t.ok(arqcVerifies(issuerApp('cl-visa-fdda'), outcome.dataRecord), 'the issuer verifies the ARQC of DE55');
  t.ok(arqcVerifies(issuerApp('cl-visa-fdda'), outcome.online!.de55), 'the online request carries the same');
});

t.test('cl-visa-fdda over the CVM limit: ARQC with online PIN asked through the PIN pad', async (t) => {
  const { outcome, pinRequests } = await tap('cl-visa-fdda', OVER_CVM_LIMIT);
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cvm, 'online-pin');
  t.equal(outcome.cid, 0x80);
  t.equal(hex(outcome.tvr), '0000040000', 'TVR: online PIN entered');
  t.equal(outcome.oda, 'none');
  t.equal(pinRequests, 1);
  t.same(outcome.online?.pinBlock, PIN_BLOCK);
  t.ok(arqcVerifies(issuerApp('cl-visa-fdda'), outcome.dataRecord));
});

t.test('cl-mc-cda-rrp under the CVM limit: floor limit exceeded, ARQC with CDA, no CVM', async (t) => {
  const { outcome, pinRequests, sent } = await tap('cl-mc-cda-rrp', UNDER_CVM_LIMIT);
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.kernelId, 2);
  t.equal(outcome.cvm, 'no-cvm');
  t.equal(outcome.cid, 0x80);
  t.equal(hex(outcome.tvr), '0000008002', 'TVR: floor limit exceeded; relay resistance performed');
  t.equal(outcome.oda, 'CDA');
  t.equal(outcome.odaFailed, false);
  t.equal(pinRequests, 0);
  t.equal(sent.filter((ins) => ins === 0xea).length, 1, 'one relay resistance exchange');
  t.ok(arqcVerifies(issuerApp('cl-mc-cda-rrp'), outcome.dataRecord));
});

t.test('cl-mc-cda-rrp over the CVM limit: online PIN by the card CVM list', async (t) => {
  const { outcome, pinRequests } = await tap('cl-mc-cda-rrp', OVER_CVM_LIMIT);
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cvm, 'online-pin');
  t.equal(outcome.cid, 0x80);
  t.equal(hex(outcome.tvr), '0000048002', 'TVR: online PIN entered, floor limit exceeded, relay resistance performed');
  t.equal(outcome.oda, 'CDA');
  t.equal(outcome.odaFailed, false);
  t.equal(pinRequests, 1);
  t.ok(arqcVerifies(issuerApp('cl-mc-cda-rrp'), outcome.dataRecord));
});

t.test(
  'over the contactless limit: try another interface before any APDU, then the chip approves online',
  async (t) => {
    for (const name of ['cl-visa-fdda', 'cl-mc-cda-rrp']) {
      const { outcome, sent, card } = await tap(name, OVER_CONTACTLESS_LIMIT);
      t.equal(outcome.status, 'try-another-interface', `${name}: ${outcome.reason}`);
      t.equal(outcome.alternateInterface, 'contact-chip');
      t.equal(outcome.uiRequestOnOutcome?.message, 'insert-card');
      t.equal(outcome.cvm, 'n/a');
      t.same(sent, [], `${name}: the card was not spoken to`);
      t.same(card.log, []);

      const contactName = card.profile.contactProfile!;
      const chip = new VirtualCard(loadCardProfile(contactName));
      chip.powerOn();
      const requests: OnlineRequest[] = [];
      const result = await runTransaction({
        transmit: (apdu) => chip.transmit(apdu),
        terminal: TERMINAL,
        transaction: transaction(OVER_CONTACTLESS_LIMIT),
        callbacks: {
          requestOnlinePin: () => PIN_BLOCK,
          goOnline: (request) => {
            requests.push(request);
            const app = chip.profile.applications[0]!;
            const arqc = findTag(request.de55, 0x9f26)!.value;
            const atc = findTag(request.de55, 0x9f36)!.value;
            return {
              result: 'approved',
              responseCode: '00',
              issuerAuthenticationData: issuerAuthenticationData(app, { arqc, atc }, '00'),
            };
          },
          random: () => 99,
        },
      });
      t.equal(result.outcome, 'approved', `${contactName}: ${result.reason}`);
      t.equal(result.online, true, 'over the floor limit: online');
      t.equal(requests.length, 1);
      t.ok(arqcVerifies(chip.profile.applications[0]!, requests[0]!.de55), `${contactName}: the ARQC verifies`);
      t.equal(result.cid, 0x40, 'TC after the issuer approved');
    }
  },
);

t.test('at the contactless limit the combination is not allowed; one unit under, the card is read', async (t) => {
  const at = await tap('cl-visa-fdda', 50000);
  t.equal(at.outcome.status, 'try-another-interface', at.outcome.reason);
  t.same(at.sent, []);
  const under = await tap('cl-visa-fdda', 49999);
  t.equal(under.outcome.status, 'online-request', under.outcome.reason);
  t.equal(under.outcome.cvm, 'online-pin');
});

t.test('ODA failure: a bad fDDA signature goes online as the CTQ asks; a bad CDA signature declines', async (t) => {
  // fDDA is checked only on a TC, and with the default floor limit 0 the reader asks every
  // Visa-style card online: a reader floor limit of 50.00 lets the card offer its TC.
  const offlineReader = COMBINATIONS.map((c) => (c.kernelId === 3 ? { ...c, floorLimit: 5000 } : c));
  const visa = await tap('cl-visa-bad-fdda', UNDER_CVM_LIMIT, entryPoint(offlineReader));
  t.equal(visa.outcome.status, 'online-request', visa.outcome.reason);
  t.equal(visa.outcome.oda, 'fDDA');
  t.equal(visa.outcome.odaFailed, true);
  t.equal(visa.outcome.cid, 0x40, 'the card offered a TC the reader could not verify');
  t.equal(visa.outcome.cvm, 'no-cvm');
  t.equal(hex(visa.outcome.tvr), '0800000000', 'TVR: DDA failed (byte 1 bit 4)');

  const mc = await tap('cl-mc-bad-cda', UNDER_CVM_LIMIT);
  t.equal(mc.outcome.status, 'declined', mc.outcome.reason);
  t.equal(mc.outcome.oda, 'CDA');
  t.equal(mc.outcome.odaFailed, true);
  t.equal(mc.outcome.cid, 0x80, 'the card answered an ARQC whose signature failed');
  t.equal(mc.outcome.cvm, 'no-cvm');
  t.equal(
    hex(mc.outcome.tvr),
    '0400008002',
    'TVR: CDA failed (byte 1 bit 3), floor limit exceeded, relay resistance performed',
  );
});

t.test('cl-visa-fdda under a reader floor limit: offline approved with fDDA', async (t) => {
  const offlineReader = COMBINATIONS.map((c) => (c.kernelId === 3 ? { ...c, floorLimit: 5000 } : c));
  const { outcome } = await tap('cl-visa-fdda', UNDER_CVM_LIMIT, entryPoint(offlineReader));
  t.equal(outcome.status, 'approved', outcome.reason);
  t.equal(outcome.cid, 0x40);
  t.equal(outcome.oda, 'fDDA');
  t.notOk(outcome.odaFailed, 'fDDA verified');
  t.equal(outcome.cvm, 'no-cvm');
  t.equal(hex(outcome.tvr), '0000000000');
});

/** cl-visa-fdda with issuer update processing on both sides: the card's CTQ and the reader's TTQ. */
function issuerUpdateCard(): VirtualContactlessCard {
  const profile: ContactlessCardProfile = loadContactlessProfile('cl-visa-fdda');
  (profile.applications[0] as { ctq?: string }).ctq = '2040';
  return new VirtualContactlessCard(profile, (application) => contactlessAppletFor(application, profile.form));
}
const issuerUpdateCombinations = () => COMBINATIONS.map((c) => (c.kernelId === 3 ? { ...c, ttq: '3600C000' } : c));

async function onlineThenAnswer(answer: (request: OnlineRequest) => HostAnswer) {
  const card = issuerUpdateCard();
  const ep = entryPoint(issuerUpdateCombinations());
  const first = await tap(card, UNDER_CVM_LIMIT, ep);
  const request = first.outcome.online!;
  const resumed = await ep.resume(answer(request), timedTarget(card));
  return { first: first.outcome, request, resumed, ep, card };
}

t.test('online approved and declined: DE55 verified by the issuer, the answer given back to the card', async (t) => {
  const app = issuerApp('cl-visa-fdda');
  const cryptogram = (request: OnlineRequest) => ({
    arqc: findTag(request.de55, 0x9f26)!.value,
    atc: findTag(request.de55, 0x9f36)!.value,
  });

  const approved = await onlineThenAnswer((request) => ({
    result: 'approved',
    responseCode: '00',
    issuerAuthenticationData: issuerAuthenticationData(app, cryptogram(request), '00'),
  }));
  t.equal(approved.first.status, 'online-request');
  t.equal(approved.first.onlineResponseData, 'emv-data', 'the card wants the issuer answer');
  t.equal(approved.first.start, 'B');
  t.ok(arqcVerifies(app, approved.request.de55), 'the issuer verifies the ARQC');
  t.equal(approved.resumed.status, 'approved', approved.resumed.reason);
  t.equal(hex(approved.resumed.tvr), '0000000000', 'the card accepted the ARPC');
  t.equal(approved.resumed.cid, undefined, 'qVSDC: no second cryptogram, the issuer decides');

  const declined = await onlineThenAnswer((request) => ({
    result: 'declined',
    responseCode: '05',
    issuerAuthenticationData: issuerAuthenticationData(app, cryptogram(request), '05'),
  }));
  t.ok(arqcVerifies(app, declined.request.de55));
  t.equal(declined.resumed.status, 'declined', declined.resumed.reason);
  t.equal(declined.resumed.uiRequestOnOutcome?.message, 'declined');
  t.equal(declined.resumed.cvm, 'no-cvm');
  t.equal(declined.resumed.reason, 'declined by the issuer');
  t.equal(hex(declined.resumed.tvr), '0000000000', 'the ARPC for 05 verified too');
  t.equal(declined.resumed.cid, undefined, 'qVSDC: no second cryptogram, the issuer decides');
  await t.rejects(
    declined.ep.resume({ result: 'approved' }, timedTarget(declined.card)),
    {
      code: 'CODPOS_EMV_CL_NO_RESTART',
    },
    'the flow has ended: no second answer is taken',
  );

  // The Mastercard-style card asks no issuer answer back: the online request is the kernel's end.
  const mc = await tap('cl-mc-cda-rrp', UNDER_CVM_LIMIT);
  t.equal(mc.outcome.onlineResponseData, 'none');
  await t.rejects(entryPoint().resume({ result: 'approved' }, timedTarget(mc.card)), {
    code: 'CODPOS_EMV_CL_NO_RESTART',
  });
});

t.test('a phone with its owner verified, over the CVM limit: confirmation code verified, no PIN', async (t) => {
  const { outcome, pinRequests } = await tap('cl-mc-phone', OVER_CVM_LIMIT);
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.kernelId, 2);
  t.equal(outcome.cvm, 'confirmation-code-verified');
  t.equal(outcome.cid, 0x80);
  t.equal(outcome.oda, 'CDA');
  t.equal(outcome.odaFailed, false);
  t.equal(hex(outcome.tvr), '0000008002');
  t.equal(pinRequests, 0);
  t.ok(
    arqcVerifies(loadC2Profile('cl-mc-phone').applications[0]!, outcome.dataRecord),
    'the ARQC verifies with the phone keys',
  );
});

t.test('cl-visa-contact: GPO 6984 asks for the chip, try another interface', async (t) => {
  const { outcome, sent } = await tap('cl-visa-contact', UNDER_CVM_LIMIT);
  t.equal(outcome.status, 'try-another-interface', outcome.reason);
  t.equal(outcome.alternateInterface, 'contact-chip');
  t.equal(outcome.cvm, 'n/a');
  t.equal(outcome.cid, undefined, 'no cryptogram');
  t.same(sent, [0xa4, 0xa4, 0xa8], 'SELECT PPSE, SELECT AID, GPO: nothing after the refusal');
});

async function readerPair() {
  const { host, device } = memoryPair('card reader');
  const sim = new CardReaderSim(device);
  const driver = new CardReaderDriver(host, { apduTimeoutMs: 5000 });
  await sim.start();
  await driver.start();
  return { sim, driver };
}

t.test('card removed early through the reader: try again at B, tapped again: the outcome', async (t) => {
  const { sim, driver } = await readerPair();
  const card = virtualContactlessCard('cl-visa-fdda');
  let pullAtGpo = true;
  // The card leaves the field while it answers GPO: the reader loses the answer.
  const field = {
    type: card.type,
    uid: card.uid,
    handle: (apdu: Buffer) => {
      if (pullAtGpo && apdu[1] === 0xa8) {
        pullAtGpo = false;
        void sim.removeFromField();
      }
      return card.handle(apdu);
    },
  };
  await driver.fieldOn();
  await sim.tap(field);
  const target = await driver.poll(1000);
  if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
  const ep = entryPoint();
  const first = await ep.run(target, transaction(UNDER_CVM_LIMIT));
  t.equal(first.status, 'try-again', first.reason);
  t.equal(first.start, 'B');
  t.equal(first.uiRequestOnRestart?.message, 'present-card');
  t.equal(first.cid, undefined, 'no cryptogram');

  await sim.tap(field);
  const again = await driver.poll(1000);
  if (typeof again === 'string') throw new Error(`expected a card, got ${again}`);
  const second = await ep.retry(again);
  t.equal(second.status, 'online-request', second.reason);
  t.equal(second.cvm, 'no-cvm');
  t.equal(second.cid, 0x80);
  t.equal(hex(second.tvr), '0000000000');
  t.ok(arqcVerifies(issuerApp('cl-visa-fdda'), second.dataRecord));
  await driver.fieldOff();
});

t.test(
  'two cards in the field: the poll answers collision and Entry Point is not run; one card: the outcome',
  async (t) => {
    const { sim, driver } = await readerPair();
    const visa = virtualContactlessCard('cl-visa-fdda');
    const other = virtualContactlessCard('cl-mc-cda-rrp');
    await driver.fieldOn();
    await sim.tapTwo(visa, other);
    t.equal(await driver.poll(1000), 'collision');
    t.same(visa.log, [], 'no APDU reached either card');
    t.same(other.log, []);

    await sim.removeFromField();
    await sim.tap(visa);
    const target = await driver.poll(1000);
    if (typeof target === 'string') throw new Error(`expected a card, got ${target}`);
    const { status, cvm, cid, tvr } = await entryPoint().run(target, transaction(UNDER_CVM_LIMIT));
    t.same(
      { status, cvm, cid, tvr: hex(tvr) },
      { status: 'online-request', cvm: 'no-cvm', cid: 0x80, tvr: '0000000000' },
    );
    t.equal(visa.log[0], '00A40400', 'the one card was selected');
    t.same(other.log, []);
    await driver.fieldOff();
  },
);
