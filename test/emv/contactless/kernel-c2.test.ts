/**
 * The Mastercard-style kernel (Book C-2) run directly against the virtual M/Chip applet, the
 * test selecting the AID itself for the FCI as Entry Point would: offline approval with CDA,
 * online request with an ARQC the acquirer simulator's issuer verifies, CVM by the limit and
 * the card's list, a phone's own CVM, the relay resistance protocol timed with a manual clock,
 * a bad CDA signature, mag-stripe mode refused, a card that leaves the field.
 */
import t from 'tap';
import { C2Applet, loadC2Profile, type C2ApplicationProfile } from '../../../emv/card/contactless-c2-applet.js';
import { KernelC2, type KernelC2Options } from '../../../emv/contactless/kernel-c2.js';
import type {
  ContactlessCombination,
  ContactlessOutcome,
  PreProcessingIndicators,
} from '../../../emv/contactless/types.js';
import { commandApdu } from '../../../emv/kernel/apdu.js';
import { tvrBitsOf } from '../../../emv/kernel/tvr.js';
import type { TerminalConfig } from '../../../emv/kernel/types.js';
import { findTag } from '../../../emv/tlv/index.js';
import { arqcVerifies } from '../../../runtime/host/sim-issuer.js';
import { terminal, transaction } from '../kernel/fixtures.js';

const AID = 'A0000000041010';
const PIN_BLOCK = Buffer.from('0412AC89ABCDEF67', 'hex');
/** Relay resistance: the card's own timings are min 1.0 ms, max 3.0 ms; both transmission times 1.8 ms. */
const TRANSMISSION_US = 3600;
const QUICK_US = TRANSMISSION_US + 2000; // 2.0 ms of processing: within the card's limits
const SLOW_US = TRANSMISSION_US + 4500; // 4.5 ms: above 3.0 ms + 1.0 ms of grace

interface TapOptions {
  profile?: string;
  change?: (app: C2ApplicationProfile) => void;
  combination?: Partial<ContactlessCombination>;
  indicators?: Partial<PreProcessingIndicators>;
  terminal?: Partial<TerminalConfig>;
  /** Microseconds each EXCHANGE RELAY RESISTANCE DATA takes on the manual clock, in order (the last repeats). */
  relayTimes?: number[];
  /** Changes a response before the kernel sees it (a relay, a card pulled away). */
  intercept?: (command: Buffer, response: Buffer) => Buffer;
  pin?: Buffer | null;
  kernel?: Omit<KernelC2Options, 'clockMicros'>;
  /** The same card and reader again (a second tap): the kernel keeps its torn transaction log. */
  again?: { applet: C2Applet; kernel: KernelC2 };
  amount?: number;
  date?: Date;
}

/** The reader's timer: one for every kernel, advanced by the transmit of the tap in progress. */
const clock = { now: 1_000_000 };

async function tap(options: TapOptions = {}) {
  const profile = loadC2Profile(options.profile ?? 'cl-mc-cda-rrp');
  const app = profile.applications[0]!;
  options.change?.(app);
  const applet = options.again?.applet ?? new C2Applet(app);
  const selected = applet.handle(commandApdu(0x00, 0xa4, 0x04, 0x00, Buffer.from(AID, 'hex'), 0x00));
  const fci = selected.subarray(0, selected.length - 2);
  const relayTimes = [...(options.relayTimes ?? [QUICK_US])];
  const kernel = options.again?.kernel ?? new KernelC2({ ...options.kernel, clockMicros: () => clock.now });
  const combination: ContactlessCombination = {
    aid: AID,
    kernelId: 2,
    cvmRequiredLimit: 5000,
    tacDenial: '0000000000',
    tacOnline: '0000000000',
    tacDefault: '0000000000',
    applicationVersion: '0002',
    relayResistance: { minGracePeriod: 5, maxGracePeriod: 10, accuracyThreshold: 300, mismatchThreshold: 30 },
    ...options.combination,
  };
  const identities: string[] = [];
  const pinRequests: string[] = [];
  const outcome: ContactlessOutcome = await kernel.activate({
    transmit: (apdu) => {
      if (apdu[1] === 0xea) clock.now += relayTimes.length > 1 ? relayTimes.shift()! : relayTimes[0]!;
      const response = applet.handle(apdu);
      return options.intercept ? options.intercept(apdu, response) : response;
    },
    combination,
    indicators: {
      statusCheckRequested: false,
      contactlessApplicationNotAllowed: false,
      zeroAmount: false,
      cvmRequiredLimitExceeded: false,
      floorLimitExceeded: false,
      ...options.indicators,
    },
    fci,
    terminal: terminal(options.terminal),
    transaction: transaction({ amount: options.amount ?? 1500, ...(options.date ? { date: options.date } : {}) }),
    callbacks: {
      requestOnlinePin: (pan) => {
        pinRequests.push(pan);
        return options.pin === undefined ? PIN_BLOCK : options.pin;
      },
      cardRead: (card) => identities.push(card.pan),
    },
  });
  return { outcome, app: applet.profile, applet, kernel, identities, pinRequests };
}

const hex = (b: Buffer | undefined) => b?.toString('hex').toUpperCase();
const tagOf = (o: ContactlessOutcome, tag: number) => hex(findTag(o.dataRecord, tag)?.value);

t.test('a card under the CVM limit: CDA verified, offline approved with a TC, no CVM', async (t) => {
  const { outcome, app, applet, identities } = await tap();
  t.equal(outcome.status, 'approved', outcome.reason);
  t.equal(outcome.kernelId, 2);
  t.equal(outcome.cid, 0x40, 'CID: TC');
  t.equal(outcome.oda, 'CDA');
  t.equal(outcome.odaFailed, false);
  t.equal(hex(outcome.tvr), '0000000002', 'TVR: nothing failed; byte 5 says relay resistance performed');
  t.equal(outcome.cvm, 'no-cvm');
  t.equal(hex(outcome.cvmResults), '1F0302', 'the list rule "no CVM required, if the terminal supports it" succeeded');
  t.equal(outcome.receipt, true);
  t.same(identities, [app.pan], 'the card was reported once read');
  t.ok(outcome.cryptogram && outcome.cryptogram.length === 8, 'the TC recovered from the CDA signature');
  t.equal(hex(outcome.cryptogram), tagOf(outcome, 0x9f26), 'and in the data record');
  t.ok(arqcVerifies(app, outcome.dataRecord), 'the issuer verifies the TC over the data record');
  t.same(
    applet.log,
    [
      'SELECT',
      'GET PROCESSING OPTIONS',
      'EXCHANGE RELAY RESISTANCE DATA',
      'READ RECORD',
      'READ RECORD',
      'READ RECORD',
      'READ RECORD',
      'GENERATE AC',
    ],
    'one exchange, the four records of the AFL, one GENERATE AC',
  );
});

t.test('online request: the ARQC in the data record verifies at the acquirer simulator issuer', async (t) => {
  const { outcome, app } = await tap({ indicators: { floorLimitExceeded: true } });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cid, 0x80, 'CID: ARQC');
  t.equal(hex(outcome.tvr), '0000008002', 'TVR: floor limit exceeded, relay resistance performed');
  const online = outcome.online!;
  t.equal(online.pan, app.pan);
  t.equal(online.panSequenceNumber, '01');
  t.equal(online.expiry, '3012');
  t.equal(online.track2, `${app.pan}=30122011143800000`);
  t.equal(online.pinBlock, undefined, 'no PIN under the CVM limit');
  t.ok(arqcVerifies(app, online.de55), 'the simulator issuer verifies the ARQC from DE55');
  const tampered = online.de55.map((item) =>
    item.tag === 0x9f02 ? { tag: item.tag, value: Buffer.from('000000009999', 'hex') } : item,
  );
  t.notOk(arqcVerifies(app, tampered), 'and would not over another amount');
  for (const tag of [0x9f26, 0x9f27, 0x9f10, 0x9f37, 0x9f36, 0x95, 0x9a, 0x9c, 0x9f02, 0x5f2a, 0x82, 0x9f1a])
    t.ok(findTag(online.de55, tag), `DE55 has ${tag.toString(16).toUpperCase()}`);
  for (const tag of [0x9f03, 0x9f33, 0x9f34, 0x9f35, 0x84, 0x9f09])
    t.ok(findTag(online.de55, tag), `DE55 has ${tag.toString(16).toUpperCase()}`);
  t.equal(tagOf(outcome, 0x84), AID);
  t.notOk(findTag(online.de55, 0x5a) ?? findTag(online.de55, 0x57), 'no PAN or track data in DE55');
});

t.test('above the CVM required limit: online PIN by the card list when a PIN pad is present', async (t) => {
  const { outcome, pinRequests, app } = await tap({ indicators: { cvmRequiredLimitExceeded: true } });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.cvm, 'online-pin');
  t.equal(hex(outcome.cvmResults), '420300', 'rule 42 03: online PIN, result unknown until the issuer checks it');
  t.ok(tvrBitsOf(outcome.tvr!).includes('onlinePinEntered'));
  t.equal(outcome.cid, 0x80, 'an online PIN forces the ARQC');
  t.same(pinRequests, [app.pan], 'the PIN is asked once');
  t.same(outcome.online!.pinBlock, PIN_BLOCK);
});

t.test('above the CVM required limit without a PIN pad: signature, approved offline', async (t) => {
  const { outcome, pinRequests } = await tap({
    indicators: { cvmRequiredLimitExceeded: true },
    terminal: { pinPadPresent: false },
  });
  t.equal(outcome.status, 'approved', outcome.reason);
  t.equal(outcome.cvm, 'signature');
  t.equal(hex(outcome.cvmResults), '1E0300');
  t.equal(hex(outcome.tvr), '0000000002');
  t.same(pinRequests, []);
});

t.test('above the CVM limit with no CVM the terminal and the list share: CVM failed in the TVR', async (t) => {
  const { outcome } = await tap({
    indicators: { cvmRequiredLimitExceeded: true },
    terminal: { pinPadPresent: false, capabilities: 'E008C8' },
    combination: { tacOnline: '0000800000' },
  });
  t.equal(hex(outcome.cvmResults), '3F0001');
  t.ok(tvrBitsOf(outcome.tvr!).includes('cardholderVerificationNotSuccessful'));
  t.equal(outcome.status, 'online-request', 'the TAC online sends a failed CVM to the issuer');
});

t.test('a phone: its own cardholder verification above the limit, no CVM under it', async (t) => {
  const above = await tap({ profile: 'cl-mc-phone', indicators: { cvmRequiredLimitExceeded: true } });
  t.equal(above.outcome.status, 'approved', above.outcome.reason);
  t.equal(above.outcome.cvm, 'confirmation-code-verified');
  t.equal(hex(above.outcome.cvmResults), '010002', 'CVM results: consumer device CVM, successful');
  t.equal(tagOf(above.outcome, 0xdf4b), '001000', 'the phone says it verified its owner (DF4B)');
  t.same(above.pinRequests, [], 'no PIN asked despite the PIN pad');
  t.ok(arqcVerifies(above.app, above.outcome.dataRecord));

  const under = await tap({ profile: 'cl-mc-phone' });
  t.equal(under.outcome.cvm, 'no-cvm');
  t.equal(hex(under.outcome.cvmResults), '3F0002');

  const notAccepted = await tap({
    profile: 'cl-mc-phone',
    indicators: { cvmRequiredLimitExceeded: true },
    kernel: { onDeviceCvmSupported: false },
  });
  t.equal(notAccepted.outcome.cvm, 'online-pin', "a kernel that does not accept the phone's CVM uses its CVM list");
});

t.test('relay resistance within the grace period, retried once when too slow, threshold exceeded', async (t) => {
  const retried = await tap({ relayTimes: [SLOW_US, QUICK_US] });
  t.equal(retried.outcome.status, 'approved', retried.outcome.reason);
  t.equal(hex(retried.outcome.tvr), '0000000002', 'the second exchange was in time');
  t.equal(retried.applet.log.filter((c) => c === 'EXCHANGE RELAY RESISTANCE DATA').length, 2);

  const inaccurate = await tap({
    combination: {
      relayResistance: { minGracePeriod: 5, maxGracePeriod: 10, accuracyThreshold: 5, mismatchThreshold: 30 },
    },
  });
  t.equal(hex(inaccurate.outcome.tvr), '000000000A', 'TVR B5b4: 2.0 ms is 1.0 ms over the minimum, above 0.5 ms');

  const mismatched = await tap({
    change: (app) => (app.relayResistance!.estimatedTransmissionTime = 100),
    relayTimes: [TRANSMISSION_US + 2000],
  });
  t.equal(
    hex(mismatched.outcome.tvr),
    '000000000A',
    "TVR B5b4: the card's 10 ms transmission estimate is under 30% of the terminal's",
  );
});

t.test('relay resistance outside the grace period: TVR time limits exceeded, then the TACs decide', async (t) => {
  const online = await tap({ relayTimes: [SLOW_US], combination: { tacOnline: '0000000004' } });
  t.equal(hex(online.outcome.tvr), '0000000006', 'TVR B5b3 time limits exceeded, relay resistance performed');
  t.equal(online.applet.log.filter((c) => c === 'EXCHANGE RELAY RESISTANCE DATA').length, 3, 'tried three times');
  t.equal(online.outcome.status, 'online-request', 'TAC online on B5b3: ARQC');

  const denied = await tap({ relayTimes: [SLOW_US], combination: { tacDenial: '0000000004' } });
  t.equal(denied.outcome.status, 'declined', 'TAC denial on B5b3: AAC');
  t.equal(denied.outcome.cid, 0x00);

  const tooFast = await tap({ relayTimes: [TRANSMISSION_US] });
  t.equal(tooFast.outcome.status, 'end-application', 'no processing time at all: the card data cannot be true');
  t.match(tooFast.outcome.reason, /faster than its own minimum/);

  const without = await tap({ combination: { relayResistance: undefined } });
  t.equal(hex(without.outcome.tvr), '0000000000', 'a terminal without relay resistance leaves B5 alone');
  t.notOk(without.applet.log.includes('EXCHANGE RELAY RESISTANCE DATA'));
  const cardWithout = await tap({ change: (app) => (app.aip = '1980') });
  t.equal(
    hex(cardWithout.outcome.tvr),
    '0400000001',
    'a card without it: relay resistance not performed (and CDA failed: the AIP is in the signed static data)',
  );
  t.notOk(cardWithout.applet.log.includes('EXCHANGE RELAY RESISTANCE DATA'));
});

t.test('a relay that changes the device entropy is caught by the CDA signature: declined', async (t) => {
  const { outcome } = await tap({
    intercept: (command, response) => {
      if (command[1] !== 0xea) return response;
      const changed = Buffer.from(response);
      changed[2]! ^= 0xff;
      return changed;
    },
  });
  t.equal(outcome.status, 'declined');
  t.match(outcome.reason, /relay resistance data signed by the card differ/);
  t.ok(tvrBitsOf(outcome.tvr!).includes('cdaFailed'));
});

t.test('a CDA signature that does not verify: declined with TVR CDA failed', async (t) => {
  const { outcome } = await tap({ profile: 'cl-mc-bad-cda' });
  t.equal(outcome.status, 'declined', outcome.reason);
  t.equal(outcome.oda, 'CDA');
  t.equal(outcome.odaFailed, true);
  t.equal(hex(outcome.tvr), '0400000002', 'TVR B1b3 CDA failed');
  t.equal(outcome.cryptogram, undefined, 'no cryptogram is taken from a signature that failed');
  t.match(outcome.reason, /CDA failed/);
});

t.test('mag-stripe mode (no EMV mode in the AIP) is refused unless the combination allows it', async (t) => {
  const refused = await tap({ change: (app) => (app.aip = '1900') });
  t.equal(refused.outcome.status, 'try-another-interface');
  t.equal(refused.outcome.alternateInterface, 'contact-chip');
  t.same(refused.applet.log, ['SELECT', 'GET PROCESSING OPTIONS'], 'nothing read after the AIP');

  const allowed = await tap({ change: (app) => (app.aip = '1900'), combination: { magStripeModeSupported: true } });
  t.equal(allowed.outcome.status, 'end-application', 'allowed but not implemented by this kernel: it says so');
  t.match(allowed.outcome.reason, /does not implement/);
});

t.test('the card leaves the field mid-transaction: try again, present the card, restart at B', async (t) => {
  for (const ins of [0xb2, 0xae, 0xea]) {
    const { outcome } = await tap({
      intercept: (command, response) => {
        if (command[1] === ins) throw new Error('no card in the field');
        return response;
      },
    });
    const at = ins.toString(16).toUpperCase();
    t.equal(outcome.status, 'try-again', `removed at ${at}`);
    t.equal(outcome.start, 'B');
    t.same(outcome.uiRequestOnRestart, { message: 'present-card', status: 'ready-to-read' });
    t.equal(outcome.cryptogram, undefined);
  }
});

t.test('no CA key for the card: CDA failed before GENERATE AC, the IAC online sends it online', async (t) => {
  const { outcome } = await tap({ terminal: { caKeys: [] } });
  t.equal(outcome.status, 'online-request', outcome.reason);
  t.equal(outcome.odaFailed, true);
  t.ok(tvrBitsOf(outcome.tvr!).includes('cdaFailed'));
});

t.test(
  'a torn transaction: the card left during GENERATE AC; the next tap recovers its AC with RECOVER AC',
  async (t) => {
    const tearAtGenerateAc = (command: Buffer, response: Buffer) => {
      if (command[1] === 0xae) throw new Error('card left the field');
      return response;
    };
    const first = await tap({ indicators: { floorLimitExceeded: true }, intercept: tearAtGenerateAc });
    t.equal(first.outcome.status, 'try-again');
    t.equal(first.kernel.tornRecords, 1, 'the torn transaction is logged');
    const atcOfTornAc = first.applet.currentAtc;

    const again = await tap({ again: first });
    t.equal(again.outcome.status, 'online-request', again.outcome.reason);
    t.match(again.outcome.reason, /torn transaction, recovered/);
    t.same(again.applet.log.slice(-2), ['READ RECORD', 'RECOVER AC'], 'RECOVER AC instead of a second GENERATE AC');
    t.equal(again.kernel.tornRecords, 0, 'the record is used up');
    t.equal(
      tagOf(again.outcome, 0x9f36),
      atcOfTornAc.toString(16).toUpperCase().padStart(4, '0'),
      'the AC of the torn ATC',
    );
    t.equal(again.outcome.oda, 'CDA');
    t.equal(again.outcome.odaFailed, false, "the CDA signature verified over the torn transaction's data");
    t.equal(hex(again.outcome.tvr), '0000008002', 'the TVR the torn AC was computed over');
    t.ok(
      arqcVerifies(again.app, again.outcome.online!.de55),
      "the issuer verifies it: DE55 carries the torn transaction's data",
    );

    const third = await tap({ again: first });
    t.equal(third.outcome.status, 'approved', 'the tap after that is a new transaction');
    t.equal(third.applet.log.at(-1), 'GENERATE AC');
  },
);

t.test('a torn record the card does not recognise, or an expired one, leads to a normal GENERATE AC', async (t) => {
  const tear = (command: Buffer, response: Buffer) => {
    if (command[1] === 0xae) throw new Error('card left the field');
    return response;
  };
  const first = await tap({ intercept: tear });
  t.equal(first.kernel.tornRecords, 1);
  // The card gave its AC to another terminal since: its last GENERATE AC is another one.
  const other = new C2Applet(first.applet.profile);
  const fci = other.handle(commandApdu(0x00, 0xa4, 0x04, 0x00, Buffer.from(AID, 'hex'), 0x00));
  t.equal(fci.readUInt16BE(fci.length - 2), 0x9000);
  const second = await tap({ again: { applet: other, kernel: first.kernel } });
  t.equal(second.outcome.status, 'approved', second.outcome.reason);
  t.same(other.log.slice(-2), ['RECOVER AC', 'GENERATE AC'], 'RECOVER AC refused, then GENERATE AC');
  t.equal(first.kernel.tornRecords, 0);

  const kernel = new KernelC2({ clockMicros: () => clock.now, tornLifetimeSeconds: 0 });
  const torn = await tap({ intercept: tear, again: { applet: new C2Applet(first.applet.profile), kernel } });
  t.equal(kernel.tornRecords, 1);
  const sameInstant = transaction().date;
  const later = await tap({ again: { applet: torn.applet, kernel }, date: new Date(sameInstant.getTime() + 1000) });
  t.equal(later.applet.log.at(-1), 'GENERATE AC', 'a record past its lifetime is not recovered');
  t.notOk(later.applet.log.includes('RECOVER AC'));
  t.equal(kernel.tornRecords, 0);
});

t.test('a card that refuses GPO or answers it badly: select next, or end application', async (t) => {
  const refused = await tap({
    intercept: (command, response) => (command[1] === 0xa8 ? Buffer.from('6985', 'hex') : response),
  });
  t.equal(refused.outcome.status, 'select-next');
  t.equal(refused.outcome.start, 'C');

  const noAfl = await tap({
    intercept: (command, response) => (command[1] === 0xa8 ? Buffer.from('770482021981' + '9000', 'hex') : response),
  });
  t.equal(noAfl.outcome.status, 'end-application');
  t.match(noAfl.outcome.reason, /AIP \(82\) and AFL \(94\)/);

  const garbled = await tap({
    intercept: (command, response) => (command[1] === 0xa8 ? Buffer.from('77FF' + '9000', 'hex') : response),
  });
  t.equal(garbled.outcome.status, 'end-application', 'an answer that does not parse as TLV');
});

t.test('status check, zero amount and a merchant forcing online all ask for an ARQC', async (t) => {
  for (const indicators of [{ statusCheckRequested: true }, { zeroAmount: true }]) {
    const { outcome } = await tap({ indicators });
    t.equal(outcome.status, 'online-request', JSON.stringify(indicators));
    t.equal(hex(outcome.tvr), '0000000002', 'with nothing in the TVR');
  }
});

t.test('an offline-only terminal uses the default action codes', async (t) => {
  const approved = await tap({ terminal: { onlineCapable: false }, relayTimes: [SLOW_US] });
  t.equal(hex(approved.outcome.tvr), '0000000006');
  t.equal(approved.outcome.status, 'approved', 'neither the TAC nor the IAC default covers relay resistance...');
  const declined = await tap({
    terminal: { onlineCapable: false },
    relayTimes: [SLOW_US],
    combination: { tacDefault: '0000000004' },
  });
  t.equal(declined.outcome.status, 'declined', '...the TAC default does here');
  const notOnline = await tap({
    terminal: { onlineCapable: false },
    relayTimes: [SLOW_US],
    combination: { tacOnline: '0000000004' },
  });
  t.equal(notOnline.outcome.status, 'approved', 'and the TAC online does not apply offline');
});
