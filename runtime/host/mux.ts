/**
 * The host link's middle layer (jPOS: packager + MUX): encodes a request with the
 * configured dialect, sends it down the channel and gives back the response that
 * matches it on MTI class + DE11 (STAN) + DE41 (terminal id), however many requests
 * are in flight and in whatever order the host answers. A response that matches
 * nothing (never asked, or arriving after its request timed out) is logged masked and
 * dropped. No answer in time is a PosError CODPOS_HOST_TIMEOUT; what the answer says
 * (approved, declined) is the caller's to read: outcomes are data, faults are errors.
 */
import { PosError } from '../../config/errors.js';
import {
  decodeIso8583,
  encodeIso8583,
  matchKey,
  maskedMessageJson,
  parseMti,
  responseMti,
  type Dialect,
  type IsoMessage,
} from '../../emv/iso8583/index.js';
import type { Logger } from '../log.js';
import type { HostChannel } from './channel.js';

export interface MuxOptions {
  dialect: Dialect;
  log?: Logger;
  /** How many keys of timed-out requests are remembered, to tell a late answer from a stray one. */
  lateMemory?: number;
}

interface InFlight {
  request: IsoMessage;
  resolve: (response: IsoMessage) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  sent: boolean;
  /** performance.now() when the request left, for the round trip. */
  sentAt: number;
}

/**
 * One request/response exchange that ended, for metrics: the request's MTI (a value of the
 * fixed set the client sends, never a field of the card), and either the time from the request
 * leaving to its answer arriving or the fact that no answer came in time.
 */
export type HostExchange =
  { requestMti: string; result: 'answered'; roundTripMs: number } | { requestMti: string; result: 'timeout' };
export type HostExchangeObserver = (exchange: HostExchange) => void;

export interface MuxCounters {
  requests: number;
  responses: number;
  timeouts: number;
  /** Responses to requests that had already timed out. */
  late: number;
  /** Responses to nothing we asked, and requests from the host (not served here). */
  unmatched: number;
  /** Messages that did not decode. */
  undecodable: number;
}

export class HostMux {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly observers = new Set<HostExchangeObserver>();
  private readonly timedOut: string[] = [];
  readonly counters: MuxCounters = { requests: 0, responses: 0, timeouts: 0, late: 0, unmatched: 0, undecodable: 0 };
  private readonly onMessage = (data: Buffer) => this.receive(data);
  private readonly onDisconnected = (error: PosError) => this.failSent(error);

  constructor(
    readonly channel: HostChannel,
    private readonly options: MuxOptions,
  ) {
    channel.on('message', this.onMessage);
    channel.on('disconnected', this.onDisconnected);
  }

  /** Calls `observer` after each exchange that ends answered or timed out; returns the function that stops it. */
  observe(observer: HostExchangeObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Requests in flight now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Sends `request` and resolves with its response. The time-out covers waiting for
   * the link, sending and the answer. Rejects with CODPOS_HOST_TIMEOUT (it left, no
   * answer came), or with the channel's disconnected PosError; `details.sent` says
   * whether the request left (and so whether its outcome is unknown).
   */
  async request(request: IsoMessage, timeoutMs: number): Promise<IsoMessage> {
    if (!(timeoutMs > 0))
      throw new PosError('CODPOS_HOST_BAD_REQUEST', `a host request needs a time-out above 0 ms, got ${timeoutMs}`, {
        details: { option: 'timeoutMs' },
      });
    const { messageFunction } = parseMti(request.mti);
    if (messageFunction % 2 !== 0)
      throw new PosError('CODPOS_HOST_BAD_REQUEST', `${request.mti} is a response; the mux sends requests`, {
        details: { field: 'mti' },
      });
    const key = matchKey(request);
    if (this.inFlight.has(key)) {
      throw new PosError(
        'CODPOS_HOST_BAD_REQUEST',
        `a ${request.mti} with STAN ${String(request.fields[11])} is already in flight; every request in flight needs its own STAN`,
        { details: { field: '11' } },
      );
    }
    // Encode before waiting, so a bad message fails at once with the codec's error.
    const bytes = encodeIso8583(request, this.options.dialect);
    this.counters.requests++;
    const deadline = Date.now() + timeoutMs;
    return new Promise<IsoMessage>((resolve, reject) => {
      const entry: InFlight = {
        request,
        resolve,
        reject,
        sent: false,
        sentAt: 0,
        timer: setTimeout(() => {
          if (this.inFlight.get(key) !== entry) return;
          this.inFlight.delete(key);
          if (entry.sent) this.rememberTimedOut(key);
          if (!entry.sent) {
            // It never left: the link is down, and there is nothing to reverse.
            const why = this.channel.problem;
            reject(
              withSent(
                why ??
                  new PosError(
                    'CODPOS_HOST_DISCONNECTED',
                    `no connection to the acquirer within ${timeoutMs} ms; ${request.mti} STAN ${String(request.fields[11])} was not sent`,
                    { disconnected: true },
                  ),
                false,
              ),
            );
            return;
          }
          this.counters.timeouts++;
          this.notify({ requestMti: request.mti, result: 'timeout' });
          reject(
            new PosError(
              'CODPOS_HOST_TIMEOUT',
              `no ${responseMti(request.mti)} from the acquirer for ${request.mti} STAN ${String(request.fields[11])} within ${timeoutMs} ms`,
              {
                details: { mti: request.mti, stan: request.fields[11], timeoutMs, sent: entry.sent },
              },
            ),
          );
        }, timeoutMs),
      };
      this.inFlight.set(key, entry);
      void (async () => {
        try {
          await this.channel.ready(Math.max(1, deadline - Date.now()));
          if (this.inFlight.get(key) !== entry) return; // timed out while waiting for the link
          entry.sentAt = performance.now();
          await this.channel.send(bytes);
          entry.sent = true;
        } catch (error) {
          if (this.inFlight.get(key) !== entry) return;
          this.inFlight.delete(key);
          clearTimeout(entry.timer);
          reject(withSent(error, false));
        }
      })();
    });
  }

  /** Stops listening; requests in flight fail as disconnected. */
  detach(): void {
    this.channel.off('message', this.onMessage);
    this.channel.off('disconnected', this.onDisconnected);
    this.failAll(new PosError('CODPOS_HOST_DISCONNECTED', 'the host link stopped', { disconnected: true }));
  }

  private receive(data: Buffer): void {
    let message: IsoMessage;
    try {
      message = decodeIso8583(data, this.options.dialect);
    } catch (error) {
      this.counters.undecodable++;
      this.options.log?.warn({ err: error, bytes: data.length }, 'host message that does not decode dropped');
      return;
    }
    const key = matchKey(message);
    const entry = this.inFlight.get(key);
    const isResponse = /^[0-9]{4}$/.test(message.mti) && Number(message.mti[2]) % 2 === 1;
    if (!isResponse || entry === undefined || responseMti(entry.request.mti) !== message.mti) {
      const late = isResponse && this.timedOut.includes(key);
      if (late) this.counters.late++;
      else this.counters.unmatched++;
      this.options.log?.warn(
        { message: maskedMessageJson(message) },
        late ? 'late host response dropped (its request had timed out)' : 'unmatched host message dropped',
      );
      return;
    }
    this.inFlight.delete(key);
    clearTimeout(entry.timer);
    this.counters.responses++;
    this.notify({ requestMti: entry.request.mti, result: 'answered', roundTripMs: performance.now() - entry.sentAt });
    entry.resolve(message);
  }

  /** An observer that throws is a bug of its own: it must not cost the payment its answer. */
  private notify(exchange: HostExchange): void {
    for (const observer of this.observers) {
      try {
        observer(exchange);
      } catch (error) {
        this.options.log?.error({ err: error }, 'host exchange observer failed');
      }
    }
  }

  /** The link dropped: what was sent will get no answer on this connection. */
  private failSent(error: PosError): void {
    for (const [key, entry] of this.inFlight) {
      if (!entry.sent) continue; // still waiting for the link: it may come back in time
      this.inFlight.delete(key);
      clearTimeout(entry.timer);
      entry.reject(withSent(error, true));
    }
  }

  private failAll(error: PosError): void {
    for (const [key, entry] of this.inFlight) {
      this.inFlight.delete(key);
      clearTimeout(entry.timer);
      entry.reject(withSent(error, entry.sent));
    }
  }

  private rememberTimedOut(key: string): void {
    this.timedOut.push(key);
    const limit = this.options.lateMemory ?? 256;
    if (this.timedOut.length > limit) this.timedOut.splice(0, this.timedOut.length - limit);
  }
}

/** True when a request's fate is unknown: it left (or may have left) and no answer came. */
export function outcomeUnknown(error: unknown): boolean {
  return error instanceof PosError && error.area === 'HOST' && error.details?.sent === true;
}

function withSent(error: unknown, sent: boolean): unknown {
  if (!(error instanceof PosError)) return error;
  return new PosError(error.code, error.message, {
    disconnected: error.disconnected,
    cause: error.cause ?? error,
    details: { ...error.details, sent },
  });
}
