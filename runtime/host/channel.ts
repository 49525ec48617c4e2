/**
 * The host link's bottom layer (jPOS: the channel): a TCP connection to the acquirer
 * that moves framed ISO 8583 messages and nothing else. It knows the length header,
 * the TPDU and when the socket is up; it does not know MTIs, STANs or time-outs
 * (those are the mux's). A lost connection is a PosError with `disconnected: true`,
 * and the channel reconnects by itself with backoff until it is closed.
 */
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Config } from '../../config/schema.js';
import { PosError } from '../../config/errors.js';
import { IsoStreamFramer, framingPreset, frameMessage, replyTpdu, resolveFraming, type FramingOptions, type Tpdu } from '../../emv/iso8583/index.js';
import type { Logger } from '../log.js';

export interface ReconnectPolicy {
  /** Delay before the first reconnect attempt. */
  initialMs: number;
  /** Ceiling of the doubling delay. */
  maxMs: number;
}

export interface ChannelOptions {
  address: string;
  port: number;
  framing: FramingOptions;
  /** Sent in front of every message when the framing has a TPDU; a reply must carry it swapped. */
  tpdu?: Tpdu;
  connectTimeoutMs: number;
  reconnect?: ReconnectPolicy;
  log?: Logger;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 200, maxMs: 10_000 };

/** The framing a `host.framing` name and `host.lengthIncludesTpdu` describe. */
export function hostFraming(host: Pick<Config['host'], 'framing' | 'lengthIncludesTpdu'>): FramingOptions {
  return { ...framingPreset(host.framing), lengthIncludesHeaders: host.lengthIncludesTpdu };
}

/** `host.tpdu` (10 hex digits: id, destination NII, source NII) as a Tpdu. */
export function parseTpdu(hex: string): Tpdu {
  if (!/^[0-9A-Fa-f]{10}$/.test(hex)) {
    throw new PosError('CODPOS_CONFIG_INVALID', `host.tpdu: expected 10 hex digits (id, destination NII, source NII), got ${JSON.stringify(hex)}`, { details: { problems: ['host.tpdu'] } });
  }
  const upper = hex.toUpperCase();
  return { id: upper.slice(0, 2), destination: upper.slice(2, 6), source: upper.slice(6, 10) };
}

/** Channel options from the `host` section of the config. */
export function channelOptionsFromConfig(host: Config['host'], extra: { log?: Logger; reconnect?: ReconnectPolicy } = {}): ChannelOptions {
  const framing = hostFraming(host);
  return {
    address: host.address,
    port: host.port,
    framing,
    ...(resolveFraming(framing).tpdu ? { tpdu: parseTpdu(host.tpdu) } : {}),
    connectTimeoutMs: host.connectTimeoutMs,
    ...extra,
  };
}

export function disconnectedError(message: string, cause?: unknown): PosError {
  return new PosError('CODPOS_HOST_DISCONNECTED', message, { disconnected: true, ...(cause === undefined ? {} : { cause }) });
}

type ChannelState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/**
 * Events: `message` (Buffer: one ISO 8583 message without its frame), `connected`,
 * `disconnected` (PosError), `frame-error` (PosError: a frame dropped for a bad TPDU).
 */
export class HostChannel extends EventEmitter {
  readonly options: ChannelOptions;
  private socket: Socket | undefined;
  private framer: IsoStreamFramer;
  private state: ChannelState = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Callers waiting for the link; `patient` ones (requests) outlive a failed dial, the others (open) do not. */
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void; patient: boolean }> = [];
  private lastError: PosError | undefined;
  /** Why we dropped the connection ourselves, for the `disconnected` event. */
  private dropReason: PosError | undefined;
  /** Frames dropped because their TPDU did not answer ours. */
  droppedFrames = 0;
  connects = 0;

  constructor(options: ChannelOptions) {
    super();
    this.options = options;
    const framing = resolveFraming(options.framing);
    if (framing.tpdu && options.tpdu === undefined) throw new PosError('CODPOS_CONFIG_INVALID', 'host.tpdu: the framing has a TPDU; configure one', { details: { problems: ['host.tpdu'] } });
    this.framer = new IsoStreamFramer(options.framing);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Why the link is down, when it is. */
  get problem(): PosError | undefined {
    return this.state === 'connected' ? undefined : this.lastError;
  }

  /**
   * Connects; resolves once the link is up. When the first try fails the channel keeps
   * trying in the background, and this rejects with the PosError of that first try.
   */
  async open(): Promise<void> {
    if (this.state === 'closed') throw disconnectedError('the host channel is closed');
    if (this.state === 'idle') this.dial();
    if (this.state === 'connected') return;
    await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, patient: false }));
  }

  /** Resolves when the link is up, waiting up to `timeoutMs` for a reconnect; else a disconnected PosError. */
  async ready(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    if (this.state === 'connected') return;
    if (this.state === 'closed') throw disconnectedError('the host channel is closed');
    if (this.state === 'idle') this.dial();
    if (this.state === 'waiting') {
      // Do not sit out the whole backoff when a request is waiting for the link.
      clearTimeout(this.retryTimer);
      this.dial();
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(this.lastError ?? disconnectedError(`no connection to the acquirer at ${this.where()} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error: unknown) => (clearTimeout(timer), reject(error)),
        // A failed dial while a request waits: keep waiting for the next one until the deadline.
        patient: true,
      };
      this.waiters.push(waiter);
    });
  }

  /** Frames and writes one message. Not connected: a disconnected PosError (the mux decides whether to wait). */
  async send(message: Buffer): Promise<void> {
    const socket = this.socket;
    if (this.state !== 'connected' || socket === undefined) throw this.lastError ?? disconnectedError(`not connected to the acquirer at ${this.where()}`);
    const frame = frameMessage(message, this.options.framing, this.options.tpdu ? { tpdu: this.options.tpdu } : {});
    await new Promise<void>((resolve, reject) => {
      socket.write(frame, (error) => (error ? reject(disconnectedError(`writing to the acquirer at ${this.where()} failed: ${error.message}`, error)) : resolve()));
    });
  }

  /** Closes for good: no reconnect. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = undefined;
    const error = disconnectedError('the host channel was closed');
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    }
  }

  private where(): string {
    return `${this.options.address}:${this.options.port}`;
  }

  private dial(): void {
    this.state = 'connecting';
    const socket = tcpConnect({ host: this.options.address, port: this.options.port });
    socket.setNoDelay(true);
    this.socket = socket;
    let settled = false;
    const timer = setTimeout(() => {
      socket.destroy(new PosError('CODPOS_HOST_CONNECT', `no TCP connection to the acquirer at ${this.where()} within ${this.options.connectTimeoutMs} ms`, { disconnected: true }));
    }, this.options.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      settled = true;
      if (this.state === 'closed') return void socket.destroy();
      this.state = 'connected';
      this.attempt = 0;
      this.connects++;
      this.lastError = undefined;
      this.framer = new IsoStreamFramer(this.options.framing); // a new connection starts a new stream
      this.options.log?.info({ host: this.where() }, 'host link connected');
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      this.emit('connected');
    });
    socket.on('data', (chunk: Buffer) => this.receive(socket, chunk));
    socket.on('error', (error) => {
      this.lastError = error instanceof PosError ? error : new PosError(settled ? 'CODPOS_HOST_DISCONNECTED' : 'CODPOS_HOST_CONNECT', `${settled ? 'lost the connection to' : 'cannot connect to'} the acquirer at ${this.where()}: ${error.message}`, { disconnected: true, cause: error });
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.state === 'closed') return;
      const dropReason = this.dropReason;
      this.dropReason = undefined;
      const wasConnected = this.state === 'connected';
      const error = wasConnected ? (dropReason ?? disconnectedError(`the acquirer at ${this.where()} closed the connection`, this.lastError)) : (this.lastError ?? new PosError('CODPOS_HOST_CONNECT', `cannot connect to the acquirer at ${this.where()}`, { disconnected: true }));
      this.lastError = error;
      if (wasConnected) {
        this.options.log?.warn({ host: this.where(), code: error.code }, 'host link lost; reconnecting');
        this.emit('disconnected', error);
      } else {
        const waiting = this.waiters;
        this.waiters = waiting.filter((waiter) => waiter.patient);
        for (const waiter of waiting) if (!waiter.patient) waiter.reject(error);
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const policy = this.options.reconnect ?? DEFAULT_RECONNECT;
    const delay = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    this.state = 'waiting';
    this.retryTimer = setTimeout(() => {
      if (this.state === 'waiting') this.dial();
    }, delay);
    this.retryTimer.unref();
  }

  private receive(socket: Socket, chunk: Buffer): void {
    let frames;
    try {
      frames = this.framer.push(chunk);
    } catch (error) {
      // A length header we cannot read: the stream is lost, start over on a new connection.
      this.dropReason = disconnectedError(`the acquirer sent a frame the link cannot read (${(error as Error).message}); connection dropped`, error);
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      const sent = this.options.tpdu;
      if (sent !== undefined) {
        const expected = replyTpdu(sent);
        const got = frame.tpdu;
        if (got === undefined || got.destination !== expected.destination || got.source !== expected.source) {
          this.droppedFrames++;
          const error = new PosError('CODPOS_HOST_BAD_TPDU', `a reply's TPDU ${got ? got.id + got.destination + got.source : '(none)'} does not answer ours (expected ${expected.id}${expected.destination}${expected.source}); frame dropped`, {
            details: { expected, got },
          });
          this.options.log?.warn({ code: error.code, expected, got }, 'host reply with a wrong TPDU dropped');
          this.emit('frame-error', error);
          continue;
        }
      }
      this.emit('message', frame.message);
    }
  }
}
