/**
 * The end-to-end proof: a virtual chip card, the EMV kernel, a PIN block enciphered under
 * TDES DUKPT, the host client over TCP, and the acquirer simulator verifying the PIN and
 * the ARQC and answering with an ARPC the card accepts.
 */
import t from 'tap';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { runTransaction, type KernelResult } from '../../../emv/kernel/index.js';
import { encodePinBlock } from '../../../emv/crypto/pin-block.js';
import { deriveTdesKeys, parseTdesKsn, nextKsn } from '../../../emv/crypto/dukpt-tdes.js';
import { HostClient, type PurchaseResult } from '../../../runtime/host/client.js';
import { kernelGoOnline } from '../../../runtime/payment/kernel-online.js';
import { encodeTlv } from '../../../emv/tlv/index.js';
import type { IsoFields } from '../../../emv/iso8583/index.js';
import { TERMINAL, TEST_TERMINAL as terminal, answeringLink, openSpool, startLink, type Link } from './fixtures.js';

/** One chip payment: the PIN pad enciphers `pin` under the next DUKPT key, the kernel goes online through the client. */
async function pay(
  link: Pick<Link, 'config'>,
  client: HostClient,
  profile: string,
  amount: number,
  pin: string,
  online: Partial<Parameters<typeof kernelGoOnline>[1]> = {},
): Promise<{ result: KernelResult; card: VirtualCard }> {
  const card = new VirtualCard(loadCardProfile(profile));
  card.powerOn();
  const bdk = link.config.devices.pinpad.sim.bdk;
  let ksn = '';
  const result = await runTransaction({
    transmit: (apdu) => card.transmit(apdu),
    terminal,
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
        return encodePinBlock({ format: 0, pin, pan, key: deriveTdesKeys(bdk, next).pinKey });
      },
      goOnline: kernelGoOnline(client, { ...online, amount, ksn: () => ksn }),
      random: () => 99,
    },
  });
  return { result, card };
}

t.test(
  'chip + online PIN: the simulator checks the DUKPT PIN block and the ARQC, the card accepts its ARPC, the payment is approved',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({
      mux: link.mux,
      spool,
      context: TERMINAL,
      responseTimeoutMs: 3000,
      log: link.log.log,
    });
    for (const profile of ['visa-dda', 'mc-cda']) {
      const { result } = await pay(link, client, profile, 2500, '1234');
      t.equal(result.online, true, `${profile}: went online`);
      t.equal(result.responseCode, '00', `${profile}: issuer approved`);
      t.equal(result.outcome, 'approved', `${profile}: ${result.reason}`);
      t.notOk(result.tvrBits.includes('issuerAuthenticationFailed'), `${profile}: the ARPC verified on the card`);
      // Visa DDA: EXTERNAL AUTHENTICATE with tag 91. Mastercard CDA: tag 91 goes in GENERATE AC 2 (CDOL2), and the
      // card, which requires issuer authentication, would answer AAC (declined) had the ARPC been wrong.
      if (profile === 'visa-dda')
        t.ok(result.tsiBits.includes('issuerAuthenticationPerformed'), `${profile}: issuer authentication performed`);
    }
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:00', '0200:00'],
    );
    const logText = link.log.text();
    t.notMatch(logText, '4761739001010119', 'no full PAN logged');
    t.notMatch(logText, '5413330089010434', 'no full PAN logged');
  },
);

t.test('a wrong PIN is declined by the issuer (55) and the card declines too', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 3000 });
  const { result } = await pay(link, client, 'visa-dda', 2500, '9999');
  t.equal(result.responseCode, '55');
  t.equal(result.outcome, 'declined');
  t.same(
    link.sim.received.map((r) => `${r.mti}:${r.answer}`),
    ['0200:55'],
  );
});

t.test(
  'a purchase the issuer declines by amount is declined end to end; an ARQC that does not verify gets 05 and no ARPC',
  async (t) => {
    const link = await startLink({
      rules: [{ mti: '0200', amountAtLeast: 90_000, action: 'decline', responseCode: '51' }],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 3000 });
    const declined = await pay(link, client, 'visa-dda', 95_000, '1234');
    t.equal(declined.result.responseCode, '51');
    t.equal(declined.result.outcome, 'declined');
    t.notOk(
      declined.result.tvrBits.includes('issuerAuthenticationFailed'),
      'the decline itself was authenticated (ARPC with ARC 51)',
    );

    // The issuer's master key for this card is not the card's: its ARQC cannot verify.
    const forged = loadCardProfile('visa-dda');
    forged.applications[0]!.issuerMasterKeys.ac = '00112233445566778899AABBCCDDEEFF';
    const { AcquirerHostSimulator } = await import('../../../runtime/host/simulator.js');
    const strict = new AcquirerHostSimulator({
      dialect: link.dialect,
      framing: link.framing,
      pinBdk: link.config.devices.pinpad.sim.bdk,
      cards: [forged],
    });
    await strict.start();
    t.teardown(() => strict.stop());
    const strictLink = await startLinkTo(link, strict.port);
    t.teardown(() => strictLink.close());
    const strictClient = new HostClient({ mux: strictLink.mux, spool, context: TERMINAL, responseTimeoutMs: 3000 });
    const bad = await pay(link, strictClient, 'visa-dda', 2500, '1234');
    t.equal(bad.result.responseCode, '05');
    t.equal(bad.result.outcome, 'declined');
    t.same(
      strict.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:05'],
    );
  },
);

async function startLinkTo(link: Link, port: number) {
  const { HostChannel, channelOptionsFromConfig } = await import('../../../runtime/host/channel.js');
  const { HostMux } = await import('../../../runtime/host/mux.js');
  const channel = new HostChannel(channelOptionsFromConfig({ ...link.config.host, port }));
  const mux = new HostMux(channel, { dialect: link.dialect });
  await channel.open();
  return {
    mux,
    async close() {
      mux.detach();
      await channel.close();
    },
  };
}

t.test(
  'no answer to the chip purchase: the kernel goes on as unable to go online, and the authorization is reversed at once',
  async (t) => {
    const link = await startLink({ rules: [{ mti: '0200', action: 'silent', times: 1 }] });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 150 });
    const { result } = await pay(link, client, 'visa-dda', 2500, '1234');
    t.not(result.responseCode, '00', 'no issuer approval');
    t.match(result.responseCode, /^(Z3|Y3)$/, 'the terminal decided: unable to go online');
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:no answer', '0400:00'],
      'the reversal followed the time-out',
    );
    t.equal(link.sim.received[1]!.original, '0200' + link.sim.received[0]!.stan, 'of that authorization (DE90)');
    t.not(link.sim.received[1]!.stan, link.sim.received[0]!.stan, 'under a STAN of its own');
    t.equal(client.pendingReversals(), 0, 'and the host acknowledged it');
  },
);

t.test(
  'issuer scripts from the simulator (71 PUT DATA, 72 APPLICATION BLOCK) carry MACs the card accepts',
  async (t) => {
    const link = await startLink({
      rules: [
        {
          mti: '0200',
          action: 'approve',
          issuerScripts: [
            { template: 0x71, id: '11223344', commands: [{ ins: 0xda, p1: 0x9f, p2: 0x14, data: '05' }] },
            { template: 0x72, id: '55667788', commands: [{ ins: 0x1e, p1: 0x00, p2: 0x00 }] },
          ],
        },
      ],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 3000 });
    const { result } = await pay(link, client, 'visa-dda', 2500, '1234');
    t.equal(result.outcome, 'approved', result.reason);
    t.same(
      result.scriptResults.map((s) => [s.template, s.ok]),
      [
        [0x71, true],
        [0x72, true],
      ],
    );
    t.notOk(result.tvrBits.includes('scriptFailedBeforeFinalGenerateAc'));
    t.notOk(result.tvrBits.includes('scriptFailedAfterFinalGenerateAc'));
  },
);

t.test(
  'approved by the issuer, declined by the card (ARPC wrong): the client reverses the approval and the journal row ends reversed',
  async (t) => {
    // An acquirer whose approval carries an ARPC the card cannot verify.
    const wrongArpc = encodeTlv([{ tag: 0x91, value: Buffer.from('00112233445566773030', 'hex') }]);
    const { config, mux, seen } = await answeringLink(t, (request): IsoFields =>
      request.mti === '0200' ? { 39: '00', 38: '654321', 55: wrongArpc } : { 39: '00' },
    );
    const spool = await openSpool(t);
    const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const txn = spool.journal.begin({ amount: 2500, currency: '840', pan: '5413330089010434' });
    let approval: PurchaseResult | undefined;
    const { result } = await pay({ config }, client, 'mc-cda', 2500, '1234', {
      journal: { id: txn.id, stan: txn.stan },
      onResult: (answer) => {
        approval = answer;
        // The client recorded the issuer's answer on the row before handing it over.
        t.match(spool.journal.get(txn.id), {
          state: 'approved',
          responseCode: '00',
          authCode: '654321',
          holdsSensitiveData: false,
        });
      },
    });
    t.equal(approval?.outcome, 'approved', 'the issuer approved');
    t.equal(result.outcome, 'declined', 'the card did not: it requires issuer authentication and the ARPC is wrong');
    t.equal(result.responseCode, '00', 'with the host answer 00 in hand');

    const reversalId = await client.reverse(approval!, {
      journal: { id: txn.id },
      reason: 'card declined after approval',
    });
    t.same(
      seen.map((m) => m.mti),
      ['0200', '0400'],
      'the reversal went out at once',
    );
    const [purchase, reversal] = seen.map((m) => ({
      stan: String(m.fields[11]),
      original: String(m.fields[90] ?? '').slice(0, 10),
    }));
    t.equal(purchase!.stan, String(txn.stan).padStart(6, '0'), 'the purchase used the journal STAN');
    t.equal(reversal!.original, '0200' + purchase!.stan, 'DE90 names the approved purchase');
    t.not(reversal!.stan, purchase!.stan, 'the reversal has a STAN of its own');
    t.equal(spool.outbox.get(reversalId)!.state, 'forwarded', 'acknowledged');
    t.same(
      spool.journal.history(txn.id).map((h) => h.to),
      ['pending', 'approved', 'reversal_pending', 'reversed'],
    );
    t.equal(client.pendingReversals(), 0);
  },
);
