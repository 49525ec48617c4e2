/**
 * The edges of a chip payment that decide whether the card's stripe may be used instead, and
 * whether it can still be cancelled: only the chip's own failure
 * unlocks fallback; a PIN pad that fails is noted in the TVR and the CVM list goes on; a spool
 * error or a bad amount is not a chip failure; a payment cancels until the card has answered
 * GENERATE AC. Real card reader and PIN pad simulators behind their drivers, the acquirer
 * simulator over TCP, a real spool.
 */
import t, { type Test } from 'tap';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { PosError } from '../../../config/errors.js';
import { HostClient } from '../../../runtime/host/client.js';
import { payByChip, type CardPaymentDeps } from '../../../runtime/payment/card-payment.js';
import { openSimPaymentDevices } from '../../../runtime/payment/sim-pay.js';
import type { PinEntryResult } from '../../../drivers/pinpad/driver.js';
import type { Spool } from '../../../spool/index.js';
import { TERMINAL, TEST_TERMINAL, openSpool, startLink, type Link } from '../host/fixtures.js';

async function setUp(t: Test, profile: string, pin = '1234') {
  const link = await startLink();
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const sims = await openSimPaymentDevices(link.config, pin);
  t.teardown(() => sims.close());
  await sims.readerSim.insert(new VirtualCard(loadCardProfile(profile)));
  const deps = (overrides: Partial<CardPaymentDeps> = {}): CardPaymentDeps => ({
    card: sims.cardReader,
    pinpad: sims.pinpad,
    client: new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 }),
    journal: spool.journal,
    terminal: TEST_TERMINAL,
    currency: '840',
    clock: TERMINAL.clock,
    random: () => 99,
    ...overrides,
  });
  return { link, spool, deps };
}

function nothingHappened(t: Test, link: Link, spool: Spool): void {
  t.same(spool.journal.list(), [], 'nothing journaled');
  t.same(link.sim.received, [], 'nothing sent');
}

t.test('a mute chip is a chip failure: the payment fails and names it, so the same card may be swiped', async (t) => {
  const { link, spool, deps } = await setUp(t, 'mute-chip');
  const result = await payByChip(deps(), { amount: 2500 });
  t.match(result, { outcome: 'failed', chipFailure: { reason: /mute|answer/i } });
  nothingHappened(t, link, spool);
});

t.test(
  'a PIN pad that fails is not the chip failing: TVR "PIN pad not present or not working" is set, the CVM list goes on, no fallback',
  async (t) => {
    const { spool, deps } = await setUp(t, 'visa-dda');
    const deadPad = {
      requestPin: async (): Promise<PinEntryResult> => {
        throw new PosError('CODPOS_DEVICE_PINPAD_TIMEOUT', 'PIN pad on /dev/pts/9 gave no answer within 30000 ms');
      },
    };
    const result = await payByChip(deps({ pinpad: deadPad }), { amount: 2500 });
    t.equal(result.chipFailure, undefined, 'the stripe is not unlocked');
    t.not(result.outcome, 'failed', 'the kernel went on without the PIN');
    const tvr = Buffer.from(result.receipt!.tvr ?? '', 'hex');
    t.equal(tvr[2]! & 0x10, 0x10, 'TVR byte 3 bit 5: PIN pad not present or not working');
    t.equal(spool.journal.list({ state: 'pending' }).length, 0);
  },
);

t.test(
  'a spool that cannot journal the payment fails it without unlocking the stripe, and nothing is sent',
  async (t) => {
    const { link, spool, deps } = await setUp(t, 'visa-dda');
    spool.db.exec(
      `CREATE TEMP TRIGGER disk_full BEFORE INSERT ON card_txn BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
    const result = await payByChip(deps(), { amount: 2500 });
    t.match(result, { outcome: 'failed', reason: /could not be journaled|disk is full/ });
    t.equal(result.chipFailure, undefined);
    nothingHappened(t, link, spool);
  },
);

t.test("an amount beyond the 12 digits of DE4 is the caller's mistake, not a card failure", async (t) => {
  const { link, spool, deps } = await setUp(t, 'visa-dda');
  await t.rejects(payByChip(deps(), { amount: 1_000_000_000_000 }), {
    code: 'CODPOS_USAGE_AMOUNT',
    message: /1 to 999999999999/,
  });
  nothingHappened(t, link, spool);
});

t.test(
  'cancelled while the customer types the PIN: the PIN pad entry is ended, nothing journaled or sent',
  async (t) => {
    const { link, spool, deps } = await setUp(t, 'visa-dda');
    const controller = new AbortController();
    let cancelledOnPad = 0;
    let endEntry: ((result: PinEntryResult) => void) | undefined;
    const slowPad = {
      requestPin: () =>
        new Promise<PinEntryResult>((resolve) => {
          endEntry = resolve;
          setImmediate(() => controller.abort());
        }),
      cancel: async () => {
        cancelledOnPad++;
        endEntry?.({ outcome: 'cancelled', reason: 'cancelled by the terminal' });
      },
    };
    const result = await payByChip(deps({ pinpad: slowPad }), { amount: 2500, signal: controller.signal });
    t.match(result, { outcome: 'cancelled' });
    t.equal(cancelledOnPad, 1, 'the PIN pad was told to end the entry');
    nothingHappened(t, link, spool);
  },
);

t.test(
  'cancelled after the PIN but before GENERATE AC: the card is never asked for its cryptogram, nothing journaled or sent',
  async (t) => {
    const { link, spool, deps } = await setUp(t, 'visa-dda');
    const controller = new AbortController();
    const base = deps();
    const padThenAbort = {
      requestPin: async (options: { pan: string }) => {
        const entry = await base.pinpad.requestPin(options);
        controller.abort();
        return entry;
      },
    };
    const result = await payByChip({ ...base, pinpad: padThenAbort }, { amount: 2500, signal: controller.signal });
    t.match(result, { outcome: 'cancelled', reason: /before the card was asked for its cryptogram/ });
    nothingHappened(t, link, spool);
  },
);

t.test('a cancel after the card answered GENERATE AC comes too late: the payment runs to its end', async (t) => {
  const { link, spool, deps } = await setUp(t, 'visa-dda');
  const controller = new AbortController();
  const base = deps();
  // The request is on its way to the host: the card has answered the first GENERATE AC.
  const client = Object.create(base.client) as HostClient;
  client.purchase = (input) => {
    controller.abort();
    return base.client.purchase(input);
  };
  const result = await payByChip({ ...base, client }, { amount: 2500, signal: controller.signal });
  t.match(result, { outcome: 'approved' });
  t.equal(spool.journal.get(result.journalId!)!.state, 'approved');
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0200'],
  );
});
