/**
 * The PSP client against the PSP simulator over real TCP (once over TLS): each call, the
 * idempotent resend, each refusal both ways (the simulator refusing a badly signed request,
 * the client refusing a badly signed answer), a timeout that may have reached the PSP vs a
 * connection refused before anything left, and notifications verified, forged and replayed.
 * HMAC and ECDSA both.
 */
import t, { type Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { isPosError, type PosError } from '../../../config/errors.js';
import { HttpPspClient } from '../../../runtime/psp/client.js';
import { ecdsaSigner, hmacSigner, type PspSigner } from '../../../runtime/psp/signing.js';
import { PspSimulator } from '../../../runtime/psp/simulator.js';
import { SIM_WALLET_AID } from '../../../runtime/psp/sim-wallet.js';
import { parseConsumerCode } from '../../../emv/qr/index.js';
import type { CreateOrderRequest, PspClient } from '../../../runtime/psp/types.js';
import { makeTestPki } from '../../helpers/test-pki.js';

const SECRET = Buffer.from('a shared secret of the terminal and the PSP');
const OTHER_SECRET = Buffer.from('not the secret the PSP and terminal share');
const MERCHANT = 'M-1001';
const TERMINAL = 'CODPOS01';

function order(orderRef: string, amount = 2500): CreateOrderRequest {
  return { orderRef, amount, currency: '978', waybill: 'RR123456785DE', terminalLabel: 'CODPOS01' };
}

async function startSim(
  t: Test,
  signer: PspSigner = hmacSigner(SECRET),
  extra: Partial<ConstructorParameters<typeof PspSimulator>[0]> = {},
) {
  const sim = new PspSimulator({ merchantId: MERCHANT, terminalId: TERMINAL, signer, seed: 7, ...extra });
  const { url } = await sim.start();
  t.teardown(() => sim.stop());
  return { sim, url };
}

function clientFor(
  t: Test,
  url: string,
  signer: PspSigner = hmacSigner(SECRET),
  extra: Partial<ConstructorParameters<typeof HttpPspClient>[0]> = {},
) {
  const client = new HttpPspClient({
    url,
    merchantId: MERCHANT,
    terminalId: TERMINAL,
    signer,
    timeoutMs: 5000,
    ...extra,
  });
  t.teardown(() => client.close());
  return client;
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

/** A notification receiver: hands over each request's headers and body. */
async function notificationSink(t: Test) {
  const received: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/psp/notify`,
    received,
    async next(count: number) {
      while (received.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return received[count - 1]!;
    },
  };
}

async function lifecycle(t: Test, client: PspClient, sim: PspSimulator) {
  const created = await client.createOrder(order('ord-1'));
  t.match(created, { orderRef: 'ord-1', mode: 'merchant', status: 'created', amount: 2500, currency: '978' });
  t.equal((await client.query('ord-1')).status, 'created');
  t.equal(sim.wallet.payOrder('ord-1', { outcome: 'pay' }).outcome, 'paid');
  const paid = await client.query('ord-1');
  t.equal(paid.status, 'paid');
  t.equal(paid.orderId, created.orderId, 'the same order');
  t.type(paid.paidAt, 'string');
  t.equal((await client.cancel('ord-1')).status, 'paid', 'a paid order is not cancelled');
  t.same(await client.refund('ord-1', { refundRef: 'ref-1', amount: 1000 }), {
    refundRef: 'ref-1',
    orderRef: 'ord-1',
    status: 'refunded',
    amount: 1000,
  });
  const over = await client.refund('ord-1', { refundRef: 'ref-2', amount: 1501 });
  t.equal(over.status, 'refused', 'more than is left of the payment is refused');
  t.match(over.refusedReason, /1501 is more than the 1500 left/);
  t.same(await client.refund('ord-1', { refundRef: 'ref-3', amount: 1500 }), {
    refundRef: 'ref-3',
    orderRef: 'ord-1',
    status: 'refunded',
    amount: 1500,
  });
  const refunded = await client.query('ord-1');
  t.equal(refunded.status, 'refunded');
  t.equal(refunded.refundedAmount, 2500);

  await client.createOrder(order('ord-2'));
  const cancelled = await client.cancel('ord-2');
  t.equal(cancelled.status, 'cancelled');
  t.equal(sim.wallet.payOrder('ord-2', { outcome: 'pay' }).outcome, 'refused', 'a cancelled order cannot be paid');
  const notPaid = await client.refund('ord-2', { refundRef: 'ref-4', amount: 1 });
  t.equal(notPaid.status, 'refused');
  t.match(notPaid.refusedReason, /cancelled, not paid/);
}

t.test('HMAC: create, query, pay, cancel, refund', async (t) => {
  const { sim, url } = await startSim(t);
  await lifecycle(t, clientFor(t, url), sim);
});

t.test('ECDSA: create, query, pay, cancel, refund; an answer signed by another key is refused', async (t) => {
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const terminal = ec();
  const psp = ec();
  const { sim, url } = await startSim(t, ecdsaSigner(psp.privateKey, terminal.publicKey));
  const client = clientFor(t, url, ecdsaSigner(terminal.privateKey, psp.publicKey));
  await lifecycle(t, client, sim);
  const impostor = ec();
  const fooled = clientFor(t, url, ecdsaSigner(terminal.privateKey, impostor.publicKey));
  const error = await rejection(fooled.query('ord-1'));
  t.equal(error.code, 'CODPOS_PSP_BAD_SIGNATURE');
  const unknownKey = clientFor(t, url, ecdsaSigner(impostor.privateKey, psp.publicKey));
  const refused = await rejection(unknownKey.query('ord-1'));
  t.equal(refused.code, 'CODPOS_PSP_REFUSED');
  t.match(refused.details, { status: 401, pspCode: 'bad_signature', sent: true });
});

t.test('over TLS with the PSP CA', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.remove());
  const { sim, url } = await startSim(t, hmacSigner(SECRET), { tls: { cert: pki.server.cert, key: pki.server.key } });
  t.match(url, /^https:/);
  const client = clientFor(t, url, hmacSigner(SECRET), { ca: pki.ca });
  await client.createOrder(order('tls-1'));
  sim.wallet.payOrder('tls-1', { outcome: 'pay' });
  t.equal((await client.query('tls-1')).status, 'paid');
  // Another CA: the handshake fails before the request leaves.
  const untrusting = clientFor(t, url, hmacSigner(SECRET), { ca: pki.foreign.cert });
  const error = await rejection(untrusting.query('tls-1'));
  t.equal(error.code, 'CODPOS_PSP_UNREACHABLE');
  t.equal(error.details?.sent, false);
});

t.test('consumer-presented: the wallet code pays, declines, or is refused', async (t) => {
  const { sim, url } = await startSim(t);
  const client = clientFor(t, url);
  const payCode = sim.wallet.consumerCode({ kind: 'token', outcome: 'pay' });
  const paid = await client.payWithConsumerCode({ ...order('c-1'), consumerCode: payCode });
  t.match(paid, { orderRef: 'c-1', mode: 'consumer', status: 'paid', wallet: 'simwallet' });
  const again = await client.payWithConsumerCode({ ...order('c-2'), consumerCode: payCode });
  t.match(again, { status: 'declined', declineReason: 'consumer code already used' });
  const declineCode = sim.wallet.consumerCode({ kind: 'token', outcome: 'decline' });
  t.equal((await client.payWithConsumerCode({ ...order('c-3'), consumerCode: declineCode })).status, 'declined');
  const unknown = await client.payWithConsumerCode({ ...order('c-4'), consumerCode: 'SIMWALLET-0000' });
  t.match(unknown, { status: 'declined', declineReason: 'unknown consumer code' });
  t.match(parseConsumerCode(payCode), { kind: 'token' }, "a token the terminal's scanner parse takes");
  const cpm = sim.wallet.consumerCode({ kind: 'cpm', outcome: 'pay' });
  const parsed = parseConsumerCode(cpm);
  t.equal(parsed.kind, 'cpm');
  t.equal(parsed.kind === 'cpm' ? parsed.cpm.applications[0]?.aid : undefined, SIM_WALLET_AID);
  t.equal(parsed.kind === 'cpm' ? parsed.cpm.applications[0]?.pan : 'none', undefined, 'no PAN in the code');
  t.match(await client.payWithConsumerCode({ ...order('c-cpm'), consumerCode: cpm }), { status: 'paid' });
  const ignoreCode = sim.wallet.consumerCode({ kind: 'token', outcome: 'ignore' });
  t.equal((await client.payWithConsumerCode({ ...order('c-5'), consumerCode: ignoreCode })).status, 'waiting');
});

t.test('idempotent resend: the same answer, the order exists once; another body is a conflict', async (t) => {
  const { sim, url } = await startSim(t);
  const client = clientFor(t, url);
  const first = await client.createOrder(order('idem-1'));
  sim.wallet.payOrder('idem-1', { outcome: 'pay' });
  const second = await client.createOrder(order('idem-1'));
  t.same(second, first, 'the first answer again (created), not the order as it is now');
  t.equal(sim.book.size, 1);
  const error = await rejection(client.createOrder(order('idem-1', 2600)));
  t.equal(error.code, 'CODPOS_PSP_IDEMPOTENCY_CONFLICT');
  t.match(error.details, { status: 409, pspCode: 'idempotency_conflict' });
  const unknown = await rejection(client.query('never-sent'));
  t.equal(unknown.code, 'CODPOS_PSP_UNKNOWN_ORDER');
});

t.test('signatures: the PSP refuses a wrong secret, the client refuses an answer with a wrong one', async (t) => {
  const { sim, url } = await startSim(t);
  const wrongSecret = clientFor(t, url, hmacSigner(OTHER_SECRET));
  const refused = await rejection(wrongSecret.createOrder(order('sig-1')));
  t.equal(refused.code, 'CODPOS_PSP_REFUSED');
  t.match(refused.details, { status: 401, pspCode: 'bad_signature' });
  t.equal(sim.book.get('sig-1'), undefined, 'nothing was created');

  // A PSP (or someone in the middle) that signs its answers with another secret.
  const right = hmacSigner(SECRET);
  const forger = await startSim(t, { ...right, sign: (canonical: string) => hmacSigner(OTHER_SECRET).sign(canonical) });
  const client = clientFor(t, forger.url);
  await client.createOrder(order('sig-2')).then(
    () => t.fail('an answer with a wrong signature was believed'),
    (error: PosError) => {
      t.equal(error.code, 'CODPOS_PSP_BAD_SIGNATURE');
      t.equal(error.details?.sent, true);
    },
  );
  forger.sim.wallet.payOrder('sig-2', { outcome: 'pay' });
  const paid = await rejection(client.query('sig-2'));
  t.equal(paid.code, 'CODPOS_PSP_BAD_SIGNATURE', 'an unverifiable "paid" is not paid');
});

t.test('a timeout may have reached the PSP (sent true); a refused connection did not (sent false)', async (t) => {
  const { sim, url } = await startSim(t);
  sim.rules.setNext({ kind: 'slow', ms: 60_000 });
  const client = clientFor(t, url, hmacSigner(SECRET), { timeoutMs: 300 });
  const timeout = await rejection(client.createOrder(order('slow-1')));
  t.equal(timeout.code, 'CODPOS_PSP_TIMEOUT');
  t.equal(timeout.details?.sent, true);
  const patient = clientFor(t, url);
  t.equal((await patient.query('slow-1')).status, 'created', 'it did reach the PSP');

  // Nothing listens on 127.0.0.254 at a port this test holds on 127.0.0.1 (no one else can bind it).
  const holder = createNetServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const { port } = holder.address() as AddressInfo;
  const nowhere = clientFor(t, `http://127.0.0.254:${port}`);
  const refused = await rejection(nowhere.createOrder(order('nowhere-1')));
  t.equal(refused.code, 'CODPOS_PSP_UNREACHABLE');
  t.equal(refused.details?.sent, false);
  t.match(refused.message, /ECONNREFUSED/);
});

t.test('notifications: verified, then a replay, a forgery and a stale one refused', async (t) => {
  const sink = await notificationSink(t);
  const { sim, url } = await startSim(t);
  const client = clientFor(t, url);
  await client.createOrder({ ...order('n-1'), notifyUrl: sink.url });
  sim.wallet.payOrder('n-1', { outcome: 'pay' });
  const { headers, body } = await sink.next(1);
  const notified = client.verifyNotification(headers, body);
  t.match(notified, { orderRef: 'n-1', status: 'paid' });
  const replay = (() => {
    try {
      client.verifyNotification(headers, body);
    } catch (error) {
      return error as PosError;
    }
  })();
  t.equal(replay?.code, 'CODPOS_PSP_STALE_NOTIFICATION');
  t.match(replay?.message, /replay/);

  const forged = Buffer.from(body.toString('utf8').replace('"paid"', '"declined"'));
  t.throws(() => clientFor(t, url).verifyNotification(headers, forged), { code: 'CODPOS_PSP_BAD_SIGNATURE' });
  const later = clientFor(t, url, hmacSigner(SECRET), { now: () => Date.now() + 600_000 });
  t.throws(() => later.verifyNotification(headers, body), { code: 'CODPOS_PSP_STALE_NOTIFICATION' });
  const otherTerminal = new HttpPspClient({
    url,
    merchantId: MERCHANT,
    terminalId: 'CODPOS02',
    signer: hmacSigner(SECRET),
  });
  t.throws(() => otherTerminal.verifyNotification(headers, body), { code: 'CODPOS_PSP_BAD_SIGNATURE' });
  t.throws(() => client.verifyNotification({}, body), { code: 'CODPOS_PSP_BAD_SIGNATURE' });

  // A declined order is notified too.
  await client.createOrder({ ...order('n-2'), notifyUrl: sink.url });
  sim.wallet.payOrder('n-2', { outcome: 'decline' });
  const second = await sink.next(2);
  t.match(client.verifyNotification(second.headers, second.body), { orderRef: 'n-2', status: 'declined' });
});
