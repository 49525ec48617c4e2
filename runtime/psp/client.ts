/**
 * The terminal's PSP link (PspClient of types.ts) over HTTP(S) JSON, as docs/psp.md describes:
 * every request signed (signing.ts), every POST with its Idempotency-Key, every answer that
 * says something about money checked against the PSP's signature before it is believed.
 *
 * On node:http/https, not fetch, for the reasons runtime/uplink/http-client.ts gives. That
 * client is not reused: it does not hand back the answer's headers (the signature is in them),
 * cannot be given the PSP's own CA, and does not tell whether the request had left when it
 * failed — and for money that is the whole question: a request that may have reached the PSP
 * (details.sent true) has an unknown effect that only a query can tell; one refused before it
 * left (details.sent false) did nothing. The client never retries: the payment flow decides.
 */
import http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import { PosError, type ErrorCode } from '../../config/errors.js';
import { canonicalString, newNonce, NonceWindow, PSP_HEADERS } from './signing.js';
import { PSP_CLIENT_DEFAULTS, type PspClientOptions } from './options.js';
import type {
  ConsumerPaymentRequest,
  CreateOrderRequest,
  PspClient,
  PspOrder,
  PspOrderStatus,
  PspRefund,
  RefundRequest,
} from './types.js';
import { createRequire } from 'node:module';

/**
 * node:https, loaded on the first https request (a back-end reached over plain HTTP inside a VPN
 * never loads TLS). By require, not import(): in the daemon's and the CLI's bundles an import()
 * has no loader to call (scripts/build/bundle.ts).
 */
const requireOnDemand = createRequire(import.meta.url);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const STATUSES: ReadonlySet<string> = new Set<PspOrderStatus>([
  'created',
  'waiting',
  'paid',
  'declined',
  'cancelled',
  'refunded',
]);

/** Answers that say something about an order or a refund: believed only when signed by the PSP. */
function mustBeSigned(status: number): boolean {
  return (status >= 200 && status < 300) || status === 404 || status === 409 || status === 422;
}

export class HttpPspClient implements PspClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly notificationNonces: NonceWindow;
  private agent: http.Agent | undefined;
  private httpsModule: typeof https | undefined;

  constructor(private readonly options: PspClientOptions) {
    this.base = new URL(options.url);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new PosError('CODPOS_PSP_CONFIG', `psp.url ${options.url}: expected an http or https URL`, {
        details: { setting: 'psp.url' },
      });
    this.timeoutMs = options.timeoutMs ?? PSP_CLIENT_DEFAULTS.timeoutMs;
    this.now = options.now ?? Date.now;
    this.notificationNonces = new NonceWindow(
      options.notificationWindowMs ?? PSP_CLIENT_DEFAULTS.notificationWindowMs,
      10_000,
    );
  }

  async createOrder(request: CreateOrderRequest): Promise<PspOrder> {
    const answer = await this.send('POST', '/v1/orders', request, request.orderRef);
    return this.orderOf(answer, 'create', request.orderRef);
  }

  async payWithConsumerCode(request: ConsumerPaymentRequest): Promise<PspOrder> {
    const answer = await this.send('POST', '/v1/payments', request, request.orderRef);
    return this.orderOf(answer, 'consumer payment', request.orderRef);
  }

  async query(orderRef: string): Promise<PspOrder> {
    const answer = await this.send('GET', `/v1/orders/${encodeURIComponent(orderRef)}`, undefined, undefined);
    return this.orderOf(answer, 'query', orderRef);
  }

  async cancel(orderRef: string): Promise<PspOrder> {
    const answer = await this.send('POST', `/v1/orders/${encodeURIComponent(orderRef)}/cancel`, {}, orderRef);
    return this.orderOf(answer, 'cancel', orderRef);
  }

  async refund(orderRef: string, request: RefundRequest): Promise<PspRefund> {
    const path = `/v1/orders/${encodeURIComponent(orderRef)}/refunds`;
    const answer = await this.send('POST', path, request, request.refundRef);
    // A refused refund is an outcome (422 with the refund, status refused), not an error.
    if (answer.status !== 200 && answer.status !== 201 && answer.status !== 422) this.failOn(answer, 'refund');
    return parseRefund(parseJson(answer.body, 'refund'), orderRef, request.refundRef);
  }

  verifyNotification(headers: Record<string, string | string[] | undefined>, body: Buffer): PspOrder {
    const header = (name: string) => {
      const value = headers[name] ?? headers[name.toLowerCase()];
      return typeof value === 'string' ? value : undefined;
    };
    const merchant = header(PSP_HEADERS.merchant);
    const terminal = header(PSP_HEADERS.terminal);
    const timestamp = header(PSP_HEADERS.timestamp);
    const nonce = header(PSP_HEADERS.nonce);
    const signature = header(PSP_HEADERS.signature);
    if (!merchant || !terminal || !timestamp || !nonce || !signature)
      throw new PosError('CODPOS_PSP_BAD_SIGNATURE', 'a PSP notification without its signature headers', {
        details: { notification: true },
      });
    if (merchant !== this.options.merchantId || terminal !== this.options.terminalId)
      throw new PosError(
        'CODPOS_PSP_BAD_SIGNATURE',
        `a PSP notification for terminal ${terminal} of merchant ${merchant}, not this one`,
        { details: { notification: true } },
      );
    const canonical = canonicalString({
      method: 'NOTIFY',
      path: '',
      merchantId: merchant,
      terminalId: terminal,
      timestamp,
      nonce,
      body,
    });
    if (!this.options.signer.verify(canonical, signature))
      throw new PosError('CODPOS_PSP_BAD_SIGNATURE', "a PSP notification whose signature is not the PSP's", {
        details: { notification: true },
      });
    const problem = this.notificationNonces.check(timestamp, nonce, this.now());
    if (problem)
      throw new PosError(
        'CODPOS_PSP_STALE_NOTIFICATION',
        problem === 'replayed'
          ? 'a PSP notification seen before (its nonce was used): a replay'
          : `a PSP notification with a ${problem === 'stale' ? 'timestamp outside the accepted window' : `bad ${problem.split('-')[1]}`}`,
        { details: { notification: true, problem } },
      );
    this.notificationNonces.remember(timestamp, nonce);
    return parseOrder(parseJson(body, 'notification'), undefined, 'notification');
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private orderOf(answer: Answer, what: string, orderRef: string): PspOrder {
    if (answer.status !== 200 && answer.status !== 201) this.failOn(answer, what);
    return parseOrder(parseJson(answer.body, what), orderRef, what);
  }

  /** An answer that is not the success asked for, as the PosError it means. */
  private failOn(answer: Answer, what: string): never {
    const error = (() => {
      try {
        return (JSON.parse(answer.body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } }).error;
      } catch {
        return undefined;
      }
    })();
    const pspCode = typeof error?.code === 'string' ? error.code : undefined;
    const pspMessage = typeof error?.message === 'string' ? error.message : undefined;
    const said = `HTTP ${answer.status}${pspCode ? ` ${pspCode}` : ''}${pspMessage ? `: ${pspMessage}` : ''}`;
    const details = { sent: true, status: answer.status, ...(pspCode ? { pspCode } : {}) };
    let code: ErrorCode = 'CODPOS_PSP_REFUSED';
    if (answer.status >= 500) code = 'CODPOS_PSP_UNAVAILABLE';
    else if (answer.status === 404) code = 'CODPOS_PSP_UNKNOWN_ORDER';
    else if (answer.status === 409) code = 'CODPOS_PSP_IDEMPOTENCY_CONFLICT';
    throw new PosError(code, `PSP ${what}: ${said}`, { details });
  }

  /** One signed request; the answer once its signature is checked (where it must be). */
  private async send(
    method: 'GET' | 'POST',
    apiPath: string,
    payload: unknown,
    idempotencyKey: string | undefined,
  ): Promise<Answer> {
    const path = `${this.base.pathname.replace(/\/+$/, '')}${apiPath}`;
    const body = Buffer.from(payload === undefined ? '' : JSON.stringify(payload), 'utf8');
    const timestamp = String(this.now());
    const nonce = newNonce();
    const { merchantId, terminalId, signer } = this.options;
    const headers: Record<string, string> = {
      [PSP_HEADERS.merchant]: merchantId,
      [PSP_HEADERS.terminal]: terminalId,
      [PSP_HEADERS.timestamp]: timestamp,
      [PSP_HEADERS.nonce]: nonce,
      [PSP_HEADERS.signature]: signer.sign(
        canonicalString({ method, path, merchantId, terminalId, timestamp, nonce, body }),
      ),
      accept: 'application/json',
    };
    if (idempotencyKey !== undefined) headers[PSP_HEADERS.idempotencyKey] = idempotencyKey;
    if (method === 'POST') headers['content-type'] = 'application/json';
    const answer = await this.exchange(method, path, headers, body);
    if (answer.status < 500) {
      const verified = this.answerIsSigned(answer, path, nonce);
      if (!verified && mustBeSigned(answer.status))
        throw new PosError(
          'CODPOS_PSP_BAD_SIGNATURE',
          `PSP ${method} ${apiPath}: the answer (HTTP ${answer.status}) is not signed by the PSP: not believed`,
          { details: { sent: true, status: answer.status } },
        );
    }
    return answer;
  }

  private answerIsSigned(answer: Answer, path: string, nonce: string): boolean {
    const timestamp = answer.headers[PSP_HEADERS.timestamp];
    const signature = answer.headers[PSP_HEADERS.signature];
    // The answer must carry our request's nonce: an old answer cannot stand for a new request.
    if (answer.headers[PSP_HEADERS.nonce] !== nonce) return false;
    if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
    const { merchantId, terminalId } = this.options;
    return this.options.signer.verify(
      canonicalString({
        method: `ANSWER ${answer.status}`,
        path,
        merchantId,
        terminalId,
        timestamp,
        nonce,
        body: answer.body,
      }),
      signature,
    );
  }

  private async exchange(method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
    const secure = this.base.protocol === 'https:';
    // Loaded on first use: a PSP reached over plain HTTP inside a VPN never loads TLS here.
    const transport = secure ? (this.httpsModule ??= requireOnDemand('node:https') as typeof https) : http;
    this.agent ??= secure
      ? new (transport as typeof https).Agent({
          keepAlive: true,
          maxSockets: 4,
          ...(this.options.ca !== undefined ? { ca: this.options.ca } : {}),
        })
      : new http.Agent({ keepAlive: true, maxSockets: 4 });
    const target = new URL(this.base.origin);
    target.pathname = path;
    const fail = (code: ErrorCode, message: string, sent: boolean, cause?: unknown): PosError =>
      new PosError(code, `PSP ${method} ${path}: ${message}`, {
        ...(cause !== undefined ? { cause } : {}),
        details: { sent, method, path },
        disconnected: code === 'CODPOS_PSP_UNREACHABLE',
      });
    return new Promise<Answer>((resolve, reject) => {
      // Whether the request may have reached the PSP: once the connection is up (TLS done), yes.
      let sent = false;
      let settled = false;
      const outgoing = transport.request(target, {
        method,
        agent: this.agent,
        headers: { ...headers, 'content-length': String(body.length) },
      });
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const timer = setTimeout(() => {
        settle(() => reject(fail('CODPOS_PSP_TIMEOUT', `no complete answer within ${this.timeoutMs} ms`, sent)));
        outgoing.destroy();
      }, this.timeoutMs);
      outgoing.on('socket', (socket: Socket) => {
        if (!socket.connecting) sent = true;
        else socket.once(secure ? 'secureConnect' : 'connect', () => (sent = true));
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) =>
        settle(() =>
          reject(
            fail(
              'CODPOS_PSP_UNREACHABLE',
              sent
                ? `the connection closed before the answer (${error.code ?? error.message})`
                : `cannot connect (${error.code ?? error.message})`,
              sent,
              error,
            ),
          ),
        ),
      );
      outgoing.on('response', (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 1024 * 1024) return void chunks.push(chunk);
          settle(() => reject(fail('CODPOS_PSP_BAD_ANSWER', 'the answer is over 1 MiB', true)));
          outgoing.destroy();
        });
        incoming.on('aborted', () =>
          settle(() =>
            reject(fail('CODPOS_PSP_UNREACHABLE', 'the connection closed before the answer was complete', true)),
          ),
        );
        incoming.on('error', (error) =>
          settle(() => reject(fail('CODPOS_PSP_UNREACHABLE', `the answer broke off (${error.message})`, true, error))),
        );
        incoming.on('end', () =>
          settle(() =>
            resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }),
          ),
        );
      });
      outgoing.end(body);
    });
  }
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new PosError('CODPOS_PSP_BAD_ANSWER', `PSP ${what}: the answer is not JSON`, { details: { sent: true } });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PosError('CODPOS_PSP_BAD_ANSWER', `PSP ${what}: the answer is not a JSON object`, {
      details: { sent: true },
    });
  return value as Record<string, unknown>;
}

function badField(what: string, field: string, expected: string): PosError {
  return new PosError('CODPOS_PSP_BAD_ANSWER', `PSP ${what}: ${field} is not ${expected}`, {
    details: { sent: true, field },
  });
}

const isWhole = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** An order as the PSP sent it, every field checked; `orderRef` when the answer must be about that order. */
export function parseOrder(value: Record<string, unknown>, orderRef: string | undefined, what: string): PspOrder {
  const text = (field: string) => {
    if (typeof value[field] !== 'string') throw badField(what, field, 'a string');
    return value[field];
  };
  const optionalText = (field: string) => {
    if (value[field] !== undefined && typeof value[field] !== 'string') throw badField(what, field, 'a string');
    return value[field] as string | undefined;
  };
  const ref = text('orderRef');
  if (orderRef !== undefined && ref !== orderRef) throw badField(what, 'orderRef', `the order asked for (${orderRef})`);
  const mode = text('mode');
  if (mode !== 'merchant' && mode !== 'consumer') throw badField(what, 'mode', 'merchant or consumer');
  const status = text('status');
  if (!STATUSES.has(status)) throw badField(what, 'status', 'a known order status');
  if (!isWhole(value.amount) || value.amount === 0) throw badField(what, 'amount', 'a positive whole number');
  const currency = text('currency');
  if (!/^[0-9]{3}$/.test(currency)) throw badField(what, 'currency', '3 digits');
  if (value.refundedAmount !== undefined && !isWhole(value.refundedAmount))
    throw badField(what, 'refundedAmount', 'a whole number');
  const wallet = optionalText('wallet');
  const declineReason = optionalText('declineReason');
  const paidAt = optionalText('paidAt');
  return {
    orderRef: ref,
    orderId: text('orderId'),
    mode,
    status: status as PspOrderStatus,
    amount: value.amount,
    currency,
    waybill: text('waybill'),
    ...(wallet !== undefined ? { wallet } : {}),
    ...(declineReason !== undefined ? { declineReason } : {}),
    ...(paidAt !== undefined ? { paidAt } : {}),
    ...(value.refundedAmount !== undefined ? { refundedAmount: value.refundedAmount } : {}),
  };
}

function parseRefund(value: Record<string, unknown>, orderRef: string, refundRef: string): PspRefund {
  if (value.refundRef !== refundRef) throw badField('refund', 'refundRef', `the refund asked for (${refundRef})`);
  if (value.orderRef !== orderRef) throw badField('refund', 'orderRef', `the order asked for (${orderRef})`);
  if (value.status !== 'refunded' && value.status !== 'refused')
    throw badField('refund', 'status', 'refunded or refused');
  if (!isWhole(value.amount)) throw badField('refund', 'amount', 'a whole number');
  if (value.refusedReason !== undefined && typeof value.refusedReason !== 'string')
    throw badField('refund', 'refusedReason', 'a string');
  return {
    refundRef,
    orderRef,
    status: value.status,
    amount: value.amount,
    ...(value.refusedReason !== undefined ? { refusedReason: value.refusedReason } : {}),
  };
}
