/**
 * ACK/NAK link layer shared by the PIN pad and card reader protocols, on
 * either end (driver or simulator). Sending: one frame at a time, resent on
 * NAK or when no ACK comes within ackTimeoutMs; the third NAK (or silence)
 * ends the attempt: we send EOT and fail with CODPOS_DEVICE_LINK_FAILED.
 * Receiving: a good frame is ACKed and delivered; a frame with a bad LRC is
 * NAKed (the peer resends it); an EOT from the peer aborts what we are sending.
 */
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import type { Transport } from '../transport/transport.js';

export const ACK = 0x06;
export const NAK = 0x15;
export const EOT = 0x04;

/** What a framer reports, normalized across the STX/ETX and length-prefixed framers. */
export type LinkInput =
  { type: 'frame'; payload: Buffer; start?: number } | { type: 'bad' } | { type: 'control'; byte: number };

export interface AckNakLinkOptions {
  /** Turns received bytes into link inputs (wraps one of drivers/framing). */
  decode: (chunk: Buffer) => LinkInput[];
  ackTimeoutMs?: number;
  /** Attempts before giving up; the protocols here use 3. */
  maxAttempts?: number;
  name: string;
}

interface Pending {
  bytes: Buffer;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
  reject: (error: PosError) => void;
}

export class AckNakLink extends EventEmitter {
  private pending: Pending | undefined;
  private queue: Array<{ start: () => void; reject: (error: PosError) => void }> = [];
  private readonly ackTimeoutMs: number;
  private readonly maxAttempts: number;
  /** Counters for diag and tests. */
  readonly stats = { sent: 0, resent: 0, naksSent: 0, naksReceived: 0, eotReceived: 0 };
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = (error?: PosError) =>
    this.abort(
      error ?? new PosError('CODPOS_DEVICE_DISCONNECTED', `${this.options.name}: link closed`, { disconnected: true }),
    );

  constructor(
    readonly transport: Transport,
    private readonly options: AckNakLinkOptions,
  ) {
    super();
    this.ackTimeoutMs = options.ackTimeoutMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
    transport.on('data', this.onData);
    transport.on('close', this.onClose);
  }

  /** Stops listening; what is in flight or queued fails as closed. */
  detach(): void {
    this.transport.off('data', this.onData);
    this.transport.off('close', this.onClose);
    this.abort(new PosError('CODPOS_DEVICE_CLOSED', `${this.options.name}: link closed by its owner`));
  }

  /** Sends one encoded frame; resolves when the peer ACKs it. Frames queue behind each other. */
  send(bytes: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const start = () => {
        this.pending = { bytes, attempts: 0, timer: undefined, resolve, reject };
        this.transmit();
      };
      if (this.pending) this.queue.push({ start, reject });
      else start();
    });
  }

  private transmit(): void {
    const pending = this.pending!;
    pending.attempts++;
    if (pending.attempts > 1) this.stats.resent++;
    this.stats.sent++;
    this.transport
      .write(pending.bytes)
      .catch((error: unknown) =>
        this.abort(
          error instanceof PosError ? error : new PosError('CODPOS_DEVICE_IO', String(error), { cause: error }),
        ),
      );
    pending.timer = setTimeout(() => this.refused('no ACK'), this.ackTimeoutMs);
  }

  private refused(why: string): void {
    const pending = this.pending;
    if (!pending) return;
    clearTimeout(pending.timer);
    if (pending.attempts < this.maxAttempts) {
      this.transmit();
      return;
    }
    this.transport.write(Buffer.from([EOT])).catch(() => undefined);
    this.finish(
      new PosError(
        'CODPOS_DEVICE_LINK_FAILED',
        `${this.options.name}: the peer refused the frame ${this.maxAttempts} times (${why}); sent EOT and gave up`,
        {
          details: { attempts: pending.attempts },
        },
      ),
    );
  }

  private finish(error?: PosError): void {
    const pending = this.pending;
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    if (error) pending.reject(error);
    else pending.resolve();
    const next = this.queue.shift();
    if (next) next.start();
  }

  /** Fails what is in flight and queued (link closed). */
  abort(error: PosError): void {
    const queued = this.queue;
    this.queue = [];
    this.finish(error);
    for (const waiting of queued) waiting.reject(error);
  }

  private receive(chunk: Buffer): void {
    for (const input of this.options.decode(chunk)) {
      if (input.type === 'bad') {
        this.stats.naksSent++;
        this.transport.write(Buffer.from([NAK])).catch(() => undefined);
      } else if (input.type === 'control') {
        if (input.byte === ACK) this.finish();
        else if (input.byte === NAK) {
          this.stats.naksReceived++;
          this.refused('NAK');
        } else if (input.byte === EOT) {
          this.stats.eotReceived++;
          this.emit('eot');
          if (this.pending)
            this.finish(
              new PosError('CODPOS_DEVICE_LINK_FAILED', `${this.options.name}: the peer ended the exchange (EOT)`),
            );
        }
      } else {
        this.transport.write(Buffer.from([ACK])).catch(() => undefined);
        this.emit('frame', input.payload, input.start);
      }
    }
  }
}
