/**
 * The local API: HTTP/1.1 + JSON on a Unix socket in the data directory (`api.socket`,
 * mode 0660), and optionally on 127.0.0.1:`api.tcpPort` for the screen app, where every
 * request must carry `Authorization: Bearer <api.bearerToken>` (or, for the status page's
 * reads, its cookie: tcp-access.ts). `codpos status` and the screen app use it.
 *
 *   GET  /v1/status         the daemon (pid, version, started) and each service's health
 *   GET  /v1/events         Server-Sent Events from the event bus; Last-Event-ID resumes
 *   GET  /v1/openapi.json   this API described (OpenAPI 3.1) from the zod schemas that gate its requests (openapi.ts)
 *   GET  /status, /v1/status/summary: the technician's status page and its data (status-routes.ts)
 *   /v1/payments/..., /v1/receipts/reprint, /v1/settlement: card payments (payment-routes.ts)
 *   /v1/payments/qr/..., POST /v1/psp/notifications: QR payments through the PSP (qr-routes.ts)
 *   /v1/params, POST /v1/params/rollback: the parameter package running, apply one, roll back (params-routes.ts)
 *   POST /v1/waybills/events pickup, dispatch, delivery (with its COD collection), exception
 *   GET  /v1/waybills/{id}  a waybill's status, task, events and card payments (query-routes.ts)
 *   GET  /v1/reports/day    ?date=YYYY-MM-DD: cash to hand over, card collections, reconciliation
 *   /v1/handover            the cash handover that closes the day (handover-routes.ts)
 *   GET  /v1/tasks, POST /v1/tasks/refresh, POST /v1/courier/check-in|check-out
 *   GET  /v1/quote          ?destination=&weightGrams=&service=&codAmount=: a price (quote-routes.ts)
 *   /v1/diagnostics/...     the process: memory, CPU, event-loop delay (diagnostics-routes.ts)
 *   GET  /metrics           the daemon measured, Prometheus text format (metrics-routes.ts)
 *   /v1/sim/...             simulated devices only: insert or swipe a virtual card, set what the
 *                           PIN pad's customer types, read what the printer printed (sim-control.ts)
 *
 * Errors are JSON `{ "error": { "code", "message", "journalId"? } }` with the codes of
 * config/errors.ts (`journalId` when the error is about a journaled payment).
 * A socket file left by a daemon that died is removed at start; one a running daemon still
 * answers on is not (CODPOS_DAEMON_API_IN_USE: two daemons must not share a box's devices).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { PosError, type ErrorCode } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import type { DaemonEvent, EventBus } from './events.js';
import type { SimControl } from './sim-control.js';
import { paymentRoutes, type PaymentApi } from './payment-routes.js';
import { qrRoutes, type QrApi } from './qr-routes.js';
import { paramsRoutes, type ParamsApi } from './params-routes.js';
import { quoteRoutes, type QuoteApi } from './quote-routes.js';
import { statusRoutes } from './status-routes.js';
import type { StatusSources } from './status-summary.js';
import { RawAnswer } from './raw-answer.js';
import { tcpAccess } from './tcp-access.js';
import { handoverRoutes, type HandoverApi } from './handover-routes.js';
import { queryRoutes } from './query-routes.js';
import { diagnosticsRoutes } from './diagnostics-routes.js';
import { metricsRoutes, type DaemonMetrics } from './metrics-routes.js';
import { WAYBILL_EVENT_KINDS, type WaybillHistory } from '../workflow/service.js';
import { z, type ZodType } from 'zod';
import { openApiDocument } from './openapi.js';
import { inputProblem } from './input-check.js';

/** What a route handler gets besides the JSON body. */
export interface ApiRequest {
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  /** The `{name}` parts of the route's path. */
  params: Record<string, string>;
  /** Aborted when the client's connection closes before it was answered (the client went away). */
  signal: AbortSignal;
  /** The body's bytes as received (a signed PSP notification is checked over them, not over re-encoded JSON). */
  rawBody?: Buffer;
}

/** A JSON answer with another status than 200 (202: a QR payment accepted, its outcome still to come). */
export class JsonAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export type ApiHandler = (body: unknown, request: ApiRequest) => Promise<unknown>;
/**
 * A described route method: what it does (the OpenAPI summary) and the zod schemas of its
 * input. The schemas are the gate: a request they refuse is a 400 before the handler runs, and
 * the same schemas write GET /v1/openapi.json (openapi.ts), so the document cannot drift from
 * the checks. They type only what the handler needs; the handler's own checks stay behind them.
 */
export interface ApiOperation {
  handler: ApiHandler | 'stream';
  summary: string;
  /** The query string as an object of strings (the first value of each name). */
  query?: ZodType;
  body?: ZodType;
  /** The `{name}` parts of the path. */
  params?: ZodType;
  /** The code a refused request answers with, where the route had its own documented one before the schema (default CODPOS_USAGE_BAD_REQUEST). */
  refusal?: ErrorCode;
}
/** Path (with `{name}` for a part of it) -> method -> handler, `stream` for SSE, or a described operation. */
export type ApiRoutes = Record<string, Record<string, 'stream' | ApiHandler | ApiOperation>>;

export interface LocalApiDeps {
  /** Every service's health, the API's own included. */
  health: () => Record<string, Health>;
  events: EventBus;
  version: string;
  /** Card payments, their receipts and end-of-day settlement (absent: their paths answer 503). */
  payments?: PaymentApi;
  /** QR payments through the PSP (absent: their paths answer 503). */
  qr?: QrApi;
  /** The parameter package running, apply and roll back (absent: their paths answer 503). */
  params?: ParamsApi;
  /** Waybill events, price quotes and the cash handover (absent: their paths answer 503). */
  workflow?: QuoteApi &
    HandoverApi & {
      record(input: never): Promise<unknown>;
      report(date?: string): unknown;
      tasks(): unknown;
      refreshTasks(): Promise<unknown>;
      checkIn(courierId: unknown, pin: unknown): unknown;
      checkOut(): unknown;
      waybill(scanned: unknown): WaybillHistory;
    };
  /** What the status summary reads besides the above: device links, spool, open batch (absent: those parts are null). */
  statusSources?: StatusSources;
  /** Control of the simulated devices (absent: /v1/sim/* answers 404). */
  sim?: SimControl;
  /** What GET /metrics reads; counting begins when the API starts (absent: no /metrics). */
  metrics?: DaemonMetrics;
  /** How often an idle event stream gets a comment line, so proxies and clients see it alive. */
  heartbeatMs?: number;
}

/** Where the socket is: `api.socket` resolved against `data.dir`. */
export function apiSocketPath(config: Pick<Config, 'data' | 'api'>): string {
  return resolve(config.data.dir, config.api.socket);
}

export class LocalApiService implements Service {
  readonly name = 'api';
  private servers: Server[] = [];
  private readonly streams = new Set<ServerResponse>();
  private readonly startedAt = new Date();
  private routeTable: ApiRoutes | undefined;
  private state: Health = { state: 'stopped' };

  constructor(
    private readonly config: Pick<Config, 'data' | 'api'>,
    private readonly log: Logger,
    private readonly deps: LocalApiDeps,
  ) {}

  get socketPath(): string {
    return apiSocketPath(this.config);
  }

  async start(): Promise<void> {
    this.state = { state: 'starting' };
    const { tcpPort, bearerToken } = this.config.api;
    if (tcpPort > 0 && bearerToken === '') {
      throw new PosError(
        'CODPOS_CONFIG_INVALID',
        'api.bearerToken: must be set when api.tcpPort opens the API on TCP',
        { details: { problems: ['api.bearerToken'] } },
      );
    }
    await removeStaleSocket(this.socketPath);
    const local = createServer((req, res) => this.handle(req, res, false));
    await listen(local, () => local.listen(this.socketPath));
    chmodSync(this.socketPath, 0o660);
    this.servers.push(local);
    if (tcpPort > 0) {
      const tcp = createServer((req, res) => this.handle(req, res, true));
      await listen(tcp, () => tcp.listen(tcpPort, '127.0.0.1'));
      this.servers.push(tcp);
    }
    this.deps.metrics?.start();
    this.state = { state: 'up' };
    this.log.info({ socket: this.socketPath, ...(tcpPort > 0 ? { tcpPort } : {}) }, 'local API listening');
  }

  async stop(): Promise<void> {
    // A payment waiting for its card would hold its request (and so this stop) open: end it.
    this.deps.payments?.cancelWaiting();
    for (const server of this.servers) server.closeIdleConnections();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    await Promise.all(this.servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
    this.servers = [];
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    this.deps.metrics?.stop();
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  private handle(req: IncomingMessage, res: ServerResponse, overTcp: boolean): void {
    const url = new URL(req.url ?? '/', 'http://codposd');
    if (overTcp) {
      const access = tcpAccess(req, url, this.config.api.bearerToken);
      if (access.kind === 'denied') {
        sendError(res, new PosError('CODPOS_USAGE_UNAUTHORIZED', access.reason));
        return;
      }
      if (access.kind === 'login') {
        res.writeHead(303, {
          Location: access.location,
          'Set-Cookie': access.setCookie,
          'Cache-Control': 'no-store',
          'Referrer-Policy': 'no-referrer',
          'Content-Length': 0,
        });
        res.end();
        return;
      }
    }
    const path = url.pathname;
    // Built once per start, not per request: the table is a few hundred closures and schemas.
    const routes = (this.routeTable ??= this.routes());
    const { methods, params } = matchRoute(routes, path);
    if (methods === undefined) {
      sendError(
        res,
        new PosError('CODPOS_USAGE_NOT_FOUND', `no such API path ${path}; there are ${Object.keys(routes).join(', ')}`),
      );
      return;
    }
    const entry = methods[req.method ?? ''];
    if (entry === undefined) {
      res.setHeader('Allow', Object.keys(methods).join(', '));
      sendError(
        res,
        new PosError(
          'CODPOS_USAGE_METHOD',
          `${path} takes ${Object.keys(methods).join(' or ')}, not ${req.method ?? '?'}`,
        ),
      );
      return;
    }
    const operation = typeof entry === 'object' ? entry : undefined;
    const handler = typeof entry === 'object' ? entry.handler : entry;
    if (handler === 'stream') {
      const problem = operation && inputProblem(operation, { query: url.searchParams, params, body: {} });
      if (problem) {
        sendError(res, new PosError(operation.refusal ?? 'CODPOS_USAGE_BAD_REQUEST', problem));
        return;
      }
      this.stream(req, res);
      return;
    }
    // A client that goes away before its answer (closed, killed, Ctrl-C) aborts the request's signal.
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    let rawBody: Buffer | undefined;
    readJsonBody(req)
      .then(({ body, raw }) => {
        rawBody = raw;
        const problem = operation && inputProblem(operation, { query: url.searchParams, params, body });
        if (problem) throw new PosError(operation.refusal ?? 'CODPOS_USAGE_BAD_REQUEST', problem);
        // A route without a body schema still reads fields of its body: a null one threw a TypeError there (a 500).
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw new PosError(
            'CODPOS_USAGE_BAD_JSON',
            `the request body must be a JSON object, not ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}`,
          );
        }
        return body;
      })
      .then((body) =>
        handler(body, {
          headers: req.headers,
          query: url.searchParams,
          params,
          signal: gone.signal,
          ...(rawBody ? { rawBody } : {}),
        }),
      )
      .then((answer) =>
        answer instanceof RawAnswer
          ? sendRaw(res, answer)
          : answer instanceof JsonAnswer
            ? sendJson(res, answer.status, answer.body)
            : sendJson(res, 200, answer),
      )
      .catch((error: unknown) =>
        sendError(
          res,
          error instanceof PosError
            ? error
            : new PosError('CODPOS_INTERNAL_API', (error as Error).message, { cause: error }),
        ),
      );
  }

  private routes(): ApiRoutes {
    const routes: ApiRoutes = {
      '/v1/status': {
        GET: {
          summary: "the daemon (pid, version, start) and each service's health",
          handler: async () => ({ daemon: this.daemonInfo(), services: this.deps.health() }),
        },
      },
      '/v1/events': {
        GET: { summary: "Server-Sent Events from the daemon's event bus; Last-Event-ID resumes", handler: 'stream' },
      },
      '/v1/openapi.json': {
        GET: {
          summary: 'this document: every path of the local API, written from the schemas that check its requests',
          handler: async () => openApiDocument(routes, this.deps.version),
        },
      },
      ...statusRoutes({
        daemon: this.daemonInfo(),
        health: this.deps.health,
        ...(this.deps.statusSources && { sources: this.deps.statusSources }),
        ...(this.deps.payments && { payments: this.deps.payments }),
        ...(this.deps.workflow && { workflow: this.deps.workflow }),
      }),
      ...paymentRoutes(this.deps.payments),
      ...qrRoutes(this.deps.qr),
      ...paramsRoutes(this.deps.params),
      ...quoteRoutes(this.deps.workflow),
      ...handoverRoutes(this.deps.workflow),
      ...queryRoutes({
        ...(this.deps.workflow ? { workflow: this.deps.workflow } : {}),
        ...(this.deps.payments ? { payments: this.deps.payments } : {}),
      }),
      ...diagnosticsRoutes({ log: this.log }),
      ...metricsRoutes(this.deps.metrics),
      '/v1/waybills/events': {
        POST: {
          summary: 'records a pickup, dispatch, delivery (with its COD collection) or exception (docs/workflow.md)',
          body: WAYBILL_EVENT_BODY,
          refusal: 'CODPOS_USAGE_WAYBILL_EVENT',
          handler: async (body) => {
            if (!this.deps.workflow)
              throw new PosError(
                'CODPOS_DEVICE_WORKFLOW_UNAVAILABLE',
                'waybill events are not available in this daemon',
              );
            return this.deps.workflow.record(body as never);
          },
        },
      },
      '/v1/tasks': {
        GET: {
          summary: "the cached task list with each task's state and what is left to collect",
          handler: async () => this.workflow().tasks(),
        },
      },
      '/v1/tasks/refresh': {
        POST: {
          summary: 'downloads the task list, couriers and tariff again',
          handler: async () => this.workflow().refreshTasks(),
        },
      },
      '/v1/courier/check-in': {
        POST: {
          summary: 'checks the courier in (the PIN checked offline against the cached hashes)',
          body: CHECK_IN_BODY,
          refusal: 'CODPOS_USAGE_CHECK_IN',
          handler: async (body) => {
            const { courierId, pin } = (body ?? {}) as { courierId?: unknown; pin?: unknown };
            return this.workflow().checkIn(courierId, pin);
          },
        },
      },
      '/v1/courier/check-out': {
        POST: { summary: 'ends the check-in', handler: async () => this.workflow().checkOut() },
      },
      '/v1/reports/day': {
        GET: {
          summary: "the courier's end of day: cash to hand over, card collections, exceptions, what does not reconcile",
          query: DAY_QUERY,
          handler: async (_body, request) => {
            if (!this.deps.workflow)
              throw new PosError('CODPOS_DEVICE_WORKFLOW_UNAVAILABLE', 'reports are not available in this daemon');
            return this.deps.workflow.report(request.query.get('date') ?? undefined);
          },
        },
      },
    };
    if (this.deps.sim) Object.assign(routes, this.deps.sim.routes());
    return routes;
  }

  private workflow(): NonNullable<LocalApiDeps['workflow']> {
    if (!this.deps.workflow)
      throw new PosError('CODPOS_DEVICE_WORKFLOW_UNAVAILABLE', 'the courier workflow is not available in this daemon');
    return this.deps.workflow;
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    // A stream ended by stop() stays subscribed until its 'close' arrives: write nothing after the end.
    const write = (event: DaemonEvent) => {
      if (!res.writableEnded)
        res.write(
          `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ at: event.at, ...event.data })}\n\n`,
        );
    };
    const lastId = Number(req.headers['last-event-id'] ?? 'NaN');
    res.write(': codposd events\n\n');
    if (Number.isSafeInteger(lastId)) {
      const { events, gap } = this.deps.events.replay(lastId);
      // No id line: the gap is this client's news, not an event of the bus (its Last-Event-ID stays).
      if (gap) res.write(`event: events.gap\ndata: ${JSON.stringify({ at: new Date().toISOString(), ...gap })}\n\n`);
      for (const missed of events) write(missed);
    }
    const unsubscribe = this.deps.events.subscribe(write);
    const heartbeat = setInterval(
      () => !res.writableEnded && res.write(': keep-alive\n\n'),
      this.deps.heartbeatMs ?? 15_000,
    );
    heartbeat.unref();
    this.streams.add(res);
    res.on('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      this.streams.delete(res);
    });
  }

  private daemonInfo(): { pid: number; version: string; startedAt: string } {
    return { pid: process.pid, version: this.deps.version, startedAt: this.startedAt.toISOString() };
  }
}

/** `?date=YYYY-MM-DD` (default today); the handler checks it is a day of the calendar. */
export const DAY_QUERY = z.object({
  date: z
    .string()
    .optional()
    .meta({ description: "YYYY-MM-DD, the terminal's local day (default today)", examples: ['2026-12-05'] }),
});

/** A waybill event: the fields every kind needs; the kind's own (cod, reason, weightGrams, ...) the workflow checks. */
const WAYBILL_EVENT_BODY = z.looseObject({
  kind: z.enum(WAYBILL_EVENT_KINDS, { error: `expected ${WAYBILL_EVENT_KINDS.join(', ')}` }),
  waybill: z
    .string({ error: 'expected the waybill number as text' })
    .meta({ description: "the waybill number (S10 with its check digit, or the operator's format)" }),
  reason: z.string().optional().meta({ description: "an exception's reason code" }),
  note: z.string({ error: 'expected text of at most 500 characters' }).optional(),
});

const CHECK_IN_BODY = z.object(
  { courierId: z.string(), pin: z.string().meta({ description: '4 to 12 digits' }) },
  { error: 'check-in needs courierId and a PIN of 4 to 12 digits' },
);

/** The route for a path: an exact one first, else one with `{name}` parts (each part one path segment). */
function matchRoute(
  routes: ApiRoutes,
  path: string,
): { methods: ApiRoutes[string] | undefined; params: Record<string, string> } {
  if (routes[path] !== undefined && !path.includes('{')) return { methods: routes[path], params: {} };
  const segments = path.split('/');
  for (const [pattern, methods] of Object.entries(routes)) {
    if (!pattern.includes('{')) continue;
    const parts = pattern.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segments[i];
      if (segments[i] === '') return false;
      params[name] = decodeURIComponent(segments[i]!);
      return true;
    });
    if (matches) return { methods, params };
  }
  return { methods: undefined, params: {} };
}

/** The most of a request body the local API reads; every body it takes is far smaller. */
const MAX_BODY_BYTES = 65_536;

/**
 * The request's JSON body (`{}` when empty). A body that is not JSON is a 400; one over
 * 64 KiB is a 413. (One that is JSON but not an object is refused after the route's schema.)
 */
function readJsonBody(req: IncomingMessage): Promise<{ body: unknown; raw: Buffer }> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // Past the limit the rest is read and dropped, not kept: closing the connection
      // mid-request reset it before the caller could read why (the server's requestTimeout
      // still ends a body that never stops).
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (bytes > MAX_BODY_BYTES) {
        return reject(
          new PosError(
            'CODPOS_USAGE_BODY_TOO_LARGE',
            `the request body is ${bytes} bytes; the local API reads at most ${MAX_BODY_BYTES} (64 KiB)`,
            { details: { bytes, limit: MAX_BODY_BYTES } },
          ),
        );
      }
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      if (text.trim() === '') return resolveBody({ body: {}, raw });
      try {
        resolveBody({ body: JSON.parse(text), raw });
      } catch {
        reject(new PosError('CODPOS_USAGE_BAD_JSON', 'the request body is not JSON'));
      }
    });
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendRaw(res: ServerResponse, answer: RawAnswer): void {
  res.writeHead(200, {
    ...answer.headers,
    'Content-Type': answer.contentType,
    'Content-Length': Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}

/**
 * The error answer. Its HTTP status is the code's (config/error-codes.ts, else its area's): the
 * caller's mistakes 4xx, a missing device or acquirer 503, anything else (a bug included) 500.
 */
function sendError(res: ServerResponse, error: PosError): void {
  const journalId = error.details?.journalId;
  sendJson(res, error.httpStatus, {
    error: { code: error.code, message: error.message, ...(typeof journalId === 'string' ? { journalId } : {}) },
  });
}

function listen(server: Server, start: () => void): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PosError('CODPOS_DAEMON_API_LISTEN', `the local API cannot listen: ${error.message}`, {
          cause: error,
          details: { errno: error.code },
        }),
      ),
    );
    server.once('listening', () => resolveListen());
    start();
  });
}

/** Removes a socket file no daemon answers on; refuses one that a running daemon does. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const answered = await new Promise<boolean>((done) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
  if (answered) {
    throw new PosError(
      'CODPOS_DAEMON_API_IN_USE',
      `another codposd answers on ${path}: stop it first (two daemons must not drive the same devices)`,
      { details: { socket: path } },
    );
  }
  unlinkSync(path);
}
