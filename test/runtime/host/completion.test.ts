/**
 * What the host client keeps on disk around an authorization, so that no stop, crash or full
 * disk leaves money booked wrong: the journal row and the held
 * reversal are one commit; an approval's held reversal stays until the card completes the
 * payment; start-up reverses an approval the card never completed and leaves no row pending.
 * Real spool files, the acquirer simulator over TCP.
 */
import t from 'tap';
import { HostClient } from '../../../runtime/host/client.js';
import { HELD_REVERSAL_STREAM } from '../../../runtime/host/held-reversals.js';
import { STREAMS, type Spool } from '../../../spool/index.js';
import { TERMINAL, answeringLink, firstQueued, openSpool, startLink } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const card = { pan: VISA_PAN, expiry: '2812' };
const entry = { amount: 4200, currency: '840', pan: VISA_PAN };

function held(spool: Spool): number {
  return spool.outbox.status().find((s) => s.stream === HELD_REVERSAL_STREAM)?.depth ?? 0;
}

t.test(
  'an approval awaiting the card keeps its reversal held; complete() retires it with the final chip data in one commit',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    let journaled: { id: string; stan: number } | undefined;
    const result = await client.purchase({
      amount: 4200,
      card,
      posEntryMode: '012',
      begin: entry,
      onJournaled: (row) => (journaled = row),
      awaitCompletion: true,
    });
    t.equal(result.outcome, 'approved');
    t.equal(result.journalId, journaled?.id, 'the row begun with the request');
    t.equal(spool.journal.get(result.journalId!)!.state, 'approved');
    t.equal(held(spool), 1, 'the reversal stays held until the card completes');
    client.complete(result, { finalIccData: Buffer.from('9F2701409F260811223344556677889F5B0520000000019F', 'hex') });
    t.equal(held(spool), 0, 'retired by the completion');
    t.match(
      spool.journal.clearingOf(result.journalId!)!.sealed,
      { iccData: '9f2701409f260811223344556677889f5b0520000000019f' },
      'the final chip data is what a batch upload re-sends',
    );
  },
);

t.test(
  'a terminal that stops after the approval but before the card completed reverses it at the next start',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const result = await client.purchase({
      amount: 4200,
      card,
      posEntryMode: '012',
      begin: entry,
      awaitCompletion: true,
    });
    // The terminal stops here (no complete(), no reverse()): a new client is the next start.
    const restarted = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    t.equal(await restarted.recoverInterrupted(), 1, 'one reversal queued');
    t.match(spool.journal.get(result.journalId!), { state: 'reversal_pending', reason: /never completed by the card/ });
    t.equal(held(spool), 0);
    // The queued 0400 as it will leave: the PAN back from its sealed copy, DE25 21 (1987: "not
    // completed"), DE38 the approval it undoes, DE11 a new STAN (host.reversalStan new).
    const reversal = firstQueued(spool, STREAMS.reversal);
    t.equal(reversal.mti, '0400');
    t.equal(reversal.fields[2], VISA_PAN);
    t.equal(reversal.fields[25], '21');
    t.equal(reversal.fields[38], result.authCode);
    t.not(reversal.fields[11], result.request.fields[11]);
    await restarted.sendPending();
    t.equal(spool.journal.get(result.journalId!)!.state, 'reversed');
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:00', '0400:00'],
    );
    t.equal(await restarted.recoverInterrupted(), 0, 'nothing twice');
  },
);

t.test(
  'a swipe approval (nothing for a card to complete) retires its held reversal with the answer, and a restart reverses nothing',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const result = await client.purchase({ amount: 4200, card, posEntryMode: '012', begin: entry });
    t.equal(held(spool), 0);
    t.equal(
      await new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 }).recoverInterrupted(),
      0,
    );
    t.equal(spool.journal.get(result.journalId!)!.state, 'approved');
  },
);

t.test(
  'the journal row and the held reversal are one commit: a spool that refuses the reversal leaves no row behind',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    // The disk fills up between the row and its reversal (SQLITE_FULL has the same effect: the statement fails).
    spool.db.exec(
      `CREATE TEMP TRIGGER disk_full BEFORE INSERT ON outbox WHEN NEW.stream = 'reversal-standby' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
    let journaled = false;
    await t.rejects(
      client.purchase({ amount: 4200, card, posEntryMode: '012', begin: entry, onJournaled: () => (journaled = true) }),
      { code: /^CODPOS_SPOOL_/ },
    );
    t.same(spool.journal.list(), [], 'no row: nothing was sent, nothing to reverse');
    t.equal(journaled, false);
    t.same(link.sim.received, [], 'the request never left');
  },
);

t.test('start-up leaves no row pending: a row journaled whose request never left is declined "not sent"', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  // A row begun the old way (a separate commit) and a crash before its reversal was held.
  const orphan = spool.journal.begin(entry);
  const restarted = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
  t.equal(await restarted.recoverInterrupted(), 0, 'nothing to reverse: it never left');
  t.match(spool.journal.get(orphan.id), {
    state: 'declined',
    reason: /^not sent: the terminal stopped before the request left/,
  });
  t.same(spool.journal.list({ state: 'pending' }), []);
  t.same(link.sim.received, []);
});

t.test(
  'host.tcDelivery: advice queues a 0220 with the final chip data at completion; batch-upload keeps it for the upload and sends nothing now',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const finalIccData = Buffer.from('9F2701409F260811223344556677889F5B0520000000019F', 'hex');
    const advices = (spool: Spool) => spool.outbox.status().find((s) => s.stream === STREAMS.advice)?.depth ?? 0;
    for (const tcDelivery of ['advice', 'batch-upload'] as const) {
      const spool = await openSpool(t);
      const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000, tcDelivery });
      const result = await client.purchase({
        amount: 4200,
        card,
        posEntryMode: '012',
        begin: entry,
        awaitCompletion: true,
      });
      client.complete(result, { finalIccData });
      t.equal(
        advices(spool),
        tcDelivery === 'advice' ? 1 : 0,
        `${tcDelivery}: ${tcDelivery === 'advice' ? 'one completion advice' : 'no advice'}`,
      );
      t.match(
        spool.journal.clearingOf(result.journalId!)!.sealed,
        { iccData: finalIccData.toString('hex') },
        `${tcDelivery}: the final chip data in the clearing record either way`,
      );
    }
  },
);

t.test(
  "a completion without final chip data (nothing from the card) keeps the request's DE55 in the clearing record and sends no advice",
  async (t) => {
    // A bare acquirer that approves whatever comes: only how the terminal keeps DE55 is under test.
    const link = await answeringLink(t, () => ({ 38: 'A1B2C3', 39: '00' }));
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const requestIcc = Buffer.from('9F2701809F2608AABBCCDDEEFF0011', 'hex');
    const result = await client.purchase({
      amount: 4200,
      card,
      posEntryMode: '051',
      iccData: requestIcc,
      begin: entry,
      awaitCompletion: true,
    });
    t.equal(result.outcome, 'approved');
    client.complete(result);
    t.equal(held(spool), 0, 'the held reversal is retired');
    t.match(spool.journal.clearingOf(result.journalId!)!.sealed, { iccData: requestIcc.toString('hex') });
    t.equal(spool.outbox.status().find((s) => s.stream === STREAMS.advice)?.depth ?? 0, 0);
  },
);

t.test(
  'a held reversal with no journal row (a purchase begun without one) is queued at the next start and goes out',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    await client.purchase({ amount: 4200, card, posEntryMode: '012', awaitCompletion: true });
    t.equal(held(spool), 1);
    const restarted = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    t.equal(await restarted.recoverInterrupted(), 1);
    t.equal(
      spool.outbox.status().find((s) => s.stream === STREAMS.reversal)?.depth,
      1,
      'queued, with no row to carry it',
    );
    await restarted.sendPending();
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:00', '0400:00'],
    );
  },
);

t.test(
  'a held reversal written while the clock ran ahead (its time still in the future after NTP set it back) is recovered all the same',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    const result = await client.purchase({
      amount: 4200,
      card,
      posEntryMode: '012',
      begin: entry,
      awaitCompletion: true,
    });
    // As if the box's clock had been an hour fast when the held copy was written.
    spool.db
      .prepare('UPDATE outbox SET available_at = ? WHERE stream = ?')
      .run(Date.now() + 3_600_000, HELD_REVERSAL_STREAM);
    const restarted = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 10_000 });
    t.equal(await restarted.recoverInterrupted(), 1, 'recovery does not wait for a retry time');
    t.equal(spool.journal.get(result.journalId!)!.state, 'reversal_pending');
  },
);
