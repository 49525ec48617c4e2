/**
 * Power cuts during payments: a terminal paying chip payments one after
 * another is SIGKILLed at random points, 20 times, against an acquirer simulator that now and
 * then stays silent or answers late. After each kill the next start recovers. At the end: no
 * journal row is `pending`, every authorization the card did not complete is reversed at the
 * acquirer, every approval the terminal acknowledged is journaled exactly once, and the
 * acquirer's book equals the terminal's approved payments. The terminal is a real child process
 * (test/runtime/payment/helpers/pay-until-killed.mjs) on a real SQLite file.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcquirerHostSimulator } from '../../../runtime/host/simulator.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { hostFraming } from '../../../runtime/host/channel.js';
import { hostConfig, tempSpool, until } from '../host/fixtures.js';
import { prng } from '../../helpers/prng.js';
import { decodeTlv } from '../../../emv/tlv/index.js';

const ROUNDS = 20;
const SEED = 20261205;
const helper = join(fileURLToPath(new URL('.', import.meta.url)), 'helpers', 'pay-until-killed.mjs');

interface Line {
  ready?: boolean;
  recovered?: boolean;
  pendingReversals?: number;
  amount?: number;
  outcome?: string;
  journalId?: string | null;
  approvedOffline?: boolean;
}

/** The child terminal, its JSON lines as they come, and its exit. */
function terminal(args: string[]): { child: ChildProcess; lines: Line[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [helper, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Line[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, nl)) as Line);
      buffered = buffered.slice(nl + 1);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

t.test(
  `SIGKILL at random points during payments, ${ROUNDS} rounds: nothing pending, every uncompleted authorization reversed, every acknowledged approval journaled once`,
  async (t) => {
    const random = prng(SEED);
    const config = hostConfig();
    const sim = new AcquirerHostSimulator({
      dialect: hostDialect(config.host),
      framing: hostFraming(config.host),
      pinBdk: config.devices.pinpad.sim.bdk,
      pinDukpt: config.devices.pinpad.dukpt,
      // The terminal waits 300 ms for an answer: a late one (400 ms) is a time-out, then a reversal.
      faults: {
        seed: SEED,
        rates: { silent: 0.08, late: 0.08, decline05: 0.05 },
        lateMs: 400,
        reversalRates: { silent: 0.1 },
      },
    });
    const { port } = await sim.start();
    t.teardown(() => sim.stop());
    const store = await tempSpool();
    t.teardown(() => store.remove());
    const key = join(store.dir, 'keys', 'data.key');

    const acknowledged = new Map<string, Line>();
    for (let round = 0; round < ROUNDS; round++) {
      const run = terminal([store.file, key, String(port), 'pay', String(1000 + round * 100)]);
      t.teardown(() => run.child.kill('SIGKILL'));
      const paymentsBeforeCut = Math.floor(random() * 3);
      await until(
        () =>
          run.lines.some((l) => l.ready) &&
          run.lines.filter((l) => l.outcome !== undefined).length >= paymentsBeforeCut,
        `round ${round}: ${paymentsBeforeCut} payment(s)`,
        60_000,
      );
      // Somewhere inside the next payment: reading the card, waiting for the host, completing.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 120)));
      run.child.kill('SIGKILL');
      await run.exited;
      for (const line of run.lines)
        if (line.outcome === 'approved' && line.journalId) acknowledged.set(line.journalId, line);
    }

    const recovery = terminal([store.file, key, String(port), 'recover', '0']);
    t.equal(await recovery.exited, 0, 'the last start recovers and exits');
    t.match(recovery.lines.at(-1), { recovered: true, pendingReversals: 0 }, 'every reversal acknowledged');

    const spool = await store.open();
    t.teardown(() => spool.close());
    const rows = spool.journal.list({ limit: 100_000 });
    t.same(
      rows.filter((r) => r.state === 'pending').map((r) => r.id),
      [],
      'no journal row is pending',
    );
    t.same(
      rows.filter((r) => r.state === 'reversal_pending').map((r) => r.id),
      [],
      'every reversal acknowledged by the acquirer',
    );
    for (const [journalId, line] of acknowledged) {
      const row = rows.filter((r) => r.id === journalId);
      t.equal(row.length, 1, `acknowledged approval ${journalId} journaled once`);
      t.ok(
        ['approved', 'advised', 'offline_approved'].includes(row[0]?.state ?? ''),
        `acknowledged approval of ${line.amount} still stands (${row[0]?.state})`,
      );
    }
    const standing = rows.filter((r) => ['approved', 'advised'].includes(r.state));
    // An approval stands only if its card completed it: its clearing data holds the card's TC (9F27
    // bits 7-8 = 01), not the request's ARQC. One the card never completed was reversed instead.
    const uncompleted = standing
      .filter((r) => !r.offline)
      .filter((r) => {
        const icc = Buffer.from(spool.journal.clearingOf(r.id)?.sealed.iccData ?? '', 'hex');
        const cid = decodeTlv(icc).find((tlv) => tlv.tag === 0x9f27)?.value[0];
        return cid === undefined || (cid & 0xc0) !== 0x40;
      });
    t.same(
      uncompleted.map((r) => r.id),
      [],
      'every approval still standing was completed by its card (TC)',
    );
    const audit = sim.audit('COD00001');
    const book = audit.book.find((b) => b.terminalId === 'COD00001');
    t.same(
      { count: book?.count ?? 0, amount: Number(book?.amount ?? 0) },
      { count: standing.length, amount: standing.reduce((sum, r) => sum + r.approvedAmount, 0) },
      "the acquirer's book is the terminal's standing approvals: nothing it never completed, nothing twice",
    );
    t.same(audit.stanReused, [], 'no STAN reused across the restarts');
    t.same(audit.financialBeforeReversal, [], 'no new purchase before a pending reversal');
    t.same(audit.unreversed, [], 'nothing left unanswered and unreversed');
    const cutAfterApproval = rows.filter((r) =>
      spool.journal.history(r.id).some((h) => /never completed by the card/.test(h.reason ?? '')),
    ).length;
    const cutInFlight = rows.filter((r) =>
      spool.journal.history(r.id).some((h) => /in flight when the terminal stopped/.test(h.reason ?? '')),
    ).length;
    t.comment(
      `${rows.length} rows; ${acknowledged.size} approvals acknowledged; cut with a request in flight ${cutInFlight}, after an approval before the card completed ${cutAfterApproval}`,
    );
  },
);
