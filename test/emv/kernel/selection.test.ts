/**
 * Application selection with PSE present and absent, two applications with
 * priorities (and cardholder confirmation), a blocked application (6283 skipped, 6A81
 * ends the session) and partial AID matching with SELECT next.
 */
import t from 'tap';
import { encodeTlv } from '../../../emv/tlv/index.js';
import { VirtualCard, loadCardProfile, type CardProfile } from '../../../emv/card/index.js';
import { CardChannel, buildCandidateList, orderCandidates } from '../../../emv/kernel/index.js';
import type { CandidateApplication } from '../../../emv/kernel/index.js';
import { run, issuerFor, VISA_APP } from './fixtures.js';

const ELECTRON = 'A0000000032010';

/** visa-dda with a second application (same records) and the given priorities. */
function twoApps(
  priorityCredit: string,
  priorityElectron: string,
  options: { pse: boolean; blockedCredit?: '6283' | '6A81' },
): VirtualCard {
  const profile: CardProfile = loadCardProfile('visa-dda');
  const credit = profile.applications[0]!;
  credit.priority = priorityCredit;
  if (options.blockedCredit) credit.blocked = options.blockedCredit;
  profile.applications.push({
    ...structuredClone(credit),
    aid: ELECTRON,
    label: 'VISA ELECTRON',
    priority: priorityElectron,
    blocked: undefined,
  });
  delete profile.applications[1]!.blocked;
  if (options.pse) {
    const entry = (aid: string, label: string, priority: string) => ({
      tag: 0x61,
      value: Buffer.alloc(0),
      children: [
        { tag: 0x4f, value: Buffer.from(aid, 'hex') },
        { tag: 0x50, value: Buffer.from(label) },
        { tag: 0x87, value: Buffer.from(priority, 'hex') },
      ],
    });
    profile.pse = {
      sfi: 1,
      records: [
        encodeTlv([
          {
            tag: 0x70,
            value: Buffer.alloc(0),
            children: [
              entry(credit.aid, 'VISA CREDIT', priorityCredit),
              entry(ELECTRON, 'VISA ELECTRON', priorityElectron),
            ],
          },
        ]).toString('hex'),
      ],
    };
  } else {
    delete profile.pse;
  }
  const c = new VirtualCard(profile);
  c.powerOn();
  return c;
}

const prefixTerminal = { applications: [{ ...VISA_APP, aid: 'A000000003', partialSelection: true }] };

function approvingHost(c: VirtualCard) {
  const issuer = issuerFor(c);
  return (r: Parameters<typeof issuer.issuerAuthenticationData>[0]) => ({
    result: 'approved' as const,
    responseCode: '00',
    issuerAuthenticationData: issuer.issuerAuthenticationData(r, '00'),
  });
}

t.test('PSE present: the directory is read and the application selected from it', async (t) => {
  const c = new VirtualCard(loadCardProfile('visa-dda'));
  c.powerOn();
  const selection = await buildCandidateList(new CardChannel((a) => c.transmit(a)), [VISA_APP]);
  t.equal(selection.kind, 'candidates');
  if (selection.kind !== 'candidates') return;
  t.equal(selection.usedPse, true);
  t.same(
    selection.candidates.map((x) => x.aid.toString('hex').toUpperCase()),
    ['A0000000031010'],
  );
  t.equal(selection.candidates[0]!.label, 'VISA CREDIT');
  t.equal(selection.candidates[0]!.priorityIndicator, 1);
  t.same(c.log.slice(0, 3), ['SELECT', 'READ RECORD', 'READ RECORD'], 'SELECT PSE, record 1, record 2 = 6A83 (end)');
});

t.test('PSE absent: the terminal list of AIDs is walked', async (t) => {
  const c = new VirtualCard(loadCardProfile('mc-cda'));
  c.powerOn();
  const selection = await buildCandidateList(new CardChannel((a) => c.transmit(a)), [
    VISA_APP,
    { ...VISA_APP, aid: 'A0000000041010', partialSelection: false },
  ]);
  t.equal(selection.kind, 'candidates');
  if (selection.kind !== 'candidates') return;
  t.equal(selection.usedPse, false);
  t.same(
    selection.candidates.map((x) => x.aid.toString('hex').toUpperCase()),
    ['A0000000041010'],
  );
  t.notOk(c.log.includes('READ RECORD'), 'no directory to read');
});

t.test('two applications: priority 1 wins over priority 2 (PSE and list of AIDs)', async (t) => {
  for (const pse of [true, false]) {
    const c = twoApps('02', '01', { pse });
    const { result } = await run(c, { terminal: prefixTerminal, host: approvingHost(c) });
    t.equal(result.outcome, 'approved', `pse=${pse}`);
    t.equal(result.receipt!.aid, ELECTRON, `pse=${pse}: the priority 1 application ran`);
    t.equal(result.receipt!.label, 'VISA ELECTRON');
  }
  const swapped = twoApps('01', '02', { pse: true });
  const { result } = await run(swapped, { terminal: prefixTerminal, host: approvingHost(swapped) });
  t.equal(result.receipt!.aid, 'A0000000031010', 'swap the priorities and the other one runs');
  t.same(
    orderCandidates([
      { aid: Buffer.from('A1', 'hex'), priorityIndicator: 0, terminalIndex: 0 },
      { aid: Buffer.from('A2', 'hex'), priorityIndicator: 3, terminalIndex: 0 },
      { aid: Buffer.from('A3', 'hex'), priorityIndicator: 0x81, terminalIndex: 0 },
    ]).map((c) => c.aid.toString('hex')),
    ['a3', 'a2', 'a1'],
    'low nibble orders (bit 8 is confirmation, not priority); no priority goes last',
  );
});

t.test(
  'cardholder confirmation (tag 87 bit 8): skipped without a confirming terminal, run when confirmed',
  async (t) => {
    const unconfirmed = twoApps('02', '81', { pse: true });
    const { result } = await run(unconfirmed, { terminal: prefixTerminal, host: approvingHost(unconfirmed) });
    t.equal(result.receipt!.aid, 'A0000000031010', 'the application needing confirmation is passed over');

    const asked: CandidateApplication[] = [];
    const confirmed = twoApps('02', '81', { pse: true });
    const run2 = await run(confirmed, {
      terminal: prefixTerminal,
      host: approvingHost(confirmed),
      callbacks: {
        confirmApplication: (c) => {
          asked.push(c);
          return true;
        },
      },
    });
    t.equal(run2.result.receipt!.aid, ELECTRON);
    t.same(
      asked.map((c) => c.label),
      ['VISA ELECTRON'],
    );
  },
);

t.test('blocked application: 6283 is skipped and the other one runs; 6A81 ends the session', async (t) => {
  const c = twoApps('01', '02', { pse: false, blockedCredit: '6283' });
  const { result } = await run(c, { terminal: prefixTerminal, host: approvingHost(c) });
  t.equal(result.outcome, 'approved');
  t.equal(result.receipt!.aid, ELECTRON, 'priority 1 is blocked: the other application runs');

  const onlyBlocked = loadCardProfile('mc-cda');
  onlyBlocked.applications[0]!.blocked = '6283';
  const blockedCard = new VirtualCard(onlyBlocked);
  blockedCard.powerOn();
  const none = await run(blockedCard);
  t.equal(none.result.outcome, 'not-accepted');
  t.equal(none.result.reason, 'no-mutually-supported-application');

  const mute = twoApps('01', '02', { pse: false, blockedCredit: '6A81' });
  const ended = await run(mute, { terminal: prefixTerminal });
  t.equal(ended.result.outcome, 'terminated');
  t.equal(ended.result.reason, 'card-blocked');
  t.notOk(mute.log.includes('GET PROCESSING OPTIONS'), 'no GPO after 6A81');
});

t.test('partial AID match: SELECT next finds every application under the prefix', async (t) => {
  const c = twoApps('01', '02', { pse: false });
  const selection = await buildCandidateList(new CardChannel((a) => c.transmit(a)), prefixTerminal.applications);
  t.equal(selection.kind, 'candidates');
  if (selection.kind !== 'candidates') return;
  t.same(
    selection.candidates.map((x) => x.aid.toString('hex').toUpperCase()),
    ['A0000000031010', ELECTRON],
  );
  t.same(c.log, ['SELECT', 'SELECT', 'SELECT', 'SELECT'], 'PSE (6A82), first, next, next (6A82)');

  const exact = twoApps('01', '02', { pse: false });
  const none = await buildCandidateList(new CardChannel((a) => exact.transmit(a)), [
    { ...VISA_APP, aid: 'A000000003', partialSelection: false },
  ]);
  t.same(
    none.kind === 'candidates' ? none.candidates : ['blocked'],
    [],
    'without partial selection a prefix matches nothing',
  );
});
