/**
 * The uplink's HTTP requests, on node:http (node:https for an https URL), not the global fetch.
 *
 * Why not fetch: Node 20's fetch is undici, which compiles its HTTP parser to WebAssembly on the
 * first request: measured here, one fetch added 23 MB of private memory and 7 MB of the node
 * binary's pages to the process (and ~50 ms of CPU), a third of what the whole daemon may use.
 * node:http is already loaded for the local API. Connections are kept alive, as fetch did: a
 * box on a cellular link should not pay a TCP (and TLS) handshake for every batch.
 */
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';

/**
 * node:https, loaded on the first https request (a back-end reached over plain HTTP inside a VPN
 * never loads TLS). By require, not import(): in the daemon's and the CLI's bundles an import()
 * has no loader to call (scripts/build/bundle.ts).
 */
const requireOnDemand = createRequire(import.meta.url);

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, connect to last byte; past it the request is aborted with code ETIMEDOUT. */
  timeoutMs: number;
  /** Aborts the request (code ABORT_ERR), e.g. when the service stops. */
  signal?: AbortSignal;
}

/** An answer larger than this is refused: a back-end's task list or batch answer is far smaller. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** Thrown for a request that got no complete answer; `code` says why (ECONNREFUSED, ETIMEDOUT, ...). */
export class HttpRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

export class HttpClient {
  private readonly agents = new Map<string, http.Agent>();
  private httpsModule: typeof https | undefined;

  /** Sends one request and reads the whole answer as text. */
  async request(url: string, request: HttpRequest): Promise<HttpAnswer> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:')
      throw new HttpRequestError(`${url}: only http and https URLs are supported`, 'EPROTO');
    // Loaded on first use: a box whose back-end speaks plain HTTP inside a VPN never loads TLS here.
    const transport = secure ? (this.httpsModule ??= requireOnDemand('node:https') as typeof https) : http;
    const agent = this.agentFor(target.protocol, transport);
    const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
    return new Promise<HttpAnswer>((resolve, reject) => {
      const outgoing = transport.request(target, {
        method: request.method ?? (body ? 'POST' : 'GET'),
        agent,
        headers: { ...request.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
      });
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const fail = (error: Error & { code?: string }) =>
        settle(() =>
          reject(error instanceof HttpRequestError ? error : new HttpRequestError(error.message, error.code ?? 'EIO')),
        );
      const timer = setTimeout(() => {
        const error = new HttpRequestError(`no complete answer within ${request.timeoutMs} ms`, 'ETIMEDOUT');
        fail(error);
        outgoing.destroy(error);
      }, request.timeoutMs);
      const onAbort = () => {
        const error = new HttpRequestError('aborted: the uplink is stopping', 'ABORT_ERR');
        fail(error);
        outgoing.destroy(error);
      };
      if (request.signal?.aborted) onAbort();
      request.signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.on('close', () => request.signal?.removeEventListener('abort', onAbort));
      outgoing.on('error', fail);
      outgoing.on('response', (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
          const error = new HttpRequestError(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`, 'E2BIG');
          fail(error);
          outgoing.destroy(error);
        });
        incoming.on('error', fail);
        incoming.on('aborted', () =>
          fail(new HttpRequestError('the connection closed before the answer was complete', 'ECONNRESET')),
        );
        incoming.on('end', () =>
          settle(() => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })),
        );
      });
      outgoing.end(body);
    });
  }

  /** Closes the kept-alive connections (at stop). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(protocol: string, transport: typeof http | typeof https): http.Agent {
    let agent = this.agents.get(protocol);
    if (!agent) {
      agent = new transport.Agent({ keepAlive: true, maxSockets: 4 });
      this.agents.set(protocol, agent);
    }
    return agent;
  }
}
