/**
 * payByChip end to end with real parts: a virtual chip card in the card reader simulator
 * and the PIN pad simulator (each behind its real driver and ACK/NAK link), the host
 * client over TCP to the acquirer simulator (which decrypts the DUKPT PIN block and
 * verifies the ARQC), and a real spool file. Each outcome is checked on the journal.
 */
import t, { type Test } from 'tap';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { decodeTlv, encodeTlv } from '../../../emv/tlv/index.js';
import { REVERSAL_REASON_CODES, type IsoFields, type IsoMessage } from '../../../emv/iso8583/index.js';
import { HostClient } from '../../../runtime/host/client.js';
import { payByChip, type CardPaymentDeps } from '../../../runtime/payment/card-payment.js';
import { openSimPaymentDevices } from '../../../runtime/payment/sim-pay.js';
import type { Spool } from '../../../spool/index.js';
import { STREAMS } from '../../../spool/index.js';
import { TERMINAL, TEST_TERMINAL, answeringLink, openSpool, startLink, until } from '../host/fixtures.js';
import type { HostMux } from '../../../runtime/host/mux.js';
import type { Config } from '../../../config/schema.js';

/** The reader with `profile` inserted and the PIN pad whose customer types `pin` (or cancels). */
async function devices(t: Test, config: Config, profile: string, pin: string | 'cancel') {
  const sims = await openSimPaymentDevices(config, pin);
  t.teardown(() => sims.close());
  await sims.readerSim.insert(new VirtualCard(loadCardProfile(profile)));
  return { card: sims.cardReader, pinpad: sims.pinpad };
}

function depsFor(
  spool: Spool,
  mux: HostMux,
  device: Awaited<ReturnType<typeof devices>>,
  overrides: Partial<CardPaymentDeps> = {},
): CardPaymentDeps {
  const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
  return {
    card: device.card,
    pinpad: device.pinpad,
    client,
    journal: spool.journal,
    terminal: TEST_TERMINAL,
    currency: '840',
    clock: TERMINAL.clock,
    random: () => 99,
    ...overrides,
  };
}

t.test(
  'chip + online PIN, approved: the row is approved with the auth code before the result is given; the receipt shows the last four digits',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const device = await devices(t, link.config, 'visa-dda', '1234');
    const result = await payByChip(depsFor(spool, link.mux, device), { amount: 2500, waybill: 'RR123456785CH' });
    t.match(result, { outcome: 'approved', approvedOffline: false, responseCode: '00', authCode: /^[0-9]{6}$/ });
    t.match(spool.journal.get(result.journalId!), {
      state: 'approved',
      amount: 2500,
      waybill: 'RR123456785CH',
      authCode: result.authCode,
      panMasked: '476173******0119',
    });
    t.equal(result.receipt?.panLast4, '0119');
    t.notMatch(JSON.stringify(result), '4761739001010119', 'no full PAN in the result');
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:00'],
      'the acquirer decrypted the PIN block and verified the ARQC',
    );
    t.equal(spool.outbox.status().find((s) => s.stream === STREAMS.reversalStandby)?.depth ?? 0, 0);
  },
);

t.test('a wrong PIN: declined by the issuer (55), the row says so', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const device = await devices(t, link.config, 'visa-dda', '9999');
  const result = await payByChip(depsFor(spool, link.mux, device), { amount: 2500 });
  t.match(result, { outcome: 'declined', responseCode: '55' });
  t.match(spool.journal.get(result.journalId!), { state: 'declined', responseCode: '55' });
});

t.test('the customer cancels the PIN entry: nothing is journaled and nothing sent', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const device = await devices(t, link.config, 'visa-dda', 'cancel');
  const result = await payByChip(depsFor(spool, link.mux, device), { amount: 2500 });
  t.match(result, { outcome: 'cancelled', reason: /PIN entry cancelled/ });
  t.equal(result.journalId, undefined);
  t.same(spool.journal.list(), []);
  t.same(link.sim.received, []);
});

t.test(
  'the issuer approves, the card declines (ARPC wrong): the approval is reversed and the row ends reversed',
  async (t) => {
    const wrongArpc = encodeTlv([{ tag: 0x91, value: Buffer.from('00112233445566773030', 'hex') }]);
    const { config, mux, seen } = await answeringLink(t, (request): IsoFields =>
      request.mti === '0200' ? { 39: '00', 38: '654321', 55: wrongArpc } : { 39: '00' },
    );
    const spool = await openSpool(t);
    const device = await devices(t, config, 'mc-cda', '1234');
    const result = await payByChip(depsFor(spool, mux, device), { amount: 2500 });
    t.match(result, { outcome: 'declined', reason: /reversed/ });
    t.same(
      seen.map((m) => m.mti),
      ['0200', '0400'],
    );
    t.same(
      spool.journal.history(result.journalId!).map((h) => h.to),
      ['pending', 'approved', 'reversal_pending', 'reversed'],
    );
  },
);

t.test(
  'below the floor limit the card approves offline: an offline_approved row and its 0220 advice, in one commit',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const device = await devices(t, link.config, 'sda', '1234'); // signature CVM: no PIN
    const generous = {
      ...TEST_TERMINAL,
      applications: TEST_TERMINAL.applications.map((a) => ({ ...a, floorLimit: 100_000 })),
    };
    const sent = capture(link.mux);
    const result = await payByChip(depsFor(spool, link.mux, device, { terminal: generous }), { amount: 500 });
    t.match(result, { outcome: 'approved', approvedOffline: true, responseCode: 'Y1', signatureRequired: true });
    // The advice brings the card's offline TC (9F27 40) in DE55.
    await until(() => sent.length === 1, 'the advice to leave');
    t.same(chipTags(sent[0]).get(0x9f27), Buffer.from([0x40]), "DE55 holds the card's TC");
    t.match(
      spool.journal.get(result.journalId!),
      { state: 'advised', offline: true, authCode: 'Y1' },
      'offline_approved, then advised when the host had the 0220',
    );
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0220'],
      'the advice went out at once',
    );
    t.same(
      spool.journal.history(result.journalId!).map((h) => h.to),
      ['pending', 'offline_approved', 'advised'],
    );
  },
);

t.test(
  'past the offline cap per transaction (50,000 by default) the card approval is refused: declined, take cash, nothing advised',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const store = await openSpool(t);
    const device = await devices(t, link.config, 'sda', '1234');
    const generous = {
      ...TEST_TERMINAL,
      applications: TEST_TERMINAL.applications.map((a) => ({ ...a, floorLimit: 100_000 })),
    };
    const result = await payByChip(depsFor(store, link.mux, device, { terminal: generous }), { amount: 90_000 });
    t.match(result, { outcome: 'declined', approvedOffline: false, reason: /take cash/ });
    t.same(store.journal.list(), [], 'nothing journaled');
    t.same(link.sim.received, [], 'nothing advised');
  },
);

t.test(
  'no answer, then the card approves offline (Y3): the authorization is reversed and the offline approval advised',
  async (t) => {
    const link = await startLink({ rules: [{ mti: '0200', action: 'silent', times: 1 }] });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const device = await devices(t, link.config, 'sda', '1234');
    const selectedForOnline = {
      ...TEST_TERMINAL,
      applications: TEST_TERMINAL.applications.map((a) => ({
        ...a,
        floorLimit: 100_000,
        randomSelection: { threshold: 0, targetPercent: 50, maxTargetPercent: 50 },
      })),
    };
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 200 });
    const result = await payByChip(
      depsFor(spool, link.mux, device, { terminal: selectedForOnline, client, random: () => 1 }),
      { amount: 500 },
    );
    t.match(result, { outcome: 'approved', approvedOffline: true, responseCode: 'Y3' });
    const rows = spool.journal.list();
    t.equal(rows.length, 2, 'the reversed authorization and the offline approval');
    t.same(rows.map((r) => r.state).sort(), ['advised', 'reversed']);
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:no answer', '0400:00', '0220:00'],
      'reversal first, then the advice',
    );
  },
);

/** Every message the terminal hands the link, as built (the simulator's record holds no card data). */
t.test(
  'the card approved but its completion could not be journaled: the approval is reversed at once (DE25 terminal failure), not left to the next start',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const device = await devices(t, link.config, 'visa-dda', '1234');
    const deps = depsFor(spool, link.mux, device);
    deps.client.complete = () => {
      throw new Error('disk I/O error');
    };
    const sent = capture(link.mux);
    const result = await payByChip(deps, { amount: 2500 });
    t.match(result, { outcome: 'failed', reason: /completion could not be journaled.*disk I\/O error/ });
    t.same(
      sent.map((m) => m.mti),
      ['0200', '0400'],
      'the reversal went out in the same payment',
    );
    t.equal(sent[1]!.fields[25], REVERSAL_REASON_CODES['terminal-failure']['1987']);
    t.equal(spool.journal.get(result.journalId!)!.state, 'reversed');
  },
);

function capture(mux: HostMux): IsoMessage[] {
  const sent: IsoMessage[] = [];
  const request = mux.request.bind(mux);
  mux.request = (message, timeoutMs) => {
    sent.push(message);
    return request(message, timeoutMs);
  };
  return sent;
}

function chipTags(message: IsoMessage | undefined): Map<number, Buffer> {
  const icc = message?.fields[55];
  return new Map(Buffer.isBuffer(icc) ? decodeTlv(icc).map((tlv) => [tlv.tag, tlv.value] as const) : []);
}

t.test(
  "the acquirer gets the card's completion: a 0220 naming the 0200 with the TC and the final TVR; the chip 0200 carries DE35 from tag 57",
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const sent = capture(link.mux);
    const spool = await openSpool(t);
    const device = await devices(t, link.config, 'visa-dda', '1234');
    const result = await payByChip(depsFor(spool, link.mux, device), { amount: 2500 });
    t.match(result, { outcome: 'approved' });
    await until(() => sent.length === 2, 'the completion advice');
    const [purchase, advice] = sent;
    t.equal(purchase!.mti, '0200');
    t.match(purchase!.fields[35], /^4761739001010119=\d{4}/, 'DE35: track 2 equivalent from tag 57, beside DE2');
    t.equal(advice!.mti, '0220');
    t.equal(
      String(advice!.fields[90]).slice(0, 10),
      `0200${String(purchase!.fields[11])}`,
      'DE90 names the approved 0200',
    );
    t.equal(chipTags(advice).get(0x9f27)![0]! & 0xc0, 0x40, '9F27: a TC');
    t.equal(chipTags(purchase).get(0x9f27)![0]! & 0xc0, 0x80, 'the 0200 carried the ARQC');
    await until(() => link.sim.received.length === 2, 'the host to have both');
    t.equal(spool.journal.get(result.journalId!)!.state, 'approved', 'a completion advice does not move the row');
  },
);

t.test(
  'a card that declines after the issuer approved: the 0400 says why (DE25), carries the approval code (DE38) and the final chip data (the AAC, the TVR after issuer authentication)',
  async (t) => {
    const wrongArpc = encodeTlv([{ tag: 0x91, value: Buffer.from('00112233445566773030', 'hex') }]);
    const { config, mux, seen } = await answeringLink(t, (request): IsoFields =>
      request.mti === '0200' ? { 39: '00', 38: '654321', 55: wrongArpc } : { 39: '00' },
    );
    const spool = await openSpool(t);
    const device = await devices(t, config, 'visa-dda', '1234');
    await payByChip(depsFor(spool, mux, device), { amount: 2500 });
    const [purchase, reversal] = seen;
    t.equal(reversal!.mti, '0400');
    t.equal(
      reversal!.fields[25],
      REVERSAL_REASON_CODES['card-declined']['1987'],
      'DE25: declined by the card after approval',
    );
    t.equal(reversal!.fields[38], '654321', 'DE38: the approval it undoes');
    const final = chipTags(reversal);
    t.equal(final.get(0x9f27)![0]! & 0xc0, 0x00, '9F27: the AAC of the second GENERATE AC');
    t.equal(final.get(0x95)![4]! & 0x40, 0x40, 'TVR: issuer authentication failed');
    t.equal(chipTags(purchase).get(0x95)![4]! & 0x40, 0x00, 'which the 0200 could not have said');
  },
);
