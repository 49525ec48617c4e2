/**
 * payBySwipe under the chip-first rules, with the swipe read by the real card reader driver
 * from the reader simulator's MSR, the PIN pad simulator, the acquirer simulator over TCP
 * and a real spool.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { HostClient } from '../../../runtime/host/client.js';
import {
  FallbackCounter,
  payBySwipe,
  FALLBACKS_PER_CARD_PER_DAY,
  type Swipe,
  type SwipePaymentDeps,
} from '../../../runtime/payment/swipe-payment.js';
import { cardKeyOf } from '../../../runtime/payment/card-key.js';
import { openSimPaymentDevices } from '../../../runtime/payment/sim-pay.js';
import { TERMINAL, openSpool, startLink, type Link } from '../host/fixtures.js';
import type { Spool } from '../../../spool/index.js';
import type { SimRule } from '../../../runtime/host/simulator.js';

async function setUp(t: Test, options: { pin?: string; rules?: SimRule[] } = {}) {
  const link = await startLink({ rules: options.rules ?? [] });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const sims = await openSimPaymentDevices(link.config, options.pin ?? '1234');
  t.teardown(() => sims.close());
  const { cardReader: card, readerSim, pinpad } = sims;
  /** Swipes a virtual card (or raw tracks) through the reader and returns what the driver reported. */
  const swipe = async (source: string | Swipe): Promise<Swipe> => {
    const read = once(card, 'swipe') as Promise<[Swipe]>;
    await readerSim.swipe(typeof source === 'string' ? new VirtualCard(loadCardProfile(source)) : source);
    return (await read)[0];
  };
  const fallbacks = new FallbackCounter();
  const deps = (timeoutMs = 10_000): SwipePaymentDeps => ({
    fallbacks,
    pinpad,
    client: new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: timeoutMs }),
    journal: spool.journal,
    currency: '840',
    clock: TERMINAL.clock,
  });
  return { link, spool, swipe, deps, prompts: sims.prompts };
}

function sent(link: Link) {
  return link.sim.received.map((r) => `${r.mti}:${r.answer}`);
}

function rows(spool: Spool) {
  return spool.journal.list().map((r) => r.state);
}

t.test(
  'a stripe-only card (service code 101): accepted at once, no PIN, approved online with DE35 and entry mode 901',
  async (t) => {
    const { link, spool, swipe, deps, prompts } = await setUp(t);
    const result = await payBySwipe(deps(), { amount: 1800, waybill: 'RR123456785CH' }, await swipe('magstripe-only'));
    t.match(result, {
      outcome: 'approved',
      responseCode: '00',
      authCode: /^\d{6}$/,
      signatureRequired: true,
      receipt: { panLast4: '1111' },
    });
    t.equal(prompts(), 0, 'no PIN asked');
    t.same(sent(link), ['0200:00']);
    t.equal(link.sim.received[0]!.entryMode, '901', 'DE22: stripe, PIN capable');
    t.match(spool.journal.get(result.journalId!), {
      state: 'approved',
      panMasked: '411111******1111',
      holdsSensitiveData: false,
    });
    t.notMatch(JSON.stringify(result), '4111111111111111');
  },
);

t.test('a chip card swiped: insert the chip instead; nothing journaled or sent', async (t) => {
  const { link, spool, swipe, deps } = await setUp(t);
  const result = await payBySwipe(deps(), { amount: 1800 }, await swipe('visa-dda'));
  t.match(result, { outcome: 'use-chip', reason: /service code 201: the card has a chip, insert it/ });
  t.same(rows(spool), []);
  t.same(sent(link), []);
});

t.test('the same chip card after its chip failed: a fallback swipe (entry mode 801), approved', async (t) => {
  const { link, spool, swipe, deps } = await setUp(t);
  const result = await payBySwipe(deps(), { amount: 1800 }, await swipe('visa-dda'), {
    chipFailure: { reason: 'chip mute' },
  });
  t.match(result, { outcome: 'approved', reason: /chip fallback/ });
  t.same(sent(link), ['0200:00']);
  t.equal(link.sim.received[0]!.entryMode, '801', 'DE22: fallback from chip');
  t.same(rows(spool), ['approved']);
});

t.test(
  'a stripe whose PAN fails the Luhn check is a bad read; an expired card is declined at the terminal; neither is sent',
  async (t) => {
    const { link, spool, swipe, deps } = await setUp(t);
    const badRead = await payBySwipe(
      deps(),
      { amount: 1800 },
      await swipe({ track2: ';4111111111111112=30121011234500000000?' }),
    );
    t.match(badRead, { outcome: 'failed', reason: /swipe again/ });
    const expired = await payBySwipe(
      deps(),
      { amount: 1800 },
      await swipe({ track2: ';4111111111111111=20011011234500000000?' }),
    );
    t.match(expired, { outcome: 'declined', reason: 'the card has expired' });
    t.same(rows(spool), []);
    t.same(sent(link), []);
  },
);

t.test(
  'service code 120 (PIN required): the PIN pad is asked, the block goes in DE52; the issuer checks it',
  async (t) => {
    const { link, swipe, deps, prompts } = await setUp(t, { pin: '1234' });
    // visa-dda's PAN with a stripe service code that requires a PIN, as a fallback swipe.
    const result = await payBySwipe(
      deps(),
      { amount: 1800 },
      await swipe({ track2: ';4761739001010119=30121201143800000?' }),
      { chipFailure: { reason: 'chip mute' } },
    );
    t.equal(prompts(), 1);
    t.match(result, { outcome: 'approved', signatureRequired: false });
    t.same(sent(link), ['0200:00'], 'the acquirer decrypted the DUKPT PIN block and found the PIN right');
  },
);

t.test(
  'service code 106 (PIN if a PIN pad is present): the PIN pad is asked and the acquirer checks DE52',
  async (t) => {
    const { link, swipe, deps, prompts } = await setUp(t, { pin: '1234' });
    const result = await payBySwipe(
      deps(),
      { amount: 1800 },
      await swipe({ track2: ';4761739001010119=30121061143800000?' }),
    );
    t.equal(prompts(), 1);
    t.match(result, { outcome: 'approved', entry: 'stripe', signatureRequired: false });
    t.same(sent(link), ['0200:00']);
    t.equal(link.sim.received[0]!.hasPinBlock, true, 'DE52 went to the acquirer');
  },
);

t.test(
  'a terminal that asks for the PIN and loses the block on the way is declined 55 by the acquirer (service codes 120 and 106)',
  async (t) => {
    const { link, spool, swipe, deps, prompts } = await setUp(t, { pin: '1234' });
    for (const serviceCode of ['120', '106']) {
      const d = deps();
      // The mutant the acquirer must catch: the request leaves without its PIN block (DE52) and KSN.
      const purchase = d.client.purchase.bind(d.client);
      d.client.purchase = ({ pinBlock: _lost, ksn: _ksn, ...input }) => purchase(input);
      const result = await payBySwipe(
        d,
        { amount: 1800 },
        await swipe({ track2: `;4761739001010119=3012${serviceCode}1143800000?` }),
      );
      t.match(result, { outcome: 'declined', responseCode: '55' }, `service code ${serviceCode}: no DE52, 55`);
      t.match(link.sim.received.at(-1)!, { hasPinBlock: false, answer: '55', refusal: /^no PIN block \(DE52\)/ });
    }
    t.equal(prompts(), 2, 'the PIN was asked each time');
    t.same(
      spool.journal.list().map((r) => r.state),
      ['declined', 'declined'],
    );
  },
);

t.test(
  'no answer: the authorization is reversed and the row ends reversed; the courier is told to take cash or retry',
  async (t) => {
    const { link, spool, swipe, deps } = await setUp(t, { rules: [{ mti: '0200', action: 'silent', times: 1 }] });
    const result = await payBySwipe(deps(200), { amount: 1800 }, await swipe('magstripe-only'));
    t.match(result, { outcome: 'failed', reason: /take cash or try again/ });
    t.same(sent(link), ['0200:no answer', '0400:00']);
    t.equal(spool.journal.get(result.journalId!)!.state, 'reversed');
  },
);

t.test(
  'a fallback swipe must be the card whose chip failed: another chip card is asked for its chip, nothing sent',
  async (t) => {
    const { link, spool, swipe, deps } = await setUp(t);
    const chipFailure = { reason: 'chip mute', cardKey: cardKeyOf('5413330089020011') };
    const result = await payBySwipe(deps(), { amount: 1800 }, await swipe('visa-dda'), { chipFailure });
    t.match(result, { outcome: 'use-chip', reason: /insert it \(this is not the card whose chip failed\)/ });
    t.same(sent(link), []);
    t.same(rows(spool), []);
    const same = await payBySwipe(deps(), { amount: 1800 }, await swipe('visa-dda'), {
      chipFailure: { reason: 'chip mute', cardKey: cardKeyOf('4761739001010119') },
    });
    t.match(same, { outcome: 'approved', entry: 'fallback' }, 'the same PAN falls back');
  },
);

t.test(
  `a card falls back at most ${FALLBACKS_PER_CARD_PER_DAY} times a day, then its fallback is declined at the terminal`,
  async (t) => {
    const { link, swipe, deps } = await setUp(t);
    const d = deps();
    for (let i = 0; i < FALLBACKS_PER_CARD_PER_DAY; i++) {
      t.match(
        await payBySwipe(d, { amount: 100 + i }, await swipe('visa-dda'), { chipFailure: { reason: 'chip mute' } }),
        { outcome: 'approved' },
      );
    }
    const refused = await payBySwipe(d, { amount: 500 }, await swipe('visa-dda'), {
      chipFailure: { reason: 'chip mute' },
    });
    t.match(refused, { outcome: 'declined', reason: /fallen back .* 3 times today: its chip must be repaired/ });
    t.equal(sent(link).length, FALLBACKS_PER_CARD_PER_DAY, 'the refused fallback was not sent');
  },
);

t.test('cancelled before the request leaves: nothing journaled or sent', async (t) => {
  const { link, spool, swipe, deps } = await setUp(t);
  const controller = new AbortController();
  const swiped = await swipe('magstripe-only');
  controller.abort();
  const result = await payBySwipe(deps(), { amount: 1800, signal: controller.signal }, swiped);
  t.match(result, { outcome: 'cancelled' });
  t.same(sent(link), []);
  t.same(rows(spool), []);
});
