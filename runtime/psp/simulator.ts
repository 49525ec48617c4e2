/**
 * The PSP simulator: a real HTTP(S) server that answers the API of docs/psp.md as strictly as
 * the party it stands for. It refuses unsigned, badly signed, stale or replayed requests (401),
 * an unknown merchant or terminal (403), bad fields (400); it requires an Idempotency-Key on
 * every POST and answers a resend what it answered first (another body with the same key: 409).
 * Its orders are in sim-book.ts, the wallet in sim-wallet.ts, the behaviours in sim-rules.ts.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { prng } from '../../config/prng.js';
import { canonicalString, newNonce, NonceWindow, PSP_HEADERS, sha256Hex, type PspSigner } from './signing.js';
import { SimBook, type SimOrder } from './sim-book.js';
import { SimRules, type SimBehaviour } from './sim-rules.js';
import { SIM_WALLET_NAME, SimWallet, type MpmReader, type WalletChoice, type WalletResult } from './sim-wallet.js';
import type { PspOrder, PspRefund, QrMode } from './types.js';

export interface PspSimulatorOptions {
  merchantId: string;
  terminalId: string;
  /** The simulator's side: signs answers and notifications, checks the terminal's requests. */
  signer: PspSigner;
  /** 127.0.0.1 unless set. */
  host?: string;
  /** 0 (any free port) unless set. */
  port?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** For https notification URLs: the CAs the terminal's certificate chains to. */
  notifyCa?: string | Buffer;
  /** Seed of the simulator's draws (wallet tokens). */
  seed?: number;
  /** How far a request's timestamp may be from the simulator's clock. */
  windowMs?: number;
  maxOrders?: number;
  /** Reads an MPM payload for the wallet (emv/qr's parseMpm, adapted). */
  readMpm?: MpmReader;
  now?: () => number;
  /** One line's worth of what happened, for the console. */
  onEvent?: (event: PspSimEvent) => void;
}

export type PspSimEvent =
  | { kind: 'request'; method: string; path: string; status: number | 'dropped'; error?: string }
  | { kind: 'notification'; orderRef: string; status: string; delivered: number | string }
  | { kind: 'wallet'; orderRef?: string; outcome: string; reason?: string };

export const PSP_SIM_DEFAULTS = { windowMs: 300_000, maxOrders: 10_000, maxBodyBytes: 64 * 1024 } as const;

/** What a route decided: an answer, or to drop the connection (after `delayMs`). */
interface RouteAnswer {
  status: number;
  body: unknown;
  delayMs?: number;
  drop?: boolean;
}

interface StoredAnswer {
  bodyHash: string;
  status: number;
  body: string;
}

const ORDER_REF = /^[A-Za-z0-9._:-]{1,64}$/;

function apiError(status: number, code: string, message: string): RouteAnswer {
  return { status, body: { error: { code, message } } };
}

export class PspSimulator {
  readonly book: SimBook;
  readonly rules = new SimRules();
  readonly wallet: SimWallet;
  /** Notifications sent, in order (what was sent and how the terminal answered). */
  readonly notifications: { orderRef: string; status: string; delivered: number | string }[] = [];
  private readonly server: http.Server;
  private readonly nonces: NonceWindow;
  private readonly idempotent = new Map<string, StoredAnswer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly notifyAgent: https.Agent;
  private readonly maxIdempotentAnswers: number;

  constructor(private readonly options: PspSimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.nonces = new NonceWindow(options.windowMs ?? PSP_SIM_DEFAULTS.windowMs);
    const maxOrders = options.maxOrders ?? PSP_SIM_DEFAULTS.maxOrders;
    this.book = new SimBook(maxOrders, this.now);
    this.maxIdempotentAnswers = 4 * maxOrders;
    this.wallet = new SimWallet(
      this.book,
      (entry, choice) => this.walletSettles(entry, choice),
      prng(options.seed ?? 1),
      options.readMpm,
    );
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = options.tls
      ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler)
      : http.createServer(handler);
    this.notifyAgent = new https.Agent({ ...(options.notifyCa ? { ca: options.notifyCa } : {}) });
  }

  async start(): Promise<{ url: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const port = (this.server.address() as AddressInfo).port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return { url: `${this.options.tls ? 'https' : 'http'}://${shownHost}:${port}`, port };
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.notifyAgent.destroy();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** The behaviour for the next order (see sim-rules.ts). */
  setNextBehaviour(behaviour: SimBehaviour): void {
    this.rules.setNext(behaviour);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://psp.invalid').pathname;
    let body: Buffer;
    try {
      body = await readBody(req, PSP_SIM_DEFAULTS.maxBodyBytes);
    } catch {
      this.answer(req, res, path, apiError(413, 'body_too_large', 'the body is over 64 KiB'));
      return;
    }
    const refused = this.authenticate(req, method, path, body);
    if (refused) {
      this.answer(req, res, path, refused);
      return;
    }
    let result: RouteAnswer;
    try {
      result = this.route(req, method, path, body);
    } catch (error) {
      result = apiError(500, 'internal', (error as Error).message);
    }
    if (result.delayMs) {
      const delay = result.delayMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, delay);
        this.timers.add(timer);
      });
    }
    if (result.drop) {
      this.options.onEvent?.({ kind: 'request', method, path, status: 'dropped' });
      req.socket.destroy();
      return;
    }
    this.answer(req, res, path, result);
  }

  /** 401 (unsigned, stale, replayed, bad signature) or 403 (unknown merchant or terminal), or undefined. */
  private authenticate(req: http.IncomingMessage, method: string, path: string, body: Buffer): RouteAnswer | undefined {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const merchant = header(PSP_HEADERS.merchant);
    const terminal = header(PSP_HEADERS.terminal);
    const timestamp = header(PSP_HEADERS.timestamp);
    const nonce = header(PSP_HEADERS.nonce);
    const signature = header(PSP_HEADERS.signature);
    if (!merchant || !terminal || !timestamp || !nonce || !signature)
      return apiError(
        401,
        'unsigned',
        'the request lacks one of X-Psp-Merchant, X-Psp-Terminal, X-Psp-Timestamp, X-Psp-Nonce, X-Psp-Signature',
      );
    if (merchant !== this.options.merchantId || terminal !== this.options.terminalId)
      return apiError(403, 'unknown_terminal', `no terminal ${terminal} of merchant ${merchant} here`);
    const problem = this.nonces.check(timestamp, nonce, this.now());
    if (problem === 'stale') return apiError(401, 'stale', 'the timestamp is outside the accepted window');
    if (problem === 'replayed') return apiError(401, 'replayed', 'this nonce was used before');
    if (problem) return apiError(401, problem.replace('-', '_'), `X-Psp-${problem.split('-')[1]} is malformed`);
    const canonical = canonicalString({
      method,
      path,
      merchantId: merchant,
      terminalId: terminal,
      timestamp,
      nonce,
      body,
    });
    if (!this.options.signer.verify(canonical, signature))
      return apiError(401, 'bad_signature', 'the signature does not match the request');
    this.nonces.remember(timestamp, nonce);
    return undefined;
  }

  private route(req: http.IncomingMessage, method: string, path: string, body: Buffer): RouteAnswer {
    const orderPath = /^\/v1\/orders\/([^/]+)(\/cancel|\/refunds)?$/.exec(path);
    const orderRef = orderPath ? decodeURIComponent(orderPath[1]!) : undefined;
    if (method === 'GET' && orderPath && orderPath[2] === undefined) return this.query(orderRef!);
    if (method !== 'POST') {
      if (path === '/v1/orders' || path === '/v1/payments' || orderPath)
        return apiError(405, 'method_not_allowed', `${method} ${path} is not served`);
      return apiError(404, 'not_found', `no route ${path}`);
    }
    const key = req.headers[PSP_HEADERS.idempotencyKey];
    if (typeof key !== 'string' || !ORDER_REF.test(key))
      return apiError(400, 'idempotency_key', 'a POST needs an Idempotency-Key (the orderRef or refundRef)');
    const scope = `${path}\n${key}`;
    const bodyHash = sha256Hex(body);
    const stored = this.idempotent.get(scope);
    if (stored) {
      if (stored.bodyHash !== bodyHash)
        return apiError(409, 'idempotency_conflict', `Idempotency-Key ${key} was used with another body`);
      return { status: stored.status, body: JSON.parse(stored.body) as unknown };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return apiError(400, 'bad_json', 'the body is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return apiError(400, 'bad_json', 'the body is not a JSON object');
    const fields = parsed as Record<string, unknown>;
    let result: RouteAnswer;
    if (path === '/v1/orders') result = this.createOrder(fields, key, 'merchant');
    else if (path === '/v1/payments') result = this.createOrder(fields, key, 'consumer');
    else if (orderPath?.[2] === '/cancel') result = this.cancel(orderRef!, key);
    else if (orderPath?.[2] === '/refunds') result = this.refund(orderRef!, fields, key);
    else return apiError(404, 'not_found', `no route ${path}`);
    // A decision (an order taken, a cancel, a refund done or refused) is what a resend gets. A
    // request refused before it was acted on (400, 404, 503) saved nothing: its resend is tried afresh.
    if ((result.status >= 200 && result.status < 300) || result.status === 422) {
      this.idempotent.set(scope, { bodyHash, status: result.status, body: JSON.stringify(result.body) });
      // Bounded like the book: a few requests per order (create, cancel, refunds); the oldest go first.
      if (this.idempotent.size > this.maxIdempotentAnswers)
        this.idempotent.delete(this.idempotent.keys().next().value!);
    }
    return result;
  }

  private createOrder(fields: Record<string, unknown>, key: string, mode: QrMode): RouteAnswer {
    const bad = checkOrderFields(fields, mode);
    if (bad) return apiError(400, 'bad_request', bad);
    const orderRef = fields.orderRef as string;
    if (key !== orderRef) return apiError(400, 'idempotency_key', 'the Idempotency-Key must be the orderRef');
    if (this.book.get(orderRef)) return apiError(409, 'order_exists', `order ${orderRef} exists already`);
    const amount = fields.amount as number;
    const behaviour = this.rules.take(amount);
    if (behaviour.kind === 'unavailable' && behaviour.how === '503')
      return apiError(503, 'unavailable', 'the PSP is unavailable');
    const entry = this.book.add({
      orderRef,
      mode,
      amount,
      currency: fields.currency as string,
      waybill: fields.waybill as string,
      behaviour,
      ...(typeof fields.notifyUrl === 'string' ? { notifyUrl: fields.notifyUrl } : {}),
    });
    if (mode === 'consumer') {
      const presented = this.wallet.present(fields.consumerCode as string);
      if ('refused' in presented) this.decline(entry, presented.refused);
      else this.walletSettles(entry, presented.choice);
    }
    return {
      status: 201,
      body: this.visible(entry, false),
      ...(behaviour.kind === 'slow' ? { delayMs: behaviour.ms } : {}),
      ...(behaviour.kind === 'unavailable' ? { drop: true } : {}),
    };
  }

  private query(orderRef: string): RouteAnswer {
    const entry = this.book.get(orderRef);
    if (!entry) return apiError(404, 'unknown_order', `no order ${orderRef}`);
    return { status: 200, body: this.visible(entry, true) };
  }

  private cancel(orderRef: string, key: string): RouteAnswer {
    if (key !== orderRef)
      return apiError(400, 'idempotency_key', 'the Idempotency-Key of a cancel must be the orderRef');
    const entry = this.book.get(orderRef);
    if (!entry) return apiError(404, 'unknown_order', `no order ${orderRef}`);
    const open = entry.order.status === 'created' || entry.order.status === 'waiting';
    const { behaviour } = entry;
    if (open && behaviour.kind === 'pay-after-give-up') {
      // The consignee confirmed in the wallet just as the terminal gave up.
      this.pay(entry);
      return { status: 200, body: entry.order, ...(behaviour.cancel === 'no-answer' ? { drop: true } : {}) };
    }
    if (open) this.book.setStatus(entry, 'cancelled');
    return { status: 200, body: entry.order };
  }

  private refund(orderRef: string, fields: Record<string, unknown>, key: string): RouteAnswer {
    const entry = this.book.get(orderRef);
    if (!entry) return apiError(404, 'unknown_order', `no order ${orderRef}`);
    if (typeof fields.refundRef !== 'string' || !ORDER_REF.test(fields.refundRef))
      return apiError(400, 'bad_request', 'refundRef: expected 1 to 64 letters, digits or ._:-');
    if (key !== fields.refundRef)
      return apiError(400, 'idempotency_key', 'the Idempotency-Key of a refund must be the refundRef');
    if (!isPositiveWhole(fields.amount))
      return apiError(400, 'bad_request', 'amount: expected a positive whole number');
    const { refundRef, amount } = fields as { refundRef: string; amount: number };
    const refused = (why: string): RouteAnswer => ({
      status: 422,
      body: { refundRef, orderRef, status: 'refused', amount, refusedReason: why } satisfies PspRefund,
    });
    const { order } = entry;
    if (order.status !== 'paid' && order.status !== 'refunded')
      return refused(`the order is ${order.status}, not paid`);
    const already = order.refundedAmount ?? 0;
    if (already + amount > order.amount)
      return refused(`${amount} is more than the ${order.amount - already} left of the payment`);
    entry.refunds.set(refundRef, amount);
    const refundedAmount = already + amount;
    this.book.setStatus(entry, refundedAmount === order.amount ? 'refunded' : order.status, { refundedAmount });
    return { status: 200, body: { refundRef, orderRef, status: 'refunded', amount } satisfies PspRefund };
  }

  /** The order as a query (or an answer) sees it: late-status hides a payment for the first queries. */
  private visible(entry: SimOrder, isQuery: boolean): PspOrder {
    const { behaviour, order } = entry;
    if (order.status !== 'paid' || behaviour.kind !== 'late-status') return order;
    if (entry.queriesSincePaid >= behaviour.queries) return order;
    if (isQuery) entry.queriesSincePaid++;
    const { paidAt: _paidAt, ...unpaid } = order;
    return { ...unpaid, status: 'waiting' };
  }

  /** The wallet's choice, as the order's behaviour lets it through. */
  private walletSettles(entry: SimOrder, choice: WalletChoice): WalletResult {
    let result: WalletResult;
    if (choice === 'ignore') {
      this.book.setStatus(entry, 'waiting', { wallet: SIM_WALLET_NAME });
      result = { outcome: 'waiting', order: entry.order };
    } else if (choice === 'decline') {
      this.decline(entry, "declined in the consignee's wallet");
      result = { outcome: 'declined', order: entry.order, reason: entry.order.declineReason! };
    } else if (entry.behaviour.kind === 'decline') {
      this.decline(entry, 'declined by the PSP (risk rule)');
      result = { outcome: 'declined', order: entry.order, reason: entry.order.declineReason! };
    } else {
      this.pay(entry);
      result = { outcome: 'paid', order: entry.order };
    }
    this.options.onEvent?.({
      kind: 'wallet',
      orderRef: entry.order.orderRef,
      outcome: result.outcome,
      ...(result.reason ? { reason: result.reason } : {}),
    });
    return result;
  }

  private pay(entry: SimOrder): void {
    this.book.setStatus(entry, 'paid', { wallet: SIM_WALLET_NAME });
    this.notify(entry);
  }

  private decline(entry: SimOrder, reason: string): void {
    this.book.setStatus(entry, 'declined', { wallet: SIM_WALLET_NAME, declineReason: reason });
    this.notify(entry);
  }

  /** POSTs the order's state to its notifyUrl, signed; nothing if none or the behaviour loses it. */
  private notify(entry: SimOrder): void {
    if (entry.notifyUrl === undefined || entry.behaviour.kind === 'lose-notification') return;
    const order = entry.order;
    const body = Buffer.from(JSON.stringify(order));
    const timestamp = String(this.now());
    const nonce = newNonce();
    const { merchantId, terminalId } = this.options;
    const signature = this.options.signer.sign(
      canonicalString({ method: 'NOTIFY', path: '', merchantId, terminalId, timestamp, nonce, body }),
    );
    const target = new URL(entry.notifyUrl);
    const transport = target.protocol === 'https:' ? https : http;
    const record = (delivered: number | string) => {
      this.notifications.push({ orderRef: order.orderRef, status: order.status, delivered });
      this.options.onEvent?.({ kind: 'notification', orderRef: order.orderRef, status: order.status, delivered });
    };
    const request = transport.request(target, {
      method: 'POST',
      ...(target.protocol === 'https:' ? { agent: this.notifyAgent } : {}),
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        [PSP_HEADERS.merchant]: merchantId,
        [PSP_HEADERS.terminal]: terminalId,
        [PSP_HEADERS.timestamp]: timestamp,
        [PSP_HEADERS.nonce]: nonce,
        [PSP_HEADERS.signature]: signature,
      },
      timeout: 10_000,
    });
    request.on('response', (incoming) => {
      incoming.resume();
      incoming.on('end', () => record(incoming.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 10 s')));
    request.on('error', (error) => record((error as NodeJS.ErrnoException).code ?? error.message));
    request.end(body);
  }

  /** Sends an answer, signed over the request's nonce (so it answers that request and no other). */
  private answer(req: http.IncomingMessage, res: http.ServerResponse, path: string, result: RouteAnswer): void {
    const body = Buffer.from(JSON.stringify(result.body));
    const requestNonce = req.headers[PSP_HEADERS.nonce];
    const nonce = typeof requestNonce === 'string' ? requestNonce : '';
    const timestamp = String(this.now());
    const { merchantId, terminalId } = this.options;
    const signature = this.options.signer.sign(
      canonicalString({ method: `ANSWER ${result.status}`, path, merchantId, terminalId, timestamp, nonce, body }),
    );
    res.writeHead(result.status, {
      'content-type': 'application/json',
      'content-length': String(body.length),
      [PSP_HEADERS.timestamp]: timestamp,
      [PSP_HEADERS.nonce]: nonce,
      [PSP_HEADERS.signature]: signature,
    });
    res.end(body);
    const error = (result.body as { error?: { code?: string } }).error?.code;
    this.options.onEvent?.({
      kind: 'request',
      method: req.method ?? 'GET',
      path,
      status: result.status,
      ...(error ? { error } : {}),
    });
  }
}

function isPositiveWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** What is wrong with a create or consumer payment body, or undefined. */
function checkOrderFields(fields: Record<string, unknown>, mode: QrMode): string | undefined {
  if (typeof fields.orderRef !== 'string' || !ORDER_REF.test(fields.orderRef))
    return 'orderRef: expected 1 to 64 letters, digits or ._:-';
  if (!isPositiveWhole(fields.amount)) return 'amount: expected a positive whole number of minor units';
  if (typeof fields.currency !== 'string' || !/^[0-9]{3}$/.test(fields.currency))
    return 'currency: expected 3 digits (ISO 4217 numeric)';
  if (typeof fields.waybill !== 'string' || fields.waybill.trim() === '') return 'waybill: missing';
  if (typeof fields.terminalLabel !== 'string') return 'terminalLabel: expected a string';
  if (
    fields.notifyUrl !== undefined &&
    (typeof fields.notifyUrl !== 'string' || !/^https?:\/\//.test(fields.notifyUrl))
  )
    return 'notifyUrl: expected an http:// or https:// URL';
  if (mode === 'consumer' && (typeof fields.consumerCode !== 'string' || fields.consumerCode === ''))
    return 'consumerCode: missing';
  return undefined;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
