/**
 * The PSP simulator as strict as the party it stands for: raw signed requests for each
 * refusal (401 unsigned, stale, replayed, badly signed; 403 unknown terminal; 400 bad fields and
 * a missing Idempotency-Key), the wallet scanning a real MPM payload (and refusing a mismatch),
 * each behaviour of sim-rules.ts seen through the client, and the book's bound.
 */
import t, { type Test } from 'tap';
import { request } from 'node:http';
import { buildMpm } from '../../../emv/qr/index.js';
import { isPosError, type PosError } from '../../../config/errors.js';
import { HttpPspClient } from '../../../runtime/psp/client.js';
import { canonicalString, hmacSigner, newNonce, PSP_HEADERS } from '../../../runtime/psp/signing.js';
import { SimBook } from '../../../runtime/psp/sim-book.js';
import { parseBehaviour, SimRules } from '../../../runtime/psp/sim-rules.js';
import { PspSimulator } from '../../../runtime/psp/simulator.js';
import type { CreateOrderRequest } from '../../../runtime/psp/types.js';

const SECRET = Buffer.from('a shared secret of the terminal and the PSP');
const MERCHANT = 'M-1001';
const TERMINAL = 'CODPOS01';
const signer = hmacSigner(SECRET);

function order(orderRef: string, amount = 2500): CreateOrderRequest {
  return { orderRef, amount, currency: '978', waybill: 'RR123456785DE', terminalLabel: 'CODPOS01' };
}

async function setup(t: Test, maxOrders?: number) {
  const sim = new PspSimulator({
    merchantId: MERCHANT,
    terminalId: TERMINAL,
    signer,
    seed: 11,
    ...(maxOrders !== undefined ? { maxOrders } : {}),
  });
  const { url } = await sim.start();
  t.teardown(() => sim.stop());
  const client = new HttpPspClient({ url, merchantId: MERCHANT, terminalId: TERMINAL, signer, timeoutMs: 5000 });
  t.teardown(() => client.close());
  return { sim, url, client };
}

async function rejection(promise: Promise<unknown>): Promise<PosError> {
  try {
    await promise;
  } catch (error) {
    if (isPosError(error)) return error;
    throw error;
  }
  throw new Error('expected a PosError, the call succeeded');
}

interface RawRequest {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string | undefined>;
  /** Signed with these instead of the right ones. */
  merchant?: string;
  terminal?: string;
  timestamp?: string;
  nonce?: string;
  unsigned?: boolean;
}

/** One request as the wire carries it, signed right unless told otherwise. */
async function raw(url: string, r: RawRequest): Promise<{ status: number; body: { error?: { code: string } } }> {
  const method = r.method ?? 'POST';
  const body = r.body ?? '';
  const merchantId = r.merchant ?? MERCHANT;
  const terminalId = r.terminal ?? TERMINAL;
  const timestamp = r.timestamp ?? String(Date.now());
  const nonce = r.nonce ?? newNonce();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [PSP_HEADERS.merchant]: merchantId,
    [PSP_HEADERS.terminal]: terminalId,
    [PSP_HEADERS.timestamp]: timestamp,
    [PSP_HEADERS.nonce]: nonce,
  };
  if (!r.unsigned)
    headers[PSP_HEADERS.signature] = signer.sign(
      canonicalString({ method, path: r.path, merchantId, terminalId, timestamp, nonce, body }),
    );
  for (const [name, value] of Object.entries(r.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL(r.path, url), { method, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () =>
        resolve({
          status: incoming.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code: string } },
        }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

t.test('refuses unsigned, badly signed, stale and replayed requests, and unknown terminals', async (t) => {
  const { url, sim } = await setup(t);
  const body = JSON.stringify(order('raw-1'));
  const key = { [PSP_HEADERS.idempotencyKey]: 'raw-1' };
  const unsigned = await raw(url, { path: '/v1/orders', body, headers: key, unsigned: true });
  t.match(unsigned, { status: 401, body: { error: { code: 'unsigned' } } });
  const tampered = await raw(url, {
    path: '/v1/orders',
    body,
    headers: { ...key, [PSP_HEADERS.signature]: signer.sign('something else') },
  });
  t.match(tampered, { status: 401, body: { error: { code: 'bad_signature' } } });
  const stale = await raw(url, { path: '/v1/orders', body, headers: key, timestamp: String(Date.now() - 301_000) });
  t.match(stale, { status: 401, body: { error: { code: 'stale' } } });
  const foreign = await raw(url, { path: '/v1/orders', body, headers: key, terminal: 'CODPOS99' });
  t.match(foreign, { status: 403, body: { error: { code: 'unknown_terminal' } } });
  const otherMerchant = await raw(url, { path: '/v1/orders', body, headers: key, merchant: 'M-2' });
  t.equal(otherMerchant.status, 403);
  t.equal(sim.book.size, 0, 'none of them created an order');

  const nonce = newNonce();
  const first = await raw(url, { path: '/v1/orders', body, headers: key, nonce });
  t.equal(first.status, 201);
  const replayed = await raw(url, { path: '/v1/orders', body, headers: key, nonce });
  t.match(replayed, { status: 401, body: { error: { code: 'replayed' } } });
});

t.test('400 for bad fields and a missing or wrong Idempotency-Key', async (t) => {
  const { url, sim } = await setup(t);
  const post = (fields: Record<string, unknown>, key: string | null = 'bad-1') =>
    raw(url, {
      path: '/v1/orders',
      body: JSON.stringify(fields),
      headers: { [PSP_HEADERS.idempotencyKey]: key ?? undefined },
    });
  const base: Record<string, unknown> = { ...order('bad-1') };
  for (const [name, fields, pattern] of [
    ['zero amount', { ...base, amount: 0 }, /amount/],
    ['fractional amount', { ...base, amount: 12.5 }, /amount/],
    ['amount as text', { ...base, amount: '2500' }, /amount/],
    ['currency as letters', { ...base, currency: 'EUR' }, /currency/],
    ['currency of 4 digits', { ...base, currency: '0978' }, /currency/],
    ['no waybill', { ...base, waybill: undefined }, /waybill/],
    ['empty waybill', { ...base, waybill: ' ' }, /waybill/],
  ] as const) {
    const answer = await post(fields);
    t.equal(answer.status, 400, name);
    t.match((answer.body.error as { message?: string }).message, pattern, name);
  }
  t.match(await post(base, null), { status: 400, body: { error: { code: 'idempotency_key' } } });
  t.match(await post(base, 'another-ref'), { status: 400, body: { error: { code: 'idempotency_key' } } });
  t.equal(sim.book.size, 0);
  t.equal((await post(base)).status, 201, 'the same body, well formed, is taken');
});

t.test('the wallet scans the MPM payload: pays, declines, ignores; refuses a mismatch', async (t) => {
  const { sim, client } = await setup(t);
  const mpm = (orderRef: string, amountMinor: number, currency = '978') =>
    buildMpm({
      pointOfInitiation: 'dynamic',
      merchantAccounts: [{ id: '26', globallyUniqueIdentifier: 'com.example.psp', fields: { '01': MERCHANT } }],
      merchantCategoryCode: '4215',
      currency,
      amountMinor,
      countryCode: 'DE',
      merchantName: 'Courier',
      merchantCity: 'Berlin',
      additionalData: { referenceLabel: orderRef, terminalLabel: TERMINAL },
    });
  await client.createOrder(order('scan-1'));
  t.match(sim.wallet.scan(mpm('scan-1', 2499), { outcome: 'pay' }), {
    outcome: 'refused',
    reason: /amount 2499, the order 2500/,
  });
  t.match(sim.wallet.scan(mpm('scan-1', 2500, '840'), { outcome: 'pay' }), { outcome: 'refused', reason: /currency/ });
  t.match(sim.wallet.scan(mpm('nobody', 2500), { outcome: 'pay' }), { outcome: 'refused', reason: /no order nobody/ });
  t.match(sim.wallet.scan('not a code', { outcome: 'pay' }), { outcome: 'refused', reason: /not an EMV/ });
  t.equal((await client.query('scan-1')).status, 'created', 'a refused scan changes nothing');
  t.equal(sim.wallet.scan(mpm('scan-1', 2500), { outcome: 'ignore' }).outcome, 'waiting');
  t.equal((await client.query('scan-1')).status, 'waiting');
  t.equal(sim.wallet.scan(mpm('scan-1', 2500), { outcome: 'pay' }).outcome, 'paid');
  t.equal((await client.query('scan-1')).status, 'paid');
  await client.createOrder(order('scan-2'));
  t.equal(sim.wallet.scan(mpm('scan-2', 2500), { outcome: 'decline' }).outcome, 'declined');
  t.match(await client.query('scan-2'), { status: 'declined', declineReason: /wallet/ });
});

t.test('behaviours: decline, late status, pay after give-up, unavailable, by amount', async (t) => {
  const { sim, client } = await setup(t);

  sim.rules.setNext({ kind: 'decline' });
  await client.createOrder(order('b-decline'));
  t.equal(
    sim.wallet.payOrder('b-decline', { outcome: 'pay' }).outcome,
    'declined',
    'the PSP declines what the wallet paid',
  );
  t.match(await client.query('b-decline'), { status: 'declined', declineReason: /PSP/ });

  sim.rules.setNext({ kind: 'late-status', queries: 2 });
  await client.createOrder(order('b-late'));
  sim.wallet.payOrder('b-late', { outcome: 'pay' });
  t.equal((await client.query('b-late')).status, 'waiting');
  t.equal((await client.query('b-late')).status, 'waiting');
  t.equal((await client.query('b-late')).status, 'paid', 'the third query tells');

  sim.rules.setNext({ kind: 'pay-after-give-up', cancel: 'answer' });
  await client.createOrder(order('b-giveup'));
  t.equal((await client.cancel('b-giveup')).status, 'paid', 'the cancel is answered paid');

  sim.rules.setNext({ kind: 'pay-after-give-up', cancel: 'no-answer' });
  await client.createOrder(order('b-giveup-2'));
  const lost = await rejection(client.cancel('b-giveup-2'));
  t.equal(lost.code, 'CODPOS_PSP_UNREACHABLE');
  t.equal(lost.details?.sent, true);
  t.equal((await client.query('b-giveup-2')).status, 'paid', 'a later query says paid');
  t.equal((await client.cancel('b-giveup-2')).status, 'paid', 'a resent cancel gets the answer that was lost');

  sim.rules.setNext({ kind: 'unavailable', how: '503' });
  const unavailable = await rejection(client.createOrder(order('b-503')));
  t.equal(unavailable.code, 'CODPOS_PSP_UNAVAILABLE');
  t.match(unavailable.details, { status: 503, sent: true });
  t.equal(sim.book.get('b-503'), undefined, 'a 503 took nothing');
  t.equal((await client.createOrder(order('b-503'))).status, 'created', 'a resend is taken afresh');

  sim.rules.setNext({ kind: 'unavailable', how: 'drop' });
  const dropped = await rejection(client.createOrder(order('b-drop')));
  t.equal(dropped.code, 'CODPOS_PSP_UNREACHABLE');
  t.equal(dropped.details?.sent, true);
  t.equal((await client.query('b-drop')).status, 'created', 'the dropped create was taken');

  sim.rules.setForAmount(666, { kind: 'decline' });
  await client.createOrder(order('b-666', 666));
  await client.createOrder(order('b-667', 667));
  t.equal(sim.wallet.payOrder('b-666', { outcome: 'pay' }).outcome, 'declined');
  t.equal(sim.wallet.payOrder('b-667', { outcome: 'pay' }).outcome, 'paid');
});

t.test('lose-notification: that order is not notified, the next one is', async (t) => {
  const { createServer } = await import('node:http');
  const received: string[] = [];
  let wake: () => void = () => {};
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { orderRef: string }).orderRef);
      res.writeHead(204).end();
      wake();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => sink.close(() => resolve())));
  const notifyUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/n`;
  const { sim, client } = await setup(t);
  sim.rules.setNext({ kind: 'lose-notification' });
  await client.createOrder({ ...order('lost-1'), notifyUrl });
  await client.createOrder({ ...order('kept-1'), notifyUrl });
  sim.wallet.payOrder('lost-1', { outcome: 'pay' });
  const arrived = new Promise<void>((resolve) => (wake = resolve));
  sim.wallet.payOrder('kept-1', { outcome: 'pay' });
  await arrived;
  // Notifications leave in the order the payments were made: lost-1's would have been first.
  t.same(received, ['kept-1']);
});

t.test('slow: the answer is held back; the order is there at once', async (t) => {
  const { sim, client } = await setup(t);
  sim.rules.setNext({ kind: 'slow', ms: 300 });
  const started = client.createOrder(order('slow-1'));
  t.equal((await client.query('slow-1')).status, 'created');
  t.equal((await started).status, 'created');
});

t.test('the book forgets the oldest final orders past its bound, never an open one', async (t) => {
  const book = new SimBook(3);
  const add = (ref: string) =>
    book.add({
      orderRef: ref,
      mode: 'merchant',
      amount: 1,
      currency: '978',
      waybill: 'W',
      behaviour: { kind: 'approve' },
    });
  const open = add('open');
  const paid = add('paid');
  book.setStatus(paid, 'paid');
  add('third');
  add('fourth');
  t.same(
    book.list().map((e) => e.order.orderRef),
    ['open', 'third', 'fourth'],
  );
  t.equal(open.order.status, 'created');
  add('fifth');
  t.equal(book.size, 4, 'no final order left to forget: the open ones stay');
});

t.test('the idempotent answers are bounded (4 per order of the bound): the oldest forgotten', async (t) => {
  const { client } = await setup(t, 1);
  const first = await client.createOrder(order('keep-1'));
  for (const ref of ['keep-2', 'keep-3', 'keep-4']) await client.createOrder(order(ref));
  t.same(await client.createOrder(order('keep-1')), first, 'still within the bound: the first answer');
  const last = await client.createOrder(order('keep-5'));
  const forgotten = await rejection(client.createOrder(order('keep-1')));
  t.equal(forgotten.code, 'CODPOS_PSP_IDEMPOTENCY_CONFLICT');
  t.match(forgotten.details, { pspCode: 'order_exists' }, 'its answer forgotten, the order itself is still there');
  t.same(await client.createOrder(order('keep-5')), last);
});

t.test('behaviours as the console types them', async (t) => {
  t.same(parseBehaviour(['slow', '5000']), { kind: 'slow', ms: 5000 });
  t.same(parseBehaviour(['late-status', '3']), { kind: 'late-status', queries: 3 });
  t.same(parseBehaviour(['pay-after-give-up', 'no-answer']), { kind: 'pay-after-give-up', cancel: 'no-answer' });
  t.same(parseBehaviour(['unavailable', 'drop']), { kind: 'unavailable', how: 'drop' });
  t.same(parseBehaviour(['decline']), { kind: 'decline' });
  t.throws(() => parseBehaviour(['slow']), { code: 'CODPOS_USAGE_BAD_OPTION' });
  t.throws(() => parseBehaviour(['decline', 'now']), { code: 'CODPOS_USAGE_BAD_OPTION' });
  t.throws(() => parseBehaviour(['unavailable', '500']), { code: 'CODPOS_USAGE_BAD_OPTION' });
  t.throws(() => parseBehaviour(['explode']), { code: 'CODPOS_USAGE_BAD_OPTION' });
  const rules = new SimRules();
  rules.setForAmount(100, { kind: 'decline' });
  rules.setNext({ kind: 'slow', ms: 1 });
  t.same(rules.take(100), { kind: 'slow', ms: 1 }, 'the next one first');
  t.same(rules.take(100), { kind: 'decline' });
  t.same(rules.take(101), { kind: 'approve' });
});
