/**
 * Entry Point end to end over a virtual contactless card with small test applets, driving small
 * test kernels that record what they were given and answer scripted outcomes: kernel activation,
 * select next, and outcome processing for each status.
 */
import t from 'tap';
import { PosError } from '../../../config/errors.js';
import { EntryPoint } from '../../../emv/contactless/entry-point.js';
import { entryPointOutcome, readerEventOutcome } from '../../../emv/contactless/outcome.js';
import { VirtualContactlessCard } from '../../../emv/card/virtual-contactless-card.js';
import type { ContactlessApplet, ContactlessCardProfile } from '../../../emv/card/contactless-profile.js';
import type {
  ContactlessCombination,
  ContactlessKernel,
  ContactlessOutcome,
  ContactlessTarget,
  KernelActivation,
  KernelId,
} from '../../../emv/contactless/types.js';
import type { HostAnswer, TerminalConfig, TransactionInput } from '../../../emv/kernel/types.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const MC = 'A0000000041010';
const VISA = 'A0000000031010';
const GPO = hex('80A8000002830000');

/** Answers SELECT with a small FCI (or the refusal it is told to give) and GPO with its own marker. */
class TestApplet implements ContactlessApplet {
  selectAnswer: Buffer | undefined;
  constructor(readonly aid: string) {}
  handle(apdu: Buffer): Buffer {
    if (apdu[1] === 0xa4) {
      if (this.selectAnswer) return this.selectAnswer;
      const name = hex(this.aid);
      return Buffer.concat([Buffer.from([0x6f, name.length + 2, 0x84, name.length]), name, hex('9000')]);
    }
    return Buffer.concat([hex(this.aid.slice(-4)), hex('9000')]);
  }
}

/** A kernel that records each activation, sends GPO to prove it holds the card, and answers the next scripted outcome. */
class TestKernel implements ContactlessKernel {
  readonly activations: KernelActivation[] = [];
  readonly gpoAnswers: string[] = [];
  constructor(
    readonly id: KernelId,
    private readonly script: Array<Partial<ContactlessOutcome> | Error>,
  ) {}
  async activate(activation: KernelActivation): Promise<ContactlessOutcome> {
    this.activations.push(activation);
    this.gpoAnswers.push((await activation.transmit(GPO)).toString('hex').toUpperCase());
    const next = this.script.shift();
    if (next === undefined) throw new Error(`kernel ${this.id} activated more often than scripted`);
    if (next instanceof Error) throw next;
    return entryPointOutcome(next.status ?? 'approved', next.reason ?? `kernel ${this.id} outcome`, next);
  }
}

const terminal: TerminalConfig = {
  countryCode: '0840',
  capabilities: 'E0F8C8',
  additionalCapabilities: '6000F0A001',
  terminalType: '22',
  terminalId: 'T0000001',
  applications: [],
  caKeys: [],
  onlineCapable: true,
  pinPadPresent: true,
};
const transaction: TransactionInput = {
  amount: 1500,
  currencyCode: '0840',
  transactionType: '00',
  date: new Date('2026-03-01T10:00:00Z'),
  sequenceCounter: 1,
  unpredictableNumber: hex('01020304'),
};
const visaCombination: ContactlessCombination = { aid: VISA, kernelId: 3, ttq: '36000000', cvmRequiredLimit: 1000 };
const mcCombination: ContactlessCombination = { aid: MC, kernelId: 2, transactionLimit: 10000 };

const cardProfile: ContactlessCardProfile = {
  name: 'test-dual',
  description: 'Mastercard first by priority, then Visa',
  form: 'card',
  type: 'A',
  uid: '04A1B2C3',
  ppse: [
    { aid: VISA, label: 'VISA', priority: '02' },
    { aid: MC, label: 'MASTERCARD', priority: '01' },
  ],
  applications: [
    { aid: MC, label: 'MASTERCARD', kernelId: 2 },
    { aid: VISA, label: 'VISA', kernelId: 3 },
  ],
};

function setup(
  scripts: { c2?: Array<Partial<ContactlessOutcome> | Error>; c3?: Array<Partial<ContactlessOutcome> | Error> },
  profile: ContactlessCardProfile = cardProfile,
  combinations: ContactlessCombination[] = [visaCombination, mcCombination],
) {
  const applets = new Map<string, TestApplet>();
  const card = new VirtualContactlessCard(profile, (app) => {
    const applet = new TestApplet(app.aid);
    applets.set(app.aid, applet);
    return applet;
  });
  const c2 = new TestKernel(2, scripts.c2 ?? []);
  const c3 = new TestKernel(3, scripts.c3 ?? []);
  const kernels = new Map<KernelId, ContactlessKernel>([
    [2, c2],
    [3, c3],
  ]);
  const entryPoint = new EntryPoint({ kernels, combinations, terminal });
  return { card, applets, c2, c3, entryPoint, target: card.asTarget() };
}

const selects = (card: VirtualContactlessCard) => card.log.filter((h) => h === '00A40400').length;

t.test('kernel activation: the highest-priority combination, its FCI, indicators and the card', async (t) => {
  const { card, c2, c3, entryPoint, target } = setup({ c2: [{ status: 'approved', cvm: 'no-cvm' }] });
  const callbacks = { cardRead: () => undefined };
  const outcome = await entryPoint.run(target, transaction, callbacks);
  t.equal(outcome.status, 'approved');
  t.equal(outcome.kernelId, 2, 'Entry Point names the kernel that ran');
  t.equal(outcome.cvm, 'no-cvm', "the kernel's outcome is passed up");
  t.equal(c3.activations.length, 0);
  const activation = c2.activations[0]!;
  t.equal(activation.combination, mcCombination);
  t.same(activation.fci, hex('6F0984' + '07' + MC), 'the FCI of SELECT AID, without its status word');
  t.same(activation.indicators, {
    statusCheckRequested: false,
    contactlessApplicationNotAllowed: false,
    zeroAmount: false,
    cvmRequiredLimitExceeded: false,
    floorLimitExceeded: false,
  });
  t.equal(activation.terminal, terminal);
  t.equal(activation.transaction, transaction);
  t.equal(activation.callbacks, callbacks);
  t.notOk('onlineResponse' in activation);
  t.same(c2.gpoAnswers, ['10109000'], "the kernel's transmit reaches the selected applet");
  t.same(card.log, ['00A40400', '00A40400', '80A80000'], 'SELECT PPSE, SELECT AID, then the kernel');
});

t.test('the Visa-style combination gets its own indicators and TTQ copy', async (t) => {
  const { c3, entryPoint, target } = setup(
    { c3: [{ status: 'online-request' }] },
    { ...cardProfile, ppse: [{ aid: VISA, priority: '01' }] },
  );
  const outcome = await entryPoint.run(target, transaction);
  t.equal(outcome.status, 'online-request');
  t.equal(outcome.kernelId, 3);
  t.equal(c3.activations[0]!.indicators.cvmRequiredLimitExceeded, true);
  t.equal(c3.activations[0]!.indicators.ttq?.toString('hex'), '36400000');
});

t.test("the terminal's floor limit for the combination's AID reaches the kernel's indicators", async (t) => {
  const applets = new Map<string, TestApplet>();
  const card = new VirtualContactlessCard(cardProfile, (app) => {
    const applet = new TestApplet(app.aid);
    applets.set(app.aid, applet);
    return applet;
  });
  const c2 = new TestKernel(2, [{ status: 'online-request' }]);
  const entryPoint = new EntryPoint({
    kernels: new Map<KernelId, ContactlessKernel>([[2, c2]]),
    combinations: [mcCombination],
    terminal: {
      ...terminal,
      applications: [
        {
          aid: MC,
          partialSelection: false,
          applicationVersion: '0002',
          tacDenial: '0000000000',
          tacOnline: '0000000000',
          tacDefault: '0000000000',
          floorLimit: 1000,
        },
      ],
    },
  });
  await entryPoint.run(card.asTarget(), transaction);
  t.equal(c2.activations[0]!.indicators.floorLimitExceeded, true);
});

t.test('a combination over its limit is skipped for the next one', async (t) => {
  const { c2, c3, entryPoint, target } = setup({ c3: [{ status: 'approved' }] });
  const outcome = await entryPoint.run(target, { ...transaction, amount: 10000 });
  t.equal(outcome.kernelId, 3, 'Mastercard (higher priority) is over its contactless limit');
  t.equal(c2.activations.length, 0);
  t.equal(c3.activations[0]!.combination, visaCombination);
});

t.test('every combination over its limit: try another interface, the card untouched', async (t) => {
  const { card, c2, c3, entryPoint, target } = setup({}, cardProfile, [
    { ...visaCombination, transactionLimit: 1500 },
    mcCombination,
  ]);
  const outcome = await entryPoint.run(target, { ...transaction, amount: 10000 });
  t.equal(outcome.status, 'try-another-interface');
  t.equal(outcome.alternateInterface, 'contact-chip');
  t.same(outcome.uiRequestOnOutcome, { message: 'insert-card', status: 'processing-error' });
  t.match(outcome.reason, /10000/);
  t.same(card.log, []);
  t.equal(c2.activations.length + c3.activations.length, 0);
});

t.test('select next after a SELECT the card refuses', async (t) => {
  const { card, applets, c2, c3, entryPoint, target } = setup({ c3: [{ status: 'declined' }] });
  applets.get(MC)!.selectAnswer = hex('6A81');
  const outcome = await entryPoint.run(target, transaction);
  t.equal(outcome.status, 'declined');
  t.equal(outcome.kernelId, 3);
  t.equal(c2.activations.length, 0);
  t.equal(selects(card), 3, 'PPSE, the refused Mastercard AID, then Visa');

  applets.get(VISA)!.selectAnswer = hex('6A82');
  const none = await entryPoint.run(target, transaction);
  t.equal(none.status, 'end-application');
  t.match(none.reason, /refused to select/);
  t.equal(c3.activations.length, 1, 'no kernel ran the second time');
});

t.test('no PPSE, or no application in common: end application, chip asked for', async (t) => {
  const { ppse: _ppse, ...withoutPpse } = cardProfile;
  const noPpse = setup({}, withoutPpse);
  const outcome = await noPpse.entryPoint.run(noPpse.target, transaction);
  t.equal(outcome.status, 'end-application');
  t.match(outcome.reason, /SELECT PPSE answered 6A82/);
  t.same(outcome.uiRequestOnOutcome, { message: 'insert-card', status: 'processing-error' });
  t.equal(outcome.alternateInterface, 'contact-chip');

  const amexOnly = setup({}, { ...cardProfile, ppse: [{ aid: 'A00000002501', priority: '01' }] });
  const unmatched = await amexOnly.entryPoint.run(amexOnly.target, transaction);
  t.equal(unmatched.status, 'end-application');
  t.match(unmatched.reason, /no application of the card matches/);
  t.equal(selects(amexOnly.card), 1, 'only the PPSE was selected');

  const empty = setup({}, { ...cardProfile, ppse: [] });
  t.match((await empty.entryPoint.run(empty.target, transaction)).reason, /lists no application/);
});

t.test('outcome select next: the next candidate, without a new PPSE', async (t) => {
  const { card, c2, c3, entryPoint, target } = setup({
    c2: [{ status: 'select-next', start: 'C' }],
    c3: [{ status: 'approved' }],
  });
  const outcome = await entryPoint.run(target, transaction);
  t.equal(outcome.status, 'approved');
  t.equal(outcome.kernelId, 3);
  t.equal(c2.activations.length, 1);
  t.equal(c3.activations[0]!.combination, visaCombination);
  t.same(card.log, ['00A40400', '00A40400', '80A80000', '00A40400', '80A80000']);

  const last = setup({ c2: [{ status: 'select-next', start: 'C' }], c3: [{ status: 'select-next', start: 'C' }] });
  const exhausted = await last.entryPoint.run(last.target, transaction);
  t.equal(exhausted.status, 'end-application', 'no candidate left');
});

t.test('final outcomes are passed up as the kernel gave them', async (t) => {
  for (const status of [
    'approved',
    'declined',
    'online-request',
    'end-application',
    'try-another-interface',
  ] as const) {
    const { entryPoint, target } = setup({ c2: [{ status, reason: `kernel said ${status}`, receipt: true }] });
    const outcome = await entryPoint.run(target, transaction);
    t.equal(outcome.status, status);
    t.equal(outcome.reason, `kernel said ${status}`);
    t.equal(outcome.receipt, true);
    await t.rejects(entryPoint.retry(target), { code: 'CODPOS_EMV_CL_NO_RESTART' }, `${status}: no retry`);
    await t.rejects(entryPoint.resume({ result: 'approved' }, target), { code: 'CODPOS_EMV_CL_NO_RESTART' });
  }
});

t.test('try again: restart at B with the same indicators when the card is presented again', async (t) => {
  const restartUi = { message: 'present-card', status: 'ready-to-read' } as const;
  const { card, c2, entryPoint, target } = setup({
    c2: [{ status: 'try-again', start: 'B', uiRequestOnRestart: restartUi }, { status: 'approved' }],
  });
  const first = await entryPoint.run(target, transaction);
  t.equal(first.status, 'try-again');
  t.same(first.uiRequestOnRestart, restartUi, 'the UI request on restart is the caller to show while polling');
  await t.rejects(entryPoint.resume({ result: 'approved' }, target), { code: 'CODPOS_EMV_CL_NO_RESTART' });
  const again = await entryPoint.retry(target);
  t.equal(again.status, 'approved');
  t.equal(c2.activations.length, 2);
  t.equal(c2.activations[1]!.indicators, c2.activations[0]!.indicators, 'pre-processing is not done again');
  t.equal(selects(card), 4, 'PPSE and AID selected again');
  await t.rejects(entryPoint.retry(target), { code: 'CODPOS_EMV_CL_NO_RESTART' }, 'only once per try again');
});

t.test('an online response for the card: resume activates the same combination with it', async (t) => {
  const answer: HostAnswer = {
    result: 'approved',
    responseCode: '00',
    issuerAuthenticationData: hex('0102030405060708'),
  };
  const { c2, c3, entryPoint, target } = setup({
    // Mastercard steps aside, so the combination to resume is the second candidate, not the first.
    c2: [{ status: 'select-next', start: 'C' }],
    c3: [{ status: 'online-request', start: 'B', onlineResponseData: 'emv-data' }, { status: 'approved' }],
  });
  const online = await entryPoint.run(target, transaction);
  t.equal(online.status, 'online-request');
  await t.rejects(entryPoint.retry(target), { code: 'CODPOS_EMV_CL_NO_RESTART' });
  const final = await entryPoint.resume(answer, target);
  t.equal(final.status, 'approved');
  t.equal(final.kernelId, 3);
  t.equal(c2.activations.length, 1, 'not the higher-priority Mastercard combination');
  t.equal(c3.activations[1]!.onlineResponse, answer);
  t.equal(c3.activations[1]!.combination, visaCombination);
  t.notOk('onlineResponse' in c3.activations[0]!);

  const notListed = setup({ c2: [{ status: 'online-request', start: 'B', onlineResponseData: 'any' }] });
  await notListed.entryPoint.run(notListed.target, transaction);
  const otherCard = new VirtualContactlessCard(
    { ...cardProfile, ppse: [{ aid: VISA }] },
    (app) => new TestApplet(app.aid),
  );
  const gone = await notListed.entryPoint.resume(answer, otherCard.asTarget());
  t.equal(gone.status, 'end-application');
  t.match(gone.reason, /does not list the application/);
});

t.test('an online request with no response for the card is final', async (t) => {
  const { entryPoint, target } = setup({ c2: [{ status: 'online-request', start: 'B', onlineResponseData: 'none' }] });
  t.equal((await entryPoint.run(target, transaction)).status, 'online-request');
  await t.rejects(entryPoint.resume({ result: 'approved' }, target), { code: 'CODPOS_EMV_CL_NO_RESTART' });
});

t.test('card removed, during selection or in the kernel: try again, present one card', async (t) => {
  const removed = new PosError('CODPOS_EMV_CARD_REMOVED', 'card left the field');
  const { c2, entryPoint, card } = setup({ c2: [removed, { status: 'approved' }] });
  let present = false;
  const flaky: ContactlessTarget = {
    ...card.asTarget(),
    transmit: (apdu) => {
      if (!present) throw removed;
      return card.transmit(apdu);
    },
  };
  const duringSelection = await entryPoint.run(flaky, transaction);
  t.same(duringSelection, readerEventOutcome('card-removed'));
  t.equal(duringSelection.start, 'B');
  t.same(duringSelection.uiRequestOnRestart, { message: 'present-one-card', status: 'ready-to-read' });
  present = true;
  const inKernel = await entryPoint.retry(flaky);
  t.equal(inKernel.status, 'try-again');
  t.equal(inKernel.reason, 'card-removed');
  const approved = await entryPoint.retry(flaky);
  t.equal(approved.status, 'approved');
  t.equal(c2.activations.length, 2);
});

t.test('other faults are errors, not outcomes', async (t) => {
  const { entryPoint, target } = setup({ c2: [new PosError('CODPOS_EMV_BAD_RESPONSE', 'kernel fault')] });
  await t.rejects(entryPoint.run(target, transaction), { code: 'CODPOS_EMV_BAD_RESPONSE' });
});

t.test('collision: the flow turns it into try again with one card', async (t) => {
  const outcome = readerEventOutcome('collision');
  t.equal(outcome.status, 'try-again');
  t.equal(outcome.start, 'B');
  t.match(outcome.reason, /more than one card/);
  t.same(outcome.uiRequestOnRestart, { message: 'present-one-card', status: 'ready-to-read' });
});

t.test('configuration: a bad AID or a kernel the reader lacks', async (t) => {
  const kernels = new Map<KernelId, ContactlessKernel>([[3, new TestKernel(3, [])]]);
  t.throws(() => new EntryPoint({ kernels, combinations: [{ aid: 'A0000003', kernelId: 3 }], terminal }), {
    code: 'CODPOS_EMV_CL_COMBINATION',
    message: /A0000003/,
  });
  t.throws(() => new EntryPoint({ kernels, combinations: [{ aid: 'A000000003101G', kernelId: 3 }], terminal }), {
    code: 'CODPOS_EMV_CL_COMBINATION',
  });
  t.throws(() => new EntryPoint({ kernels, combinations: [mcCombination], terminal }), {
    code: 'CODPOS_EMV_CL_COMBINATION',
    message: /kernel 2/,
  });
  const misfiled = new Map<KernelId, ContactlessKernel>([[2, new TestKernel(3, [])]]);
  t.throws(() => new EntryPoint({ kernels: misfiled, combinations: [mcCombination], terminal }), {
    code: 'CODPOS_EMV_CL_COMBINATION',
  });
  t.doesNotThrow(() => new EntryPoint({ kernels, combinations: [visaCombination], terminal }));
  const fresh = new EntryPoint({ kernels, combinations: [visaCombination], terminal });
  const { target } = setup({});
  await t.rejects(fresh.retry(target), { code: 'CODPOS_EMV_CL_NO_RESTART', message: /retry/ });
});
