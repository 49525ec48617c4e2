/**
 * Receipts never freeze payments: a printer out of paper (or with its cover open) costs the
 * payment nothing — it is answered with `receiptPrinted: false`, its receipt held in the spool,
 * and the next payment starts at once; a held receipt survives a daemon restart and is printed
 * on request (POST /v1/receipts/reprint), and a receipt printed again says REPRINT.
 */
import t from 'tap';
import { call, follow } from '../daemon-fixtures.js';
import { startDaemonIn, tempDataDir } from './payment-fixtures.js';

async function payWithCard(socketPath: string, amount: number, waybill?: string) {
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
  const paid = await call(socketPath, 'POST', '/v1/payments/card', { amount, ...(waybill ? { waybill } : {}) });
  await call(socketPath, 'POST', '/v1/sim/card', { action: 'remove' });
  return paid;
}

t.test(
  'the printer is out of paper: each payment is answered with its receipt held, the next one starts at once; paper back, the held receipts print on request',
  async (t) => {
    const { socketPath } = await startDaemonIn(t, tempDataDir());
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    t.match(await call(socketPath, 'POST', '/v1/sim/printer', { paper: 'out' }), {
      status: 200,
      json: { status: { paperOut: true } },
    });
    const first = await payWithCard(socketPath, 2500, 'RR123456785CH');
    t.match(first, { status: 200, json: { outcome: 'approved', receiptPrinted: false } });
    await events.until('receipt.held');
    t.match(events.text(), /event: receipt\.held\ndata: \{[^\n]*"reason":"the printer cannot print: [^"]*paper/);
    const second = await payWithCard(socketPath, 1800);
    t.match(
      second,
      { status: 200, json: { outcome: 'approved', receiptPrinted: false } },
      'the next payment was taken, not refused as busy',
    );
    t.match(await call(socketPath, 'GET', `/v1/payments/${first.json.journalId as string}`), {
      json: { receipt: 'held' },
    });
    t.same((await call(socketPath, 'GET', '/v1/sim/printer')).json.pages, [], 'nothing came out');

    await call(socketPath, 'POST', '/v1/sim/printer', { paper: 'in' });
    const reprinted = await call(socketPath, 'POST', '/v1/receipts/reprint', {});
    t.match(
      reprinted,
      { status: 200, json: { printed: [first.json.journalId, second.json.journalId], held: [] } },
      'every held receipt, oldest first',
    );
    const pages = (await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][];
    t.equal(pages.length, 2);
    t.ok(pages[0]!.includes('WAYBILL            RR123456785CH'), "the first payment's receipt");
    t.notOk(pages.flat().includes('*** REPRINT ***'), 'a held receipt printed for the first time is no reprint');
    t.match(await call(socketPath, 'GET', `/v1/payments/${first.json.journalId as string}`), {
      json: { receipt: 'printed' },
    });
    t.match(
      await call(socketPath, 'POST', '/v1/receipts/reprint', {}),
      { json: { printed: [], held: [] } },
      'none held any more',
    );
  },
);

t.test(
  'a held receipt survives a restart and reprints; a printed one printed again says REPRINT; an unknown one is a 404',
  async (t) => {
    const dir = tempDataDir();
    const first = await startDaemonIn(t, dir);
    await call(first.socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    await call(first.socketPath, 'POST', '/v1/sim/printer', { cover: 'open' });
    const paid = await payWithCard(first.socketPath, 2500, 'RR123456785CH');
    t.match(paid.json, { outcome: 'approved', receiptPrinted: false });
    const journalId = paid.json.journalId as string;
    await first.stop();

    const second = await startDaemonIn(t, dir);
    t.match(
      await call(second.socketPath, 'GET', `/v1/payments/${journalId}`),
      { json: { receipt: 'held' } },
      'still held after the restart',
    );
    t.match(await call(second.socketPath, 'POST', '/v1/receipts/reprint', { journalId }), {
      status: 200,
      json: { printed: [journalId], held: [] },
    });
    const lines = ((await call(second.socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][]).flat();
    t.ok(lines.includes('VISA CREDIT            **** 0119'), "the payment's receipt, the card as its last four digits");
    t.ok(lines.includes('WAYBILL            RR123456785CH'));
    t.notMatch(lines.join('\n'), '4761739001010119');
    t.match(await call(second.socketPath, 'POST', '/v1/receipts/reprint', { journalId }), {
      json: { printed: [journalId] },
    });
    const pages = (await call(second.socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][];
    t.ok(pages[1]!.includes('*** REPRINT ***'), 'printed a second time: REPRINT');
    t.match(await call(second.socketPath, 'POST', '/v1/receipts/reprint', { journalId: 'no-such-row' }), {
      status: 404,
      json: { error: { code: 'CODPOS_USAGE_NO_RECEIPT' } },
    });
    t.match(await call(second.socketPath, 'POST', '/v1/receipts/reprint', { journalId: 42 }), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_REPRINT' } },
    });
  },
);
