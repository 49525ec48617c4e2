/**
 * QR payments through the real daemon (the codposd bundle, test/helpers/cli.ts):
 * - `codposd --sim`: POST /v1/payments/qr in merchant mode answers 202 with the code, the
 *   simulated wallet pays it through /v1/sim/wallet, the events say show-code then paid, and
 *   GET /v1/payments/qr/{id} says paid.
 * - A SIGKILL while a payment waits, the PSP simulator in this test's
 *   process on its own port: the wallet pays meanwhile, and after the restart the row is
 *   resolved by query to paid; in a second case the order is cancelled at the PSP meanwhile and
 *   the row ends cancelled.
 * Run `npm run build` first.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startCodposd, waitForLogLine } from '../../helpers/cli.js';
import { call, follow } from '../daemon-fixtures.js';
import { orderRefOf } from '../../../runtime/payment/qr-order-ref.js';
import { QR_MERCHANT, QR_SECRET, QR_TERMINAL, startPspSim } from './qr-fixtures.js';

/** Waits until GET /v1/payments/qr/{id} says `state` (the daemon moves it in the background). */
async function untilState(socketPath: string, id: string, state: string): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  for (let i = 0; i < 2000; i++) {
    const answer = await call(socketPath, 'GET', `/v1/payments/qr/${id}`);
    last = answer.json;
    if ((last.payment as { state?: string } | undefined)?.state === state) return last;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`QR payment ${id} never became ${state}: ${JSON.stringify(last)}`);
}

function started(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const daemon = startCodposd(args, { env });
  t.teardown(() => {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  });
  return daemon;
}

t.test('codposd --sim: a merchant-presented code shown, paid by the simulated wallet', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'codpos-qr-sim-'));
  const daemon = started(t, ['--sim'], { CODPOS_DATA__DIR: dataDir });
  await waitForLogLine(daemon, 'ready');
  const socketPath = join(dataDir, 'codposd.sock');
  const events = follow(socketPath);
  t.teardown(() => events.close());

  const shown = await call(socketPath, 'POST', '/v1/payments/qr', {
    mode: 'merchant',
    amount: 2500,
    waybill: 'RR123456785CH',
  });
  t.equal(shown.status, 202, 'accepted at once, the outcome to come');
  t.match(shown.json, { state: 'pending', amount: 2500, waybill: 'RR123456785CH', payload: /^000201010212/ });
  const id = shown.json.id as string;
  await events.until('payment.qr');
  t.match(events.text(), new RegExp(`event: payment\\.qr\\ndata: \\{[^\\n]*"id":"${id}","state":"show-code"`));

  const paid = await call(socketPath, 'POST', '/v1/sim/wallet', {
    action: 'scan',
    payload: shown.json.payload,
    outcome: 'pay',
  });
  t.match(paid, { status: 200, json: { outcome: 'paid' } });
  const view = await untilState(socketPath, id, 'paid');
  t.match(view, { payment: { id, state: 'paid', wallet: 'simwallet', amount: 2500 } });
  t.same(
    (view.history as Array<{ to: string }>).map((move) => move.to),
    ['pending', 'paid'],
  );
  for (let i = 0; i < 1000 && !/"state":"paid"/.test(events.text()); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.match(events.text(), new RegExp(`event: payment\\.qr\\ndata: \\{[^\\n]*"id":"${id}","state":"paid"`));
  // The paid receipt prints by itself on the simulated printer; a reprint says so.
  for (let i = 0; i < 1000 && !events.text().includes(`"qrPaymentId":"${id}"`); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  t.match(events.text(), new RegExp(`event: receipt\\.printed\\ndata: \\{[^\\n]*"qrPaymentId":"${id}"`));
  const receiptPages = async () =>
    ((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][]).filter((page) =>
      page.some((line) => line.includes('PAID BY QR')),
    );
  const printed = await receiptPages();
  t.equal(printed.length, 1, 'one QR receipt');
  t.ok(
    printed[0]!.some((line) => line.includes(id.slice(0, 13))),
    'it names the payment',
  );
  t.notOk(
    printed[0]!.some((line) => /REPRINT/.test(line)),
    'the first print is not a reprint',
  );
  t.match(await call(socketPath, 'POST', `/v1/payments/qr/${id}/receipt`, {}), {
    status: 200,
    json: { journalId: id, printed: true },
  });
  const again = await receiptPages();
  t.equal(again.length, 2);
  t.ok(
    again[1]!.some((line) => /REPRINT/.test(line)),
    'the copy printed on request says REPRINT',
  );
  const day = await call(socketPath, 'GET', '/v1/payments/qr');
  t.match(day.json, { payments: [{ id, state: 'paid' }] });
  t.match(
    await call(socketPath, 'POST', '/v1/payments/qr', { mode: 'merchant', amount: 2500, waybill: 'RR123456785CH' }),
    {
      status: 409,
      json: { error: { code: 'CODPOS_USAGE_QR_ALREADY_PAID', journalId: id } },
    },
  );

  const exit = once(daemon, 'exit');
  daemon.kill('SIGTERM');
  t.same(await exit, [0, null]);
});

/** A box config on `dataDir` whose PSP is the simulator at `url` (devices, acquirer and back-end simulated). */
function boxConfig(dataDir: string, url: string): string {
  const file = join(dataDir, 'box.json');
  const sim = { kind: 'sim' };
  writeFileSync(
    file,
    JSON.stringify({
      terminal: { id: QR_TERMINAL, currency: '978' },
      data: { dir: dataDir },
      devices: {
        scanner: { transport: sim },
        cardReader: { transport: sim },
        pinpad: { transport: sim },
        printer: { transport: sim },
      },
      host: { mode: 'sim' },
      uplink: { mode: 'sim' },
      psp: {
        url,
        merchantId: QR_MERCHANT,
        terminalId: QR_TERMINAL,
        signing: { scheme: 'hmac-sha256', secret: QR_SECRET.toString('utf8') },
      },
      qr: {
        merchant: {
          name: 'CODPOS TEST COURIER',
          city: 'ZURICH',
          country: 'CH',
          accounts: [{ id: '26', globallyUniqueIdentifier: 'org.codpos.simwallet', fields: { '01': QR_MERCHANT } }],
        },
        // The courier would wait long: the kill, not the wait, ends this one.
        waitMs: 600_000,
        queryIntervalMs: 60_000,
        resolver: { initialMs: 50, maxMs: 500 },
      },
    }),
  );
  return file;
}

for (const meanwhile of ['paid', 'cancelled'] as const) {
  t.test(
    `SIGKILL while a QR payment waits; the order ${meanwhile} at the PSP meanwhile; the restart resolves it`,
    async (t) => {
      const { sim, url } = await startPspSim(t);
      const dataDir = mkdtempSync(join(tmpdir(), 'codpos-qr-kill-'));
      const config = boxConfig(dataDir, url);
      const socketPath = join(dataDir, 'codposd.sock');

      const first = started(t, ['--config', config]);
      await waitForLogLine(first, 'ready');
      const shown = await call(socketPath, 'POST', '/v1/payments/qr', {
        mode: 'merchant',
        amount: 1999,
        waybill: 'EE123456785DE',
      });
      t.equal(shown.status, 202, JSON.stringify(shown.json));
      const id = shown.json.id as string;
      const orderRef = orderRefOf(id);
      t.equal(sim.book.get(orderRef)?.order.status, 'created', 'the order is at the PSP');

      const killed = once(first, 'exit');
      first.kill('SIGKILL');
      t.same(await killed, [null, 'SIGKILL']);

      if (meanwhile === 'paid')
        t.equal(sim.wallet.scan(shown.json.payload as string, { outcome: 'pay' }).outcome, 'paid');
      else {
        // The order expires unpaid at the PSP (as its own timer would cancel it).
        sim.book.setStatus(sim.book.get(orderRef)!, 'cancelled');
      }

      const second = started(t, ['--config', config]);
      await waitForLogLine(second, 'ready');
      const view = await untilState(socketPath, id, meanwhile);
      t.match(view, { payment: { id, state: meanwhile, waybill: 'EE123456785DE' } });
      t.match((view.history as Array<{ reason: string | null }>).at(-1)?.reason, /resolver/);
      t.equal(sim.book.list().length, 1, 'one order at the PSP, nothing sent twice');
      t.equal(sim.book.get(orderRef)?.order.status, meanwhile, 'the row says what the PSP says');

      const exit = once(second, 'exit');
      second.kill('SIGTERM');
      t.same(await exit, [0, null]);
    },
  );
}
