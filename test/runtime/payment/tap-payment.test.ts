/**
 * payByTap over a real spool, the real acquirer simulator over TCP (which verifies the ARQC of
 * DE55 with the issuer's keys) and the PIN pad simulator. Its collaborators the reader's field
 * and Entry Point are scripted here: each tap gives a fixed ContactlessOutcome whose data record
 * carries a cryptogram computed with a contact virtual card's keys (visa-dda's application, the
 * card the simulator knows), so an approval proves DE22 07x and DE55 reached the issuer intact.
 */
import t, { type Test } from 'tap';
import { loadCardProfile, type CardApplicationProfile } from '../../../emv/card/index.js';
import { cardApplicationCryptogram, type AcType } from '../../../emv/card/card-crypto.js';
import { decodeTlv, findTag, type Tlv } from '../../../emv/tlv/index.js';
import { DE, type IsoMessage } from '../../../emv/iso8583/index.js';
import { PosError } from '../../../config/errors.js';
import type { ContactlessOutcome, ContactlessTarget, OutcomeCvm, UiRequest } from '../../../emv/contactless/types.js';
import type { TransactionInput } from '../../../emv/kernel/index.js';
import { HostClient } from '../../../runtime/host/client.js';
import { openSimPaymentDevices } from '../../../runtime/payment/sim-pay.js';
import {
  payByTap,
  type ContactlessField,
  type TapEntryPoint,
  type TapPaymentDeps,
} from '../../../runtime/payment/tap-payment.js';
import type { SimRule } from '../../../runtime/host/simulator.js';
import type { Spool } from '../../../spool/index.js';
import { TERMINAL, openSpool, startLink, until, type Link } from '../host/fixtures.js';

const VISA: CardApplicationProfile = loadCardProfile('visa-dda').applications[0]!;
const TARGET: ContactlessTarget = {
  type: 'A',
  uid: Buffer.from('04A1B2C3', 'hex'),
  transmit: () => Promise.reject(new Error('the scripted entry point never talks to the card')),
};

/** A scripted reader field: polls answer from `polls` (then a card), every indication is kept. */
class ScriptedField implements ContactlessField {
  /** Each indication as status/beep. */
  readonly shown: string[] = [];
  readonly calls: string[] = [];
  constructor(private readonly polls: Array<'collision' | 'timeout'> = []) {}
  fieldOn() {
    this.calls.push('on');
    return Promise.resolve();
  }
  fieldOff() {
    this.calls.push('off');
    return Promise.resolve();
  }
  poll() {
    this.calls.push('poll');
    return Promise.resolve(this.polls.shift() ?? TARGET);
  }
  indicate(status: UiRequest['status'], beep: 'none' | 'success' | 'alert' = 'none') {
    this.shown.push(`${status}/${beep}`);
    return Promise.resolve();
  }
}

type Step = (transaction: TransactionInput) => ContactlessOutcome | Error;

/** Entry Point giving one scripted outcome (or throwing one error) per tap. */
class ScriptedEntryPoint implements TapEntryPoint {
  runs = 0;
  resumes: string[] = [];
  resume?: TapEntryPoint['resume'];
  constructor(
    private readonly steps: Step[],
    resumeOutcome?: (answer: string) => ContactlessOutcome,
  ) {
    if (resumeOutcome)
      this.resume = (answer) => {
        this.resumes.push(answer.result);
        return Promise.resolve(resumeOutcome(answer.result));
      };
  }
  run(_target: ContactlessTarget, transaction: TransactionInput) {
    const step = this.steps[Math.min(this.runs++, this.steps.length - 1)]!;
    const outcome = step(transaction);
    return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
  }
}

function bcdAmount(amount: number): Buffer {
  return Buffer.from(String(amount).padStart(12, '0'), 'hex');
}

/** The kernel's data record for the card's answer: the AC over the EMV minimum data set, as visa-dda's keys compute it. */
function dataRecord(
  transaction: TransactionInput,
  type: AcType,
  options: { cvmResults?: string; tamper?: boolean } = {},
): Tlv[] {
  const d = transaction.date;
  const date = Buffer.from(
    `${String(d.getFullYear() % 100).padStart(2, '0')}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`,
    'hex',
  );
  const values = new Map<number, Buffer>([
    [0x9f02, bcdAmount(transaction.amount)],
    [0x9f03, Buffer.alloc(6)],
    [0x9f1a, Buffer.from('0840', 'hex')],
    [0x95, Buffer.from('0000000000', 'hex')],
    [0x5f2a, Buffer.from(transaction.currencyCode, 'hex')],
    [0x9a, date],
    [0x9c, Buffer.from(transaction.transactionType, 'hex')],
    [0x9f37, transaction.unpredictableNumber],
  ]);
  const aip = Buffer.from(VISA.aip, 'hex');
  const atc = 0x21;
  const { cryptogram, iad } = cardApplicationCryptogram(VISA, { type, atc, aip, values });
  if (options.tamper) cryptogram[0] ^= 0x01;
  return [
    { tag: 0x4f, value: Buffer.from('A0000000031010', 'hex') },
    { tag: 0x50, value: Buffer.from('VISA', 'latin1') },
    { tag: 0x5a, value: Buffer.from(VISA.pan, 'hex') },
    { tag: 0x5f24, value: Buffer.from('301231', 'hex') },
    { tag: 0x5f34, value: Buffer.from(VISA.panSequenceNumber, 'hex') },
    ...[...values].map(([tag, value]) => ({ tag, value })),
    { tag: 0x82, value: aip },
    { tag: 0x9f36, value: Buffer.from([0, atc]) },
    { tag: 0x9f10, value: iad },
    { tag: 0x9f26, value: cryptogram },
    { tag: 0x9f27, value: Buffer.from([type === 'ARQC' ? 0x80 : type === 'TC' ? 0x40 : 0x00]) },
    { tag: 0x9f34, value: Buffer.from(options.cvmResults ?? '1F0302', 'hex') },
  ];
}

const outcomeBase = {
  start: 'n/a',
  onlineResponseData: 'none',
  receipt: false,
  kernelId: 3,
  oda: 'fDDA',
} as const;

function onlineRequest(cvm: OutcomeCvm = 'no-cvm', options: { cvmResults?: string; tamper?: boolean } = {}): Step {
  return (transaction) => ({
    ...outcomeBase,
    status: 'online-request',
    cvm,
    dataRecord: dataRecord(transaction, 'ARQC', options),
    // No DE55 of its own: the flow takes it from the data record.
    online: { de55: [], pan: VISA.pan, expiry: '3012', panSequenceNumber: VISA.panSequenceNumber },
    cvmResults: Buffer.from(options.cvmResults ?? '1F0302', 'hex'),
    reason: 'online request',
  });
}

function ended(status: ContactlessOutcome['status'], extra: Partial<ContactlessOutcome> = {}): Step {
  return () => ({ ...outcomeBase, status, cvm: 'n/a', dataRecord: [], reason: `scripted ${status}`, ...extra });
}

async function setUp(t: Test, options: { rules?: SimRule[]; pin?: string } = {}) {
  const link = await startLink({ rules: options.rules ?? [] });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const sims = await openSimPaymentDevices(link.config, options.pin ?? VISA.onlinePin!);
  t.teardown(() => sims.close());
  // The terminal clock moves one second per reading: the wait for a card ends by the clock, not by time passing.
  let now = TERMINAL.clock().getTime();
  const deps = (field: ContactlessField, entryPoint: TapEntryPoint, extra: Partial<TapPaymentDeps> = {}) =>
    ({
      field,
      entryPoint,
      pinpad: sims.pinpad,
      client: new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 }),
      journal: spool.journal,
      currency: '840',
      waitMs: 20_000,
      pollTimeoutMs: 500,
      maxTryAgain: 2,
      clock: () => new Date((now += 1000)),
      unpredictableNumber: () => Buffer.from('1A2B3C4D', 'hex'),
      ...extra,
    }) satisfies TapPaymentDeps;
  return { link, spool, deps, prompts: sims.prompts };
}

/** The requests as they left for the acquirer (the simulator's record keeps no DE55). */
function capture(link: Link): IsoMessage[] {
  const requests: IsoMessage[] = [];
  const request = link.mux.request.bind(link.mux);
  link.mux.request = (message, timeoutMs) => {
    requests.push(message);
    return request(message, timeoutMs);
  };
  return requests;
}

function iccOf(request: IsoMessage): Tlv[] {
  return decodeTlv(request.fields[DE.ICC_DATA] as Buffer);
}

function sent(link: Link) {
  return link.sim.received.map((r) => `${r.mti}:${r.answer}`);
}

function rows(spool: Spool) {
  return spool.journal.list().map((r) => r.state);
}

t.test(
  'online request under the CVM limit: a 0200 with DE22 071, its ARQC verified by the issuer, approved and journaled',
  async (t) => {
    const { link, spool, deps, prompts } = await setUp(t);
    const field = new ScriptedField();
    const result = await payByTap(deps(field, new ScriptedEntryPoint([onlineRequest()])), {
      amount: 1200,
      waybill: 'RR123456785CH',
    });
    t.match(result, {
      outcome: 'approved',
      entry: 'contactless',
      approvedOffline: false,
      responseCode: '00',
      authCode: /^\d{6}$/,
      approvedAmount: 1200,
      signatureRequired: false,
      odaMethod: 'DDA',
      cvmResult: '1F0302',
      receipt: { panLast4: '0119', aid: 'A0000000031010', label: 'VISA', tvr: '0000000000' },
    });
    t.equal(result.verifiedOnDevice, undefined);
    t.equal(prompts(), 0, 'no PIN under the CVM limit');
    t.same(sent(link), ['0200:00']);
    t.match(link.sim.received[0], { entryMode: '071', hasIcc: true, hasTrack2: false, cryptogramType: 'ARQC' });
    t.equal(link.sim.received[0]!.refusal, undefined, 'the issuer verified the ARQC');
    t.match(spool.journal.get(result.journalId!), {
      state: 'approved',
      panMasked: '476173******0119',
      waybill: 'RR123456785CH',
    });
    t.same(field.calls, ['on', 'poll', 'off'], 'the field is on for the tap and off after it');
    t.notMatch(JSON.stringify(result), VISA.pan);
  },
);

t.test('a cryptogram that does not verify is refused by the issuer: declined, the row declined', async (t) => {
  const { link, spool, deps } = await setUp(t);
  const result = await payByTap(
    deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest('no-cvm', { tamper: true })])),
    { amount: 1200 },
  );
  t.match(result, { outcome: 'declined', entry: 'contactless', reason: 'declined by the issuer (05)' });
  t.same(sent(link), ['0200:05']);
  t.match(link.sim.received[0]!.refusal, /ARQC/);
  t.same(rows(spool), ['declined']);
});

t.test('over the CVM limit with online PIN: the PIN pad is asked, DE52 goes with the 0200, approved', async (t) => {
  const { link, deps, prompts } = await setUp(t);
  const result = await payByTap(
    deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest('online-pin', { cvmResults: '420300' })])),
    { amount: 9000 },
  );
  t.match(result, { outcome: 'approved', responseCode: '00', signatureRequired: false, cvmResult: '420300' });
  t.equal(prompts(), 1);
  t.same(sent(link), ['0200:00']);
  t.match(link.sim.received[0], { entryMode: '071', hasPinBlock: true });
});

t.test('the PIN entry cancelled: the payment is cancelled, nothing journaled or sent', async (t) => {
  const { link, spool, deps } = await setUp(t, { pin: 'cancel' });
  const result = await payByTap(
    deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest('online-pin', { cvmResults: '420300' })])),
    { amount: 9000 },
  );
  t.match(result, { outcome: 'cancelled', entry: 'contactless', reason: /^PIN entry cancelled/ });
  t.same(sent(link), []);
  t.same(rows(spool), []);
});

t.test('signature CVM: approved with a signature required', async (t) => {
  const { deps } = await setUp(t);
  const result = await payByTap(
    deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest('signature', { cvmResults: '1E0300' })])),
    { amount: 9000 },
  );
  t.match(result, { outcome: 'approved', signatureRequired: true });
});

t.test(
  'a phone that verified its owner (consumer device CVM): approved, verified on the device, no PIN asked',
  async (t) => {
    const { deps, prompts } = await setUp(t);
    const result = await payByTap(
      deps(
        new ScriptedField(),
        new ScriptedEntryPoint([onlineRequest('confirmation-code-verified', { cvmResults: '1F0002' })]),
      ),
      { amount: 9000 },
    );
    t.match(result, { outcome: 'approved', verifiedOnDevice: true, signatureRequired: false });
    t.equal(prompts(), 0);
  },
);

t.test(
  "the card's offline approval (TC): journaled offline_approved, its 0220 advice sent (advised) with DE22 071, Y1 on the result",
  async (t) => {
    const { link, spool, deps } = await setUp(t);
    const approved: Step = (transaction) => ({
      ...outcomeBase,
      status: 'approved',
      cvm: 'no-cvm',
      dataRecord: dataRecord(transaction, 'TC'),
      reason: 'approved offline by the card',
    });
    const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([approved])), { amount: 1200 });
    t.match(result, {
      outcome: 'approved',
      entry: 'contactless',
      approvedOffline: true,
      responseCode: 'Y1',
      authCode: 'Y1',
      receipt: { panLast4: '0119' },
    });
    t.match(
      spool.journal.get(result.journalId!),
      { state: 'advised', panMasked: '476173******0119' },
      'offline_approved, then advised',
    );
    t.same(sent(link), ['0220:00']);
    t.match(link.sim.received[0], { entryMode: '071', hasIcc: true, cryptogramType: 'TC' });
  },
);

t.test(
  'an offline approval past the offline caps is refused by the terminal: declined, take cash, nothing sent',
  async (t) => {
    const { link, spool, deps } = await setUp(t);
    const approved: Step = (transaction) => ({
      ...outcomeBase,
      status: 'approved',
      cvm: 'no-cvm',
      dataRecord: dataRecord(transaction, 'TC'),
      reason: 'approved offline by the card',
    });
    // The spool's default offline cap per transaction is 50000: this amount is past it.
    const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([approved])), {
      amount: 10_000_000,
    });
    t.match(result, { outcome: 'declined', approvedOffline: false, reason: /refused by the terminal: .*take cash$/ });
    t.same(sent(link), []);
    t.same(rows(spool), []);
  },
);

t.test('declined by the card: declined, nothing journaled or sent', async (t) => {
  const { link, spool, deps } = await setUp(t);
  const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([ended('declined')])), {
    amount: 1200,
  });
  t.match(result, { outcome: 'declined', entry: 'contactless', reason: 'scripted declined' });
  t.same(sent(link), []);
  t.same(rows(spool), []);
});

t.test('try another interface (over the contactless limit): use-chip, nothing journaled or sent', async (t) => {
  const { link, spool, deps } = await setUp(t);
  const entryPoint = new ScriptedEntryPoint([
    ended('try-another-interface', { alternateInterface: 'contact-chip', reason: 'over the contactless limit' }),
  ]);
  const result = await payByTap(deps(new ScriptedField(), entryPoint), { amount: 90_000 });
  t.same(result, {
    outcome: 'use-chip',
    entry: 'contactless',
    reason: 'over the contactless limit: insert the card',
    approvedOffline: false,
    signatureRequired: false,
  });
  t.same(sent(link), []);
  t.same(rows(spool), []);
});

t.test('two cards in the field: "present one card", polled again, then the one card is run', async (t) => {
  const { deps } = await setUp(t);
  const field = new ScriptedField(['collision', 'timeout', 'collision']);
  const entryPoint = new ScriptedEntryPoint([onlineRequest()]);
  const result = await payByTap(deps(field, entryPoint), { amount: 1200 });
  t.match(result, { outcome: 'approved' });
  t.same(field.shown, ['ready-to-read/alert', 'ready-to-read/alert'], 'present one card, with the alert');
  t.equal(field.calls.filter((c) => c === 'poll').length, 4);
  t.equal(entryPoint.runs, 1);
});

t.test('try again and a card removed mid-way: the card is asked for again, and the next tap pays', async (t) => {
  const { link, deps } = await setUp(t);
  const field = new ScriptedField();
  const entryPoint = new ScriptedEntryPoint([
    ended('try-again', {
      uiRequestOnOutcome: { message: 'try-again', status: 'ready-to-read' },
      fieldOffRequestMs: 100,
    }),
    () => new PosError('CODPOS_DEVICE_READER_ERROR', 'the card left the field'),
    onlineRequest(),
  ]);
  const pauses: number[] = [];
  const pause = (ms: number) => {
    pauses.push(ms);
    return Promise.resolve();
  };
  const result = await payByTap(deps(field, entryPoint, { pause }), { amount: 1200 });
  t.match(result, { outcome: 'approved', responseCode: '00' });
  t.same(pauses, [100], 'the field stays off as long as the outcome asked');
  t.equal(entryPoint.runs, 3);
  t.same(
    field.shown,
    ['ready-to-read/alert', 'ready-to-read/none', 'ready-to-read/none'],
    'try again, then present card twice',
  );
  t.same(field.calls, ['on', 'poll', 'off', 'on', 'poll', 'poll', 'off'], 'the field off and on as the outcome asked');
  t.same(sent(link), ['0200:00']);
});

t.test('try again past maxTryAgain: the payment fails with the last reason, nothing sent', async (t) => {
  const { link, spool, deps } = await setUp(t);
  const entryPoint = new ScriptedEntryPoint([ended('end-application', { start: 'B', reason: 'card removed' })]);
  const result = await payByTap(deps(new ScriptedField(), entryPoint, { maxTryAgain: 2 }), { amount: 1200 });
  t.match(result, {
    outcome: 'failed',
    entry: 'contactless',
    reason: 'the card could not be read after 3 taps (card removed): insert it or take cash',
  });
  t.equal(entryPoint.runs, 3, 'the first tap and two more');
  t.same(sent(link), []);
  t.same(rows(spool), []);
});

t.test('an end of application that does not restart ends the payment: failed', async (t) => {
  const { deps } = await setUp(t);
  const entryPoint = new ScriptedEntryPoint([ended('end-application', { reason: 'no supported application' })]);
  const result = await payByTap(deps(new ScriptedField(), entryPoint), { amount: 1200 });
  t.match(result, { outcome: 'failed', reason: 'the tap ended (end-application): no supported application' });
  t.equal(entryPoint.runs, 1);
});

t.test('no card before the wait ends: cancelled, Entry Point never run, the field off', async (t) => {
  const { deps } = await setUp(t);
  const field = new ScriptedField(Array.from({ length: 100 }, () => 'timeout' as const));
  const entryPoint = new ScriptedEntryPoint([onlineRequest()]);
  // The clock moves 1 s per reading; a 5 s wait allows a few polls, not the hundred scripted.
  const result = await payByTap(deps(field, entryPoint, { waitMs: 5000 }), { amount: 1200 });
  t.match(result, { outcome: 'cancelled', reason: 'no card was presented within 5 s' });
  t.equal(entryPoint.runs, 0);
  t.ok(field.calls.filter((c) => c === 'poll').length < 10);
  t.equal(field.calls.at(-1), 'off');
});

t.test('a payment cancelled before the tap: nothing happens, the field is never switched on', async (t) => {
  const { deps } = await setUp(t);
  const field = new ScriptedField();
  const controller = new AbortController();
  controller.abort('the courier cancelled');
  const result = await payByTap(deps(field, new ScriptedEntryPoint([onlineRequest()])), {
    amount: 1200,
    signal: controller.signal,
  });
  t.match(result, { outcome: 'cancelled', entry: 'contactless' });
  t.same(field.calls, []);
});

t.test('no answer from the acquirer: failed, the authorization reversed, the row ends reversed', async (t) => {
  const { link, spool, deps } = await setUp(t, { rules: [{ mti: '0200', action: 'silent', times: 1 }] });
  const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 200 });
  const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest()]), { client }), {
    amount: 1200,
  });
  t.match(result, { outcome: 'failed', reason: /no answer from the acquirer .*take cash or try again/ });
  t.same(sent(link), ['0200:no answer', '0400:00']);
  t.equal(spool.journal.get(result.journalId!)!.state, 'reversed');
});

t.test('declined by the issuer: declined with its code, the row declined', async (t) => {
  const { link, spool, deps } = await setUp(t, { rules: [{ mti: '0200', action: 'decline', responseCode: '51' }] });
  const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest()])), {
    amount: 1200,
  });
  t.match(result, { outcome: 'declined', responseCode: '51', reason: 'declined by the issuer (51)' });
  t.same(sent(link), ['0200:51']);
  t.same(rows(spool), ['declined']);
});

t.test(
  "issuer update: the card presented again sees the issuer's answer; a card that then declines has the approval reversed",
  async (t) => {
    const { link, spool, deps } = await setUp(t);
    const withUpdate: Step = (transaction) => ({
      ...(onlineRequest()(transaction) as ContactlessOutcome),
      onlineResponseData: 'emv-data',
    });
    const entryPoint = new ScriptedEntryPoint([withUpdate], () => ({
      ...outcomeBase,
      status: 'declined',
      cvm: 'n/a',
      dataRecord: [],
      reason: 'the card refused the issuer authentication',
    }));
    const field = new ScriptedField();
    const result = await payByTap(deps(field, entryPoint), { amount: 1200 });
    t.match(result, {
      outcome: 'declined',
      reason: "the card refused the issuer authentication: the issuer's approval is reversed",
    });
    t.same(entryPoint.resumes, ['approved']);
    t.same(field.shown, ['ready-to-read/none'], 'present card again');
    t.same(sent(link), ['0200:00', '0400:00']);
    t.equal(spool.journal.get(result.journalId!)!.state, 'reversed');
  },
);

t.test('issuer update accepted by the card: approved, the approval completed', async (t) => {
  const { link, spool, deps } = await setUp(t);
  const withUpdate: Step = (transaction) => ({
    ...(onlineRequest()(transaction) as ContactlessOutcome),
    onlineResponseData: 'emv-data',
  });
  // What the card answered after the issuer update: its TC and the script results.
  const finalChip: Tlv[] = [
    { tag: 0x9f26, value: Buffer.from('1122334455667788', 'hex') },
    { tag: 0x9f27, value: Buffer.from([0x40]) },
    { tag: 0x9f5b, value: Buffer.from('2000000001', 'hex') },
  ];
  const entryPoint = new ScriptedEntryPoint([withUpdate], () => ({
    ...outcomeBase,
    status: 'approved',
    cvm: 'no-cvm',
    dataRecord: finalChip,
    reason: 'issuer update done',
  }));
  const requests = capture(link);
  const result = await payByTap(deps(new ScriptedField(), entryPoint), { amount: 1200 });
  t.match(result, { outcome: 'approved', responseCode: '00' });
  t.same(sent(link).slice(0, 1), ['0200:00']);
  t.notOk(sent(link).includes('0400:00'), 'nothing reversed');
  t.equal(spool.journal.get(result.journalId!)!.state, 'approved');
  // Completed: the TC and the script results reach the acquirer in the completion advice.
  await until(() => requests.some((request) => request.mti === '0220'), 'the completion advice to leave');
  const advice = requests.find((request) => request.mti === '0220')!;
  t.same(
    decodeTlv(advice.fields[DE.ICC_DATA] as Buffer).map((tlv) => [tlv.tag, tlv.value.toString('hex')]),
    finalChip.map((tlv) => [tlv.tag, tlv.value.toString('hex')]),
  );
});

t.test("DE55 is the kernel's data record without the card data DE2 and DE35 carry: no PAN, no expiry", async (t) => {
  const { link, deps } = await setUp(t);
  const requests = capture(link);
  const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest()])), {
    amount: 1200,
  });
  t.match(result, { outcome: 'approved' });
  const icc = iccOf(requests[0]!);
  t.same(
    icc.map((tlv) => tlv.tag.toString(16).toUpperCase()),
    [
      '4F',
      '50',
      '9F02',
      '9F03',
      '9F1A',
      '95',
      '5F2A',
      '9A',
      '9C',
      '9F37',
      '82',
      '9F36',
      '9F10',
      '9F26',
      '9F27',
      '9F34',
    ],
  );
  t.equal(findTag(icc, 0x5a), undefined, 'no PAN in DE55');
  t.equal(requests[0]!.fields[DE.PAN], VISA.pan, 'the PAN goes in DE2');
  t.equal(requests[0]!.fields[DE.POS_ENTRY_MODE], '071');
});

t.test('a kernel that gives its own DE55 objects: they are sent as the kernel gave them', async (t) => {
  const { link, deps } = await setUp(t);
  const requests = capture(link);
  const own: Step = (transaction) => {
    const outcome = onlineRequest()(transaction) as ContactlessOutcome;
    const de55 = outcome.dataRecord.filter((tlv) => ![0x4f, 0x50, 0x5a, 0x5f24, 0x5f34].includes(tlv.tag));
    return {
      ...outcome,
      online: { ...outcome.online!, de55 },
      dataRecord: [...outcome.dataRecord, { tag: 0x9f6e, value: Buffer.from('20700000', 'hex') }],
    };
  };
  const result = await payByTap(deps(new ScriptedField(), new ScriptedEntryPoint([own])), { amount: 1200 });
  t.match(result, { outcome: 'approved' });
  const icc = iccOf(requests[0]!);
  t.equal(findTag(icc, 0x4f), undefined, "the kernel's DE55, not the data record");
  t.equal(findTag(icc, 0x9f6e), undefined);
  t.ok(findTag(icc, 0x9f26));
});

t.test("issuer update, the card not presented again before the wait ends: the issuer's approval stands", async (t) => {
  const { link, spool, deps } = await setUp(t);
  const withUpdate: Step = (transaction) => ({
    ...(onlineRequest()(transaction) as ContactlessOutcome),
    onlineResponseData: 'emv-data',
  });
  const entryPoint = new ScriptedEntryPoint([withUpdate], () => {
    throw new Error('never resumed: the card did not come back');
  });
  // The first poll finds the card; then only timeouts until the wait ends.
  const field = new ScriptedField();
  let polls = 0;
  field.poll = () => Promise.resolve(polls++ === 0 ? TARGET : 'timeout');
  const result = await payByTap(deps(field, entryPoint, { waitMs: 5000 }), { amount: 1200 });
  t.match(result, { outcome: 'approved', responseCode: '00' });
  t.same(entryPoint.resumes, []);
  t.same(sent(link), ['0200:00']);
  t.equal(spool.journal.get(result.journalId!)!.state, 'approved');
});

t.test('a PIN pad that does not answer: the payment fails, nothing journaled or sent', async (t) => {
  const { link, spool, deps } = await setUp(t);
  const pinpad = {
    requestPin: () => Promise.reject(new PosError('CODPOS_DEVICE_PINPAD_TIMEOUT', 'no answer in 60 s')),
  };
  const result = await payByTap(
    deps(new ScriptedField(), new ScriptedEntryPoint([onlineRequest('online-pin', { cvmResults: '420300' })]), {
      pinpad,
    }),
    { amount: 9000 },
  );
  t.same(result, {
    outcome: 'failed',
    reason: 'the PIN pad is not working (no answer in 60 s): insert the card or take cash',
    approvedOffline: false,
    signatureRequired: false,
    entry: 'contactless',
  });
  t.same(sent(link), []);
  t.same(rows(spool), []);
});

t.test(
  'the kernel asking for the PIN during the tap: a PIN pad failure ends it, not taken for the card leaving',
  async (t) => {
    const { link, deps } = await setUp(t);
    const pinpad = {
      requestPin: () => Promise.reject(new PosError('CODPOS_DEVICE_PINPAD_TIMEOUT', 'no answer in 60 s')),
    };
    let runs = 0;
    const entryPoint: TapEntryPoint = {
      run: async (_target, _transaction, callbacks) => {
        runs++;
        await callbacks.requestOnlinePin!(VISA.pan);
        throw new Error('not reached');
      },
    };
    const result = await payByTap(deps(new ScriptedField(), entryPoint, { pinpad }), { amount: 9000 });
    t.match(result, { outcome: 'failed', reason: /^the PIN pad is not working/ });
    t.equal(runs, 1, 'the card is not asked for again');
    t.same(sent(link), []);
  },
);

t.test('the kernel asking for the PIN during the tap: the PIN given goes with the 0200', async (t) => {
  const { link, deps, prompts } = await setUp(t);
  const entryPoint: TapEntryPoint = {
    run: async (_target, transaction, callbacks) => {
      const block = await callbacks.requestOnlinePin!(VISA.pan);
      const outcome = onlineRequest('online-pin', { cvmResults: '420300' })(transaction) as ContactlessOutcome;
      return { ...outcome, online: { ...outcome.online!, pinBlock: block! } };
    },
  };
  const result = await payByTap(deps(new ScriptedField(), entryPoint), { amount: 9000 });
  t.match(result, { outcome: 'approved', responseCode: '00' });
  t.equal(prompts(), 1, 'asked once, not again after the outcome');
  t.match(link.sim.received[0], { hasPinBlock: true });
});

t.test(
  'after try again, an Entry Point that restarts at B is asked to retry with the card found again, not to run anew',
  async (t) => {
    const { deps } = await setUp(t);
    let retries = 0;
    const scripted = new ScriptedEntryPoint([ended('try-again'), ended('declined')]);
    const entryPoint: TapEntryPoint = {
      run: (target, transaction) => scripted.run(target, transaction),
      retry: (target) => {
        retries++;
        t.equal(target, TARGET);
        return Promise.resolve(
          ended('declined', { reason: 'declined on the retry' })(undefined as never) as ContactlessOutcome,
        );
      },
    };
    const result = await payByTap(deps(new ScriptedField(), entryPoint), { amount: 1200 });
    t.match(result, { outcome: 'declined', reason: 'declined on the retry' });
    t.equal(scripted.runs, 1, 'run once');
    t.equal(retries, 1, 'then retried');
  },
);
