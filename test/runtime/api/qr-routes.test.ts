/**
 * The QR payment paths of the local API on a real Unix socket, the QR service behind them
 * talking to the real PSP simulator: the 202 of a code shown, a consumer code's outcome, the
 * schema's 400 before anything is written, a day's list, one payment with its moves, cancel,
 * refund, a signed PSP notification checked over the body's own bytes, and 503 without QR.
 */
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { LocalApiService } from '../../../runtime/api/server.js';
import { EventBus } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { canonicalString, hmacSigner, newNonce, PSP_HEADERS } from '../../../runtime/psp/signing.js';
import { orderRefOf } from '../../../runtime/payment/qr-order-ref.js';
import { qrHarness, QR_MERCHANT, QR_SECRET, QR_TERMINAL, WAYBILLS } from '../payment/qr-fixtures.js';

const silent = createLogger({ level: 'silent' });

function send(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function api(t: Test, qr?: ConstructorParameters<typeof LocalApiService>[2]['qr']) {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-qr-api-'));
  const service = new LocalApiService(
    { data: { dir }, api: { socket: 'codposd.sock', tcpPort: 0, bearerToken: '' } },
    silent,
    {
      events: new EventBus(),
      version: '1',
      health: () => ({}),
      ...(qr ? { qr } : {}),
    },
  );
  await service.start();
  t.teardown(() => service.stop());
  return (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    send(
      service.socketPath,
      method,
      path,
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers,
    );
}

t.test('a code shown is 202 at once; the wallet pays; GET, the day list and a refund follow', async (t) => {
  const h = await qrHarness(t);
  const call = await api(t, h.service);
  const shown = await call('POST', '/v1/payments/qr', { mode: 'merchant', amount: 2500, waybill: WAYBILLS[0] });
  t.equal(shown.status, 202);
  t.match(shown.json, { state: 'pending', mode: 'merchant', amount: 2500, currency: '978', payload: /^000201/ });
  const id = shown.json.id as string;
  h.sim.wallet.scan(shown.json.payload as string, { outcome: 'pay' });
  await h.reaches(id, 'paid');
  const one = await call('GET', `/v1/payments/qr/${id}`);
  t.equal(one.status, 200);
  t.match(one.json, { payment: { id, state: 'paid' }, history: [{ to: 'pending' }, { from: 'pending', to: 'paid' }] });
  const day = await call('GET', '/v1/payments/qr');
  t.match(day.json, { payments: [{ id }] });
  t.equal((day.json.payments as unknown[]).length, 1);
  const otherDay = await call('GET', '/v1/payments/qr?date=2001-01-01');
  t.same(otherDay.json, { date: '2001-01-01', payments: [] });
  t.match(await call('GET', '/v1/payments/qr?date=2001-02-30'), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_BAD_DATE' } },
  });
  const refunded = await call('POST', `/v1/payments/qr/${id}/refund`, { amount: 1000 });
  t.match(refunded, {
    status: 200,
    json: { payment: { state: 'refunded', refundedAmount: 1000 }, refund: { status: 'refunded' } },
  });
  t.match(await call('POST', `/v1/payments/qr/${id}/refund`, {}), {
    status: 409,
    json: { error: { code: 'CODPOS_USAGE_QR_NOT_REFUNDABLE', journalId: id } },
  });
  t.match(await call('GET', '/v1/payments/qr/00000000-0000-0000-0000-000000000000'), {
    status: 404,
    json: { error: { code: 'CODPOS_USAGE_NO_SUCH_PAYMENT' } },
  });
});

t.test('a consumer code is answered with its outcome (200); cancel of a final one is 409', async (t) => {
  const h = await qrHarness(t);
  const call = await api(t, h.service);
  const consumerCode = h.sim.wallet.consumerCode({ kind: 'token', outcome: 'pay' });
  const paid = await call('POST', '/v1/payments/qr', {
    mode: 'consumer',
    amount: 700,
    waybill: WAYBILLS[1],
    consumerCode,
  });
  t.match(paid, { status: 200, json: { state: 'paid', wallet: 'simwallet' } });
  t.match(await call('POST', `/v1/payments/qr/${paid.json.id as string}/cancel`), {
    status: 409,
    json: { error: { code: 'CODPOS_USAGE_QR_NOT_CANCELLABLE' } },
  });
});

t.test('the courier cancels a code shown: the PSP cancels it', async (t) => {
  const h = await qrHarness(t);
  const call = await api(t, h.service);
  const shown = await call('POST', '/v1/payments/qr', { mode: 'merchant', amount: 300, waybill: WAYBILLS[2] });
  const cancelled = await call('POST', `/v1/payments/qr/${shown.json.id as string}/cancel`);
  t.match(cancelled, { status: 200, json: { payment: { state: 'cancelled' } } });
  t.equal(h.sim.book.get(orderRefOf(shown.json.id as string))?.order.status, 'cancelled');
});

t.test('the schema refuses a bad request before anything is written', async (t) => {
  const h = await qrHarness(t);
  const call = await api(t, h.service);
  for (const body of [
    { mode: 'barter', amount: 100, waybill: WAYBILLS[0] },
    { mode: 'merchant', amount: '100', waybill: WAYBILLS[0] },
    { mode: 'merchant', amount: 100 },
    { mode: 'merchant', amount: 100, waybill: '' },
  ])
    t.match(await call('POST', '/v1/payments/qr', body), {
      status: 400,
      json: { error: { code: 'CODPOS_USAGE_BAD_REQUEST' } },
    });
  t.match(await call('POST', '/v1/payments/qr', { mode: 'consumer', amount: 100, waybill: WAYBILLS[0] }), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_QR_CONSUMER_CODE' } },
  });
  t.same(h.spool.qrJournal.list(), []);
  t.same(h.sim.book.list(), []);
});

t.test('POST /v1/psp/notifications: checked over the bytes received, then applied', async (t) => {
  const h = await qrHarness(t, { queryIntervalMs: 600_000 });
  const call = await api(t, h.service);
  const shown = await call('POST', '/v1/payments/qr', { mode: 'merchant', amount: 450, waybill: WAYBILLS[3] });
  const id = shown.json.id as string;
  h.sim.setNextBehaviour({ kind: 'lose-notification' });
  h.sim.wallet.scan(shown.json.payload as string, { outcome: 'pay' });
  const order = h.sim.book.get(orderRefOf(id))!.order;
  // Spaces a re-encoding would drop: the signature covers these bytes.
  const body = JSON.stringify(order, null, 1);
  const timestamp = String(Date.now());
  const nonce = newNonce();
  const signature = hmacSigner(QR_SECRET).sign(
    canonicalString({
      method: 'NOTIFY',
      path: '',
      merchantId: QR_MERCHANT,
      terminalId: QR_TERMINAL,
      timestamp,
      nonce,
      body: Buffer.from(body),
    }),
  );
  const headers = {
    [PSP_HEADERS.merchant]: QR_MERCHANT,
    [PSP_HEADERS.terminal]: QR_TERMINAL,
    [PSP_HEADERS.timestamp]: timestamp,
    [PSP_HEADERS.nonce]: nonce,
  };
  // Another nonce under the same signature: what a replay with its headers edited looks like.
  const forged = { ...headers, [PSP_HEADERS.nonce]: newNonce(), [PSP_HEADERS.signature]: signature };
  t.match(await call('POST', '/v1/psp/notifications', body, forged), {
    status: 401,
    json: { error: { code: 'CODPOS_USAGE_QR_NOTIFICATION' } },
  });
  t.equal(h.spool.qrJournal.get(id)?.state, 'pending', 'a forged one changes nothing');
  t.match(await call('POST', '/v1/psp/notifications', body, { ...headers, [PSP_HEADERS.signature]: signature }), {
    status: 200,
    json: { accepted: true },
  });
  t.equal(h.spool.qrJournal.get(id)?.state, 'paid', 'applied before the answer');
});

t.test('without QR payments the paths answer 503', async (t) => {
  const call = await api(t);
  t.match(await call('POST', '/v1/payments/qr', { mode: 'merchant', amount: 100, waybill: WAYBILLS[0] }), {
    status: 503,
    json: { error: { code: 'CODPOS_DEVICE_QR_UNAVAILABLE' } },
  });
});

t.test('the same Idempotency-Key again answers with the payment it began, never a second one', async (t) => {
  const h = await qrHarness(t);
  const call = await api(t, h.service);
  const key = { 'Idempotency-Key': '9b2f6c1e-qr-1' };
  const body = { mode: 'merchant', amount: 1250, waybill: WAYBILLS[0] };
  const first = await call('POST', '/v1/payments/qr', body, key);
  t.equal(first.status, 202);
  const again = await call('POST', '/v1/payments/qr', body, key);
  t.equal(again.status, 202, 'still pending');
  t.match(again.json, { id: first.json.id, payload: first.json.payload, replayed: true });
  t.notOk('replayed' in first.json);
  t.match(await call('POST', '/v1/payments/qr', { ...body, amount: 1251 }, key), {
    status: 422,
    json: { error: { code: 'CODPOS_USAGE_IDEMPOTENCY_KEY_REUSED', journalId: first.json.id } },
  });
  h.sim.wallet.scan(first.json.payload as string, { outcome: 'pay' });
  await h.reaches(first.json.id as string, 'paid');
  t.match(await call('POST', '/v1/payments/qr', body, key), {
    status: 200,
    json: { id: first.json.id, state: 'paid', replayed: true },
  });
  t.equal(h.spool.qrJournal.list().length, 1, 'one row');
  t.equal(h.sim.book.list().length, 1, 'one order');
  t.match(await call('POST', '/v1/payments/qr', body, { 'Idempotency-Key': 'has space' }), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_IDEMPOTENCY_KEY' } },
  });
});
