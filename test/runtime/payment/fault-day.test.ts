/**
 * A courier's day of 200 card payments against `codpos sim host` (a separate process) with
 * random faults: silent, late, dropped, declined 05 and 91, partially approved (10), and
 * reversals the host now and then does not answer. Chip + PIN and
 * stripe cards through the real reader and PIN pad drivers, the host client over TCP, a real
 * spool. At the end: no STAN reused, a reversal before any new financial request every time,
 * every reversal acknowledged, no payment refused "not sent" unless the reversal it sent first
 * met a host that did not answer, and the terminal's and the host's settlement totals equal.
 */
import t from 'tap';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { validateConfig } from '../../../config/load.js';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import type { IsoMessage } from '../../../emv/iso8583/index.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { HostChannel, channelOptionsFromConfig } from '../../../runtime/host/channel.js';
import { HostMux } from '../../../runtime/host/mux.js';
import { HostClient } from '../../../runtime/host/client.js';
import { payByChip, type CardPaymentResult } from '../../../runtime/payment/card-payment.js';
import { payBySwipe, type Swipe } from '../../../runtime/payment/swipe-payment.js';
import { simPayTerminal, openSimPaymentDevices } from '../../../runtime/payment/sim-pay.js';
import { codposBin, readJsonLines } from '../../helpers/cli.js';
import { prng } from '../../helpers/prng.js';
import { TERMINAL, openSpool } from '../host/fixtures.js';

const PAYMENTS = 200;
const SEED = 11;
const CARDS = ['visa-dda', 'mc-cda', 'magstripe-only'] as const;

/** What the terminal saw of one exchange: answered, or not (time-out, link dropped). */
interface Seen {
  mti: string;
  answered: boolean;
}

t.test(`a day of ${PAYMENTS} payments against codpos sim host with random faults ends booked right`, async (t) => {
  const faults = 'silent=0.05,late=0.05,drop=0.03,decline05=0.05,decline91=0.05,partial=0.05';
  const child = spawn(
    process.execPath,
    [
      codposBin,
      'sim',
      'host',
      '--port',
      '0',
      '--json',
      '--faults',
      faults,
      '--reversal-faults',
      'silent=0.08',
      '--fault-seed',
      String(SEED),
      '--late-ms',
      '700',
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
    },
  );
  t.teardown(() => child.kill('SIGKILL'));
  const { next } = readJsonLines(child.stdout!);
  const start = await next((l) => 'port' in l);

  const config = validateConfig({});
  const channel = new HostChannel(
    channelOptionsFromConfig(
      { ...config.host, port: Number(start.port) },
      { reconnect: { initialMs: 20, maxMs: 200 } },
    ),
  );
  const mux = new HostMux(channel, { dialect: hostDialect(config.host) });
  await channel.open();
  t.teardown(async () => {
    mux.detach();
    await channel.close();
  });
  // What each payment's exchanges met, seen from the terminal.
  let seen: Seen[] = [];
  const request = mux.request.bind(mux);
  mux.request = async (message: IsoMessage, timeoutMs: number) => {
    try {
      const answer = await request(message, timeoutMs);
      seen.push({ mti: message.mti, answered: true });
      return answer;
    } catch (error) {
      seen.push({ mti: message.mti, answered: false });
      throw error;
    }
  };
  const spool = await openSpool(t);
  // The host answers late after 700 ms: the terminal gives up after 400 and reverses.
  const client = new HostClient({ mux, spool, context: TERMINAL, responseTimeoutMs: 400 });
  const devices = await openSimPaymentDevices(config, '1234');
  t.teardown(() => devices.close());
  const terminal = { ...simPayTerminal(config), terminalId: TERMINAL.terminalId, merchantId: 'CODPOS-MERCHANT' };
  const random = prng(SEED);

  const outcomes: Record<string, number> = {};
  const notSentWithAnswer: string[] = [];
  for (let i = 0; i < PAYMENTS; i++) {
    const card = CARDS[Math.floor(random() * CARDS.length)]!;
    const amount = 100 + Math.floor(random() * 9900);
    seen = [];
    let result: CardPaymentResult;
    if (card === 'magstripe-only') {
      const swiped = once(devices.cardReader, 'swipe') as Promise<[Swipe]>;
      await devices.readerSim.swipe(new VirtualCard(loadCardProfile(card)));
      const [tracks] = await swiped;
      result = await payBySwipe(
        { pinpad: devices.pinpad, client, journal: spool.journal, currency: '840' },
        { amount },
        tracks,
      );
    } else {
      await devices.readerSim.insert(new VirtualCard(loadCardProfile(card)));
      result = await payByChip(
        { card: devices.cardReader, pinpad: devices.pinpad, client, journal: spool.journal, terminal, currency: '840' },
        { amount },
      );
      await devices.readerSim.remove();
    }
    const row = result.journalId === undefined ? undefined : spool.journal.get(result.journalId);
    const notSent = /^not sent/.test(row?.reason ?? '');
    const key = `${result.outcome}${notSent ? ' (not sent)' : ''}${result.approvedAmount !== undefined && result.approvedAmount < amount ? ' (partial)' : ''}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (notSent) {
      // Refused before it left: only a reversal the host did not answer may have stopped it.
      const lastReversal = seen.filter((s) => s.mti.startsWith('040')).at(-1);
      if (seen.some((s) => s.mti === '0200') || lastReversal === undefined || lastReversal.answered)
        notSentWithAnswer.push(`payment ${i}: ${JSON.stringify(seen)}`);
    }
  }
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`);

  // End of day: what is still queued goes (the host may stay silent to a reversal: repeat).
  for (let round = 0; round < 50 && client.pendingReversals() > 0; round++)
    await client.flushPending({ urgent: true }).catch(() => undefined);
  await client.sendPending();
  t.equal(client.pendingReversals(), 0, 'every reversal acknowledged at the end');
  t.same(spool.journal.list({ state: 'reversal_pending' }), [], 'no row waits for its reversal');
  t.same(spool.journal.list({ state: 'pending' }), [], 'no row pending');
  t.same(notSentWithAnswer, [], 'no payment refused "not sent" whose own exchange met a host that answered');
  t.ok((outcomes['approved (partial)'] ?? 0) > 0, 'partial approvals happened');
  t.ok(spool.journal.list({ state: 'reversed', limit: 1000 }).length > 0, 'reversals happened');

  child.stdin!.write('audit tid=COD00001\n');
  const audit = JSON.parse(String((await next((l) => l.command === 'audit')).text)) as {
    stanReused: unknown[];
    financialBeforeReversal: unknown[];
    unreversed: unknown[];
    book: Array<{ count: number; amount: number }>;
  };
  t.same(audit.stanReused, [], 'no STAN reused');
  t.same(audit.financialBeforeReversal, [], 'a reversal before any new financial request, every time');
  t.same(audit.unreversed, [], 'nothing left unanswered and unreversed at the host');

  const batch = spool.journal.counters.openBatch();
  const totals = spool.journal.totals(batch);
  t.same(
    { count: audit.book[0]?.count, amount: audit.book[0]?.amount },
    totals.purchase,
    "the host's book is the terminal's, partial approvals at their approved amounts",
  );
  const settled = await client.settle({
    batchNumber: batch,
    totals: { debitCount: totals.purchase.count, debitAmount: totals.purchase.amount, creditCount: 0, creditAmount: 0 },
  });
  t.equal(settled.inBalance, true, 'settlement in balance (0510 00)');
});
