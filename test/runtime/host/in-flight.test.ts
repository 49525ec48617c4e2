/**
 * An authorization in flight when the terminal stops is reversed at the next start: its
 * reversal is on disk before the request leaves (the held reversal: stream reversal-standby), retired with
 * the answer, and moved to the reversal queue by recoverInterrupted. The power cut is a
 * real one for the process: a child process with the request in flight is SIGKILLed,
 * and the test reopens its SQLite file.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PosError } from '../../../config/errors.js';
import { HostClient } from '../../../runtime/host/client.js';
import { HELD_REVERSAL_STREAM } from '../../../runtime/host/held-reversals.js';
import { STREAMS } from '../../../spool/index.js';
import { TERMINAL, firstQueued, openSpool, startLink, tempSpool, until } from './fixtures.js';

const VISA_PAN = '4761739001010119';
const helper = join(fileURLToPath(new URL('.', import.meta.url)), 'helpers', 'purchase-in-flight.mjs');

function heldReversals(spool: { outbox: { status(): Array<{ stream: string; depth: number }> } }): number {
  return spool.outbox.status().find((s) => s.stream === HELD_REVERSAL_STREAM)?.depth ?? 0;
}

t.test('an answered purchase: the journal row has the answer and no held reversal is left', async (t) => {
  const link = await startLink({
    rules: [{ mti: '0200', amountAtLeast: 100_000, action: 'decline', responseCode: '51' }],
  });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 2000 });
  for (const [amount, state, code] of [
    [1500, 'approved', '00'],
    [150_000, 'declined', '51'],
  ] as const) {
    const txn = spool.journal.begin({
      amount,
      currency: '840',
      pan: VISA_PAN,
      sensitive: { pinBlock: '0123456789ABCDEF', ksn: 'FFFF9876543210E00001' },
    });
    await client.purchase({
      amount,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
      journal: { id: txn.id, stan: txn.stan },
    });
    t.match(
      spool.journal.get(txn.id),
      { state, responseCode: code, holdsSensitiveData: false },
      `${amount}: ${state}, PIN block erased`,
    );
  }
  t.equal(heldReversals(spool), 0, 'every held reversal retired');
  t.equal(await client.recoverInterrupted(), 0, 'nothing to recover');
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0200', '0200'],
    'and nothing reversed',
  );
});

t.test('a purchase timed out: one reversal, the held one retired (recovery later adds none)', async (t) => {
  const link = await startLink({ rules: [{ mti: '0200', action: 'silent', times: 1 }] });
  t.teardown(() => link.close());
  const spool = await openSpool(t);
  const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 150 });
  const txn = spool.journal.begin({ amount: 4200, currency: '840', pan: VISA_PAN });
  const error = await client
    .purchase({
      amount: 4200,
      card: { pan: VISA_PAN, expiry: '2812' },
      posEntryMode: '012',
      journal: { id: txn.id, stan: txn.stan },
    })
    .catch((e: unknown) => e);
  t.equal((error as PosError).code, 'CODPOS_HOST_TIMEOUT');
  await until(() => spool.journal.get(txn.id)!.state === 'reversed', 'the reversal to be acknowledged');
  t.equal(heldReversals(spool), 0);
  t.equal(await client.recoverInterrupted(), 0);
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0200', '0400'],
  );
});

t.test('power cut with the request in flight: the next start reverses it, once', async (t) => {
  const link = await startLink({ rules: [{ mti: '0200', action: 'silent', times: 1 }] });
  t.teardown(() => link.close());
  const store = await tempSpool();
  t.teardown(() => store.remove());
  const child = spawn(
    process.execPath,
    [helper, store.file, join(store.dir, 'keys', 'data.key'), String(link.sim.port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until(() => link.sim.received.length === 1, 'the acquirer to have the purchase');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const { journalId, stan } = JSON.parse(output.trim()) as { journalId: string; stan: number };

  const spool = await store.open();
  t.teardown(() => spool.close());
  t.equal(spool.journal.get(journalId)!.state, 'pending', 'the row was left pending by the power cut');
  t.equal(heldReversals(spool), 1, 'with its reversal held');
  const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 2000 });
  t.equal(await client.recoverInterrupted(), 1, 'recovery queues it');
  t.equal(await client.recoverInterrupted(), 0, 'once');
  // The queued 0400 as it will leave: the PAN back from its sealed copy, DE25 22 (1987:
  // "interrupted"), no DE38 (nothing was approved).
  const reversal = firstQueued(spool, STREAMS.reversal);
  t.equal(reversal.fields[2], '4761739001010119');
  t.equal(reversal.fields[25], '22');
  t.equal(reversal.fields[38], undefined);
  t.equal(spool.journal.get(journalId)!.state, 'reversal_pending');
  t.equal(spool.journal.get(journalId)!.holdsSensitiveData, false, 'the PIN block is gone with the pending state');
  t.equal(await client.sendPending(), 1);
  t.same(
    link.sim.received.map((r) => `${r.mti}:${r.answer}`),
    ['0200:no answer', '0400:00'],
  );
  t.equal(link.sim.received[0]!.stan, String(stan).padStart(6, '0'), 'the purchase carried the journal STAN');
  t.equal(link.sim.received[1]!.original, '0200' + link.sim.received[0]!.stan, 'DE90 names it');
  t.not(link.sim.received[1]!.stan, link.sim.received[0]!.stan, 'the reversal has a STAN of its own');
  t.equal(spool.journal.get(journalId)!.state, 'reversed');
});

t.test(
  'a purchase that cannot leave (the host does not answer the reversal sent first): its row is declined "not sent", not left pending',
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
    const client = new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs: 150 });
    const first = spool.journal.begin({ amount: 4200, currency: '840', pan: VISA_PAN });
    await t.rejects(
      client.purchase({
        amount: 4200,
        card: { pan: VISA_PAN, expiry: '2812' },
        posEntryMode: '012',
        journal: { id: first.id, stan: first.stan },
      }),
      { code: 'CODPOS_HOST_TIMEOUT' },
    );
    const second = spool.journal.begin({ amount: 1000, currency: '840', pan: VISA_PAN });
    await t.rejects(
      client.purchase({
        amount: 1000,
        card: { pan: VISA_PAN, expiry: '2812' },
        posEntryMode: '012',
        journal: { id: second.id, stan: second.stan },
      }),
      { code: 'CODPOS_HOST_REVERSAL_PENDING' },
    );
    t.match(spool.journal.get(second.id), { state: 'declined', reason: /^not sent: .*reversal/ });
    t.equal(spool.journal.get(first.id)!.state, 'reversal_pending');
    t.equal(heldReversals(spool), 0, 'no reversal held for a request that never left');
    t.equal(link.sim.received.filter((r) => r.mti === '0200').length, 1, 'the second 0200 never went out');
  },
);
