/**
 * The reversal-first host client against the simulator over TCP, with a real spool file:
 * declines are results, a time-out queues a reversal that goes out before the next
 * request and survives the spool being closed and reopened, advices follow reversals,
 * settlement compares totals.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { PosError } from '../../../config/errors.js';
import { HostClient } from '../../../runtime/host/client.js';
import { HostChannel, channelOptionsFromConfig } from '../../../runtime/host/channel.js';
import { HostMux } from '../../../runtime/host/mux.js';
import type { IsoFields } from '../../../emv/iso8583/index.js';
import { STREAMS, Spool } from '../../../spool/index.js';
import { TERMINAL, answeringLink, openSpool, startLink, tempSpool, until, type Link } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const FAST_RETRY = { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 };

async function clientOn(
  link: Link,
  spool: Awaited<ReturnType<Awaited<ReturnType<typeof tempSpool>>['open']>>,
  responseTimeoutMs = 2000,
) {
  return new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs, log: link.log.log });
}

t.test(
  'a purchase the issuer declines is a result (outcome declined, code 51), not an error; an approval carries an auth code',
  async (t) => {
    const link = await startLink({
      rules: [{ mti: '0200', amountAtLeast: 100_000, action: 'decline', responseCode: '51' }],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = await clientOn(link, spool);
    const declined = await client.purchase({
      amount: 250_000,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
    });
    t.equal(declined.outcome, 'declined');
    t.equal(declined.responseCode, '51');
    t.equal(declined.authCode, undefined);
    const approved = await client.purchase({
      amount: 1500,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
    });
    t.equal(approved.outcome, 'approved');
    t.match(approved.authCode, /^[0-9]{6}$/);
    t.equal(approved.request.fields[11], '000002', 'STANs come from the spool counter, one each');
    t.equal(spool.journal.counters.current('stan'), 2);
    const unknown = await client.purchase({
      amount: 1500,
      card: { pan: '4000000000000002', expiry: '2812' },
      posEntryMode: '012',
    });
    t.equal(unknown.outcome, 'declined', 'a card the issuer does not know: 14');
    t.equal(unknown.responseCode, '14');
  },
);

t.test(
  'the KSN (field 62) goes with a PIN block only: a purchase without DE52 carries no KSN, one with DE52 carries it upper-case',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = await clientOn(link, spool);
    const ksn = 'ffff9876543210e00001';
    const withoutPin = await client.purchase({
      amount: 1500,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
      ksn,
    });
    t.equal(withoutPin.request.fields[52], undefined);
    t.equal(
      withoutPin.request.fields[62],
      undefined,
      'a KSN without a PIN block would tell the acquirer of a PIN that is not there',
    );
    const withPin = await client.purchase({
      amount: 1500,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
      ksn,
      pinBlock: Buffer.alloc(8, 0x11),
    });
    t.equal(withPin.request.fields[62], 'FFFF9876543210E00001');
    t.same(withPin.request.fields[52], Buffer.alloc(8, 0x11));
  },
);

t.test("host.reversalStan 'original': the 0400 carries the STAN of the purchase it reverses", async (t) => {
  const link = await startLink({ rules: [{ mti: '0200', action: 'silent', times: 1 }] });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const client = new HostClient({
    mux: link.mux,
    spool,
    context: TERMINAL,
    responseTimeoutMs: 150,
    reversalStan: 'original',
    log: link.log.log,
  });
  const error = await client
    .purchase({ amount: 4200, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' })
    .catch((e: unknown) => e);
  t.equal((error as PosError).code, 'CODPOS_HOST_TIMEOUT');
  await until(() => link.sim.received.length === 2, 'the host to read the reversal');
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0200', '0400'],
  );
  t.equal(link.sim.received[1]!.stan, link.sim.received[0]!.stan, 'the reversal carries the original STAN');
});

t.test('a dead reversal revived by a technician (codpos spool retry) goes out as the repeat 0401', async (t) => {
  const link = await startLink({
    rules: [
      { mti: '0200', action: 'silent', times: 1 },
      { mti: '0400', action: 'silent', times: 1 },
    ],
  });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const client = await clientOn(link, spool, 150);
  const error = await client
    .purchase({ amount: 4200, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' })
    .catch((e: unknown) => e);
  const reversalId = (error as PosError).details?.reversalId as string;
  await until(() => link.sim.received.length === 2, 'the host to read the first reversal');
  // The reversal is given up on (dead-lettered), then revived by hand: its attempt count starts again.
  spool.db.prepare("UPDATE outbox SET state = 'dead', dead_at = 1 WHERE id = ?").run(reversalId);
  spool.outbox.retry(reversalId);
  t.equal(spool.outbox.get(reversalId)!.attempts, 0);
  await client.sendPending();
  await until(() => link.sim.received.length === 3, 'the host to read the revived reversal');
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0200', '0400', '0401'],
  );
  t.equal(client.pendingReversals(), 0);
});

t.test(
  'a time-out queues a reversal; it goes out (as 0401 after a failed 0400) before the next purchase, even after the spool is reopened',
  async (t) => {
    const store = await tempSpool({ [STREAMS.reversal]: { backoff: FAST_RETRY } });
    t.teardown(() => store.remove());
    // The purchase gets no answer, and neither does the first try of its reversal.
    const link = await startLink({
      rules: [
        { mti: '0200', action: 'silent', times: 1 },
        { mti: '0400', action: 'silent', times: 1 },
      ],
    });
    t.teardown(() => link.close());
    let spool = await store.open();
    let client = await clientOn(link, spool, 150);
    const error = await client
      .purchase({
        amount: 4200,
        card: { pan: VISA_PAN, expiry: '2812', panSequenceNumber: '001' },
        posEntryMode: '051',
        iccData: Buffer.from('9F2608AABBCCDDEEFF0011', 'hex'),
      })
      .catch((e: unknown) => e);
    t.ok(error instanceof PosError);
    t.equal((error as PosError).code, 'CODPOS_HOST_TIMEOUT');
    const reversalId = (error as PosError).details?.reversalId as string;
    t.ok(reversalId, 'the error names the queued reversal');
    const tried = spool.outbox.get(reversalId)!;
    t.equal(tried.attempts, 1, 'the reversal was tried at once');
    t.match(tried.lastError, /^no 0410 .* for 0400 STAN/, 'it left and got no answer');
    await until(() => link.sim.received.length === 2, 'the host to read the reversal');
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0200', '0400'],
      'the host saw the purchase, then its reversal',
    );
    t.equal(client.pendingReversals(), 1, 'unanswered, it stays in the spool');
    const purchaseStan = link.sim.received[0]!.stan!;
    const reversalStan = link.sim.received[1]!.stan;
    t.equal(
      reversalStan,
      String(Number(purchaseStan) + 1).padStart(6, '0'),
      'the reversal is a new message: the next STAN from the spool counter',
    );

    // What the spool keeps in clear has no PAN and no chip data; they are sealed.
    spool.close();
    const raw = new Database(store.file, { readonly: true });
    const row = raw.prepare('SELECT payload, sealed FROM outbox WHERE id = ?').get(reversalId) as {
      payload: string;
      sealed: Buffer | null;
    };
    raw.close();
    t.notMatch(row.payload, VISA_PAN);
    t.notMatch(row.payload, /AABBCCDDEEFF/i);
    t.ok(row.sealed, 'PAN and chip data are sealed');

    // "Reboot": a new spool handle on the same file, a new link, a new client.
    link.sim.received.length = 0;
    spool = await store.open();
    t.teardown(() => spool.close());
    const channel = new HostChannel(channelOptionsFromConfig({ ...link.config.host, port: link.sim.port }));
    const mux = new HostMux(channel, { dialect: link.dialect });
    t.teardown(async () => {
      mux.detach();
      await channel.close();
    });
    await channel.open();
    client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 2000 });
    t.equal(client.pendingReversals(), 1, 'the reversal survived the restart');
    const next = await client.purchase({ amount: 1000, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' });
    t.equal(next.outcome, 'approved');
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0401', '0200'],
      'the repeat reversal went out first',
    );
    t.equal(link.sim.received[0]!.stan, reversalStan, 'the repeat keeps the STAN of the 0400 it repeats');
    t.equal(link.sim.received[0]!.original, '0200' + purchaseStan, 'DE90 names the original');
    t.equal(client.pendingReversals(), 0);
    t.equal(spool.outbox.get(reversalId)!.state, 'forwarded', 'acknowledged by the host');
  },
);

t.test(
  'a payment that needs the link sends the pending reversal at once, whatever its retry time; the host answers it and the payment goes',
  async (t) => {
    const link = await startLink({
      rules: [
        { mti: '0200', action: 'silent', times: 1 },
        { mti: '0400', action: 'silent', times: 1 },
      ],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t); // default backoff: the failed reversal's retry is a second or more away
    const client = await clientOn(link, spool, 120);
    await t.rejects(client.purchase({ amount: 700, card: { pan: VISA_PAN }, posEntryMode: '012' }), {
      code: 'CODPOS_HOST_TIMEOUT',
    });
    const reversal = spool.outbox.list({ stream: 'reversal' })[0]!;
    t.ok(reversal.availableAt > Date.now(), 'the reversal waits for its retry time');
    // The background sender keeps to the retry time (only a payment waiting for the link overrides it).
    t.equal(await client.sendPending(), 0, 'the background sender sends nothing before the retry time');
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0200', '0400'],
    );
    const next = await client.purchase({ amount: 800, card: { pan: VISA_PAN }, posEntryMode: '012' });
    t.equal(next.outcome, 'approved', 'the courier was not held up by the retry timer');
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:no answer', '0400:no answer', '0401:00', '0200:00'],
      'the repeat reversal went first, then the purchase',
    );
  },
);

t.test(
  'while the host does not answer the reversal, no new financial request goes out (CODPOS_HOST_REVERSAL_PENDING)',
  async (t) => {
    const link = await startLink({
      rules: [
        { mti: '0200', action: 'silent', times: 1 },
        { mti: '0400', action: 'silent' },
        { mti: '0401', action: 'silent' },
      ],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = await clientOn(link, spool, 120);
    await t.rejects(client.purchase({ amount: 700, card: { pan: VISA_PAN }, posEntryMode: '012' }), {
      code: 'CODPOS_HOST_TIMEOUT',
    });
    const blocked = await client
      .purchase({ amount: 800, card: { pan: VISA_PAN }, posEntryMode: '012' })
      .catch((e: unknown) => e);
    t.equal((blocked as PosError).code, 'CODPOS_HOST_REVERSAL_PENDING');
    t.equal((blocked as PosError).area, 'HOST', 'the kernel reads it as unable to go online');
    await t.rejects(
      client.settle({ batchNumber: 1, totals: { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 } }),
      { code: 'CODPOS_HOST_REVERSAL_PENDING' },
    );
    const echo = await client.network('echo');
    t.equal(echo.responseCode, '00', 'network management still works');
    // The echo's answer came after everything sent before it on the same connection.
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0200', '0400', '0401', '0401', '0800'],
      'only the reversal was tried again before each request; no new 0200',
    );
  },
);

t.test('a dead-lettered reversal still blocks new financial requests, naming it', async (t) => {
  const link = await startLink({
    rules: [
      { mti: '0200', action: 'silent', times: 1 },
      { mti: '0400', action: 'silent', times: 1 },
    ],
  });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const client = await clientOn(link, spool, 120);
  const error = await client
    .purchase({ amount: 700, card: { pan: VISA_PAN }, posEntryMode: '012' })
    .catch((e: unknown) => e);
  spool.db
    .prepare("UPDATE outbox SET state = 'dead', dead_at = 1 WHERE id = ?")
    .run((error as PosError).details?.reversalId);
  const blocked = await client
    .purchase({ amount: 800, card: { pan: VISA_PAN }, posEntryMode: '012' })
    .catch((e: unknown) => e);
  t.match(blocked, { code: 'CODPOS_HOST_REVERSAL_PENDING', message: /1 dead-lettered: .*codpos spool retry/ });
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0200', '0400'],
  );
});

t.test(
  'advices go after reversals and are acknowledged; settlement is in balance only when the totals agree',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = await clientOn(link, spool);
    t.equal((await client.network('sign-on')).outcome, 'approved');
    const approved = await client.purchase({
      amount: 1500,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
    });
    t.equal(approved.outcome, 'approved');
    const adviceId = await client.advise({
      amount: 2500,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '051',
      approvedAt: new Date('2026-11-29T09:00:00Z'),
      authCode: 'Y1',
    });
    t.equal(spool.outbox.get(adviceId)!.state, 'forwarded');
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0800', '0200', '0220'],
    );

    const wrong = await client.settle({
      batchNumber: 1,
      totals: { debitCount: 1, debitAmount: 1500, creditCount: 0, creditAmount: 0 },
    });
    t.equal(wrong.inBalance, false, 'the host has two debits');
    t.equal(wrong.responseCode, '95');
    const right = await client.settle({
      batchNumber: 1,
      totals: { debitCount: 2, debitAmount: 4000, creditCount: 0, creditAmount: 0 },
    });
    t.equal(right.inBalance, true);
    t.equal(right.responseCode, '00');
  },
);

t.test(
  'with a journal row: its STAN is used, and a time-out moves it to reversal_pending in the commit that queues the reversal',
  async (t) => {
    const link = await startLink({
      rules: [
        { mti: '0200', action: 'silent', times: 1 },
        { mti: '0400', action: 'silent', times: 1 },
      ],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t);
    const client = await clientOn(link, spool, 120);
    spool.journal.counters.next('stan'); // the journal's STAN is not simply the next counter value the client would take
    const txn = spool.journal.begin({ amount: 3100, currency: '840', pan: VISA_PAN });
    const error = await client
      .purchase({
        amount: 3100,
        card: { pan: VISA_PAN, expiry: '2812' },
        posEntryMode: '012',
        journal: { id: txn.id, stan: txn.stan },
      })
      .catch((e: unknown) => e);
    t.equal((error as PosError).code, 'CODPOS_HOST_TIMEOUT');
    await until(() => link.sim.received.length === 2, 'the host to read the purchase and its reversal');
    t.equal(link.sim.received[0]!.stan, String(txn.stan).padStart(6, '0'), 'DE11 is the journal row STAN');
    t.equal(spool.journal.get(txn.id)!.state, 'reversal_pending');
    const reversal = spool.outbox.get((error as PosError).details?.reversalId as string);
    t.equal(reversal?.stream, 'reversal');
    t.equal(reversal?.hasSealed, true);
  },
);

t.test('a spool without a vault key still queues the reversal, without the PAN and chip data', async (t) => {
  const store = await tempSpool();
  const link = await startLink({
    rules: [
      { mti: '0200', action: 'silent', times: 1 },
      { mti: '0400', action: 'silent', times: 1 },
    ],
  });
  const spool = Spool.open({ file: store.file });
  t.teardown(async () => {
    await link.close();
    spool.close();
    store.remove();
  });
  const client = await clientOn(link, spool, 120);
  const error = await client
    .purchase({
      amount: 3200,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
      iccData: Buffer.from('9F2608AABBCCDDEEFF0011', 'hex'),
    })
    .catch((e: unknown) => e);
  const reversal = spool.outbox.get((error as PosError).details?.reversalId as string)!;
  t.equal(reversal.hasSealed, false);
  t.notMatch(JSON.stringify(reversal.payload), VISA_PAN);
  t.ok(link.log.lines.some((l) => l.msg === 'spool has no vault: queued without the PAN and chip data'));
});

t.test('an answer without a response code is CODPOS_HOST_BAD_RESPONSE and the purchase is reversed', async (t) => {
  const { mux, seen } = await answeringLink(t, (request): IsoFields => (request.mti === '0200' ? {} : { 39: '00' })); // the 0210 lacks DE39
  const spool = await openSpool(t);
  const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 2000 });
  const error = await client
    .purchase({ amount: 100, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' })
    .catch((e: unknown) => e);
  t.equal((error as PosError).code, 'CODPOS_HOST_BAD_RESPONSE');
  t.same(
    seen.map((m) => m.mti),
    ['0200', '0400'],
    'reversed at once',
  );
  t.equal(client.pendingReversals(), 0);
});

t.test(
  'a reversal answered with a retry code (96) stays queued; one answered 25 (original not found) is done',
  async (t) => {
    const link = await startLink({
      rules: [
        { mti: '0200', amount: 1, action: 'silent', times: 1 },
        { mti: '0400', action: 'decline', responseCode: '96', times: 1 },
        { mti: '0200', amount: 2, action: 'silent', times: 1 },
        { mti: '0400', action: 'decline', responseCode: '25', times: 1 },
      ],
    });
    t.teardown(() => link.close());
    const spool = await openSpool(t, { [STREAMS.reversal]: { backoff: FAST_RETRY } });
    const client = await clientOn(link, spool, 120);
    const first = await client
      .purchase({ amount: 1, card: { pan: VISA_PAN }, posEntryMode: '012' })
      .catch((e: unknown) => e);
    t.equal((first as PosError).code, 'CODPOS_HOST_TIMEOUT');
    t.equal(client.pendingReversals(), 1, '96 is not an acknowledgement');
    t.match(spool.outbox.get((first as PosError).details?.reversalId as string)!.lastError, 'host answered 96 (retry)');
    await t.rejects(client.purchase({ amount: 2, card: { pan: VISA_PAN }, posEntryMode: '012' }), {
      code: 'CODPOS_HOST_TIMEOUT',
    });
    t.same(
      link.sim.received.map((r) => `${r.mti}:${r.answer}`),
      ['0200:no answer', '0400:96', '0401:00', '0200:no answer', '0400:25'],
    );
    t.equal(client.pendingReversals(), 0, 'the host has the second reversal even though it found no original');
  },
);
