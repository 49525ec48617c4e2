/**
 * Delimiter framer (scanner line mode): bytes up to a delimiter make one frame.
 * With `interByteTimeoutMs`, a partial frame older than that (no byte for that
 * long) is ended anyway, for scanners configured without a suffix; callers
 * pass the clock so the framer stays pure and testable. `maxLength` bounds a
 * frame: an overlong run is dropped up to the next delimiter (resync).
 * Cost: O(n) in the bytes pushed; memory bounded by maxLength.
 */
import { PosError } from '../../config/errors.js';
import { requirePositiveInteger } from './options.js';

export interface DelimiterFramerOptions {
  delimiter: Buffer | string;
  /** Keep the delimiter at the end of each frame (default false). */
  includeDelimiter?: boolean;
  interByteTimeoutMs?: number;
  maxLength?: number;
}

export class DelimiterFramer {
  private readonly delimiter: Buffer;
  private readonly includeDelimiter: boolean;
  private readonly interByteTimeoutMs: number | undefined;
  private readonly maxLength: number;
  private pending: Buffer = Buffer.alloc(0);
  private lastByteAt = 0;
  private overflowing = false;
  /** Bytes dropped because a frame ran past maxLength. */
  dropped = 0;

  constructor(options: DelimiterFramerOptions) {
    const delimiter =
      typeof options.delimiter === 'string' ? Buffer.from(options.delimiter, 'latin1') : options.delimiter;
    if (!Buffer.isBuffer(delimiter) || delimiter.length === 0) {
      throw new PosError(
        'CODPOS_USAGE_FRAMER_OPTION',
        'delimiter framer: option "delimiter" must be a non-empty string or Buffer',
      );
    }
    this.delimiter = Buffer.from(delimiter);
    this.includeDelimiter = options.includeDelimiter ?? false;
    this.interByteTimeoutMs =
      options.interByteTimeoutMs === undefined
        ? undefined
        : requirePositiveInteger('delimiter framer', 'interByteTimeoutMs', options.interByteTimeoutMs);
    this.maxLength = requirePositiveInteger('delimiter framer', 'maxLength', options.maxLength ?? 4096);
  }

  /** Adds received bytes; returns the frames they complete. */
  push(chunk: Buffer, now = Date.now()): Buffer[] {
    const frames = this.expire(now);
    if (chunk.length > 0) this.lastByteAt = now;
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    let at: number;
    while ((at = this.pending.indexOf(this.delimiter)) >= 0) {
      const end = at + this.delimiter.length;
      const frame = this.pending.subarray(0, this.includeDelimiter ? end : at);
      if (this.overflowing || at > this.maxLength) {
        this.dropped += at;
        this.overflowing = false;
      } else if (at > 0) {
        frames.push(Buffer.from(frame));
      }
      this.pending = this.pending.subarray(end);
    }
    // Keep at most a delimiter's worth minus one, so a delimiter split across chunks is still seen.
    if (this.pending.length > this.maxLength) {
      const keep = this.delimiter.length - 1;
      this.dropped += this.pending.length - keep;
      this.pending = Buffer.from(this.pending.subarray(this.pending.length - keep));
      this.overflowing = true;
    }
    return frames;
  }

  /** Ends a partial frame that has been idle longer than interByteTimeoutMs. */
  expire(now = Date.now()): Buffer[] {
    if (this.interByteTimeoutMs === undefined || this.pending.length === 0) return [];
    if (now - this.lastByteAt < this.interByteTimeoutMs) return [];
    const frame = this.pending;
    this.pending = Buffer.alloc(0);
    if (this.overflowing) {
      this.overflowing = false;
      this.dropped += frame.length;
      return [];
    }
    return [Buffer.from(frame)];
  }

  /** When the partial frame (if any) will expire, for a caller's timer. */
  get expiresAt(): number | undefined {
    if (this.interByteTimeoutMs === undefined || this.pending.length === 0) return undefined;
    return this.lastByteAt + this.interByteTimeoutMs;
  }
}
