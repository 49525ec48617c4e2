/**
 * Cuts a byte stream (a TCP socket's chunks) into frames. A message may arrive split
 * at any byte, or several in one chunk; `push()` returns every frame completed so far
 * and keeps the rest. Cost: O(bytes) — leftovers are copied once per push.
 */
import { PosError } from '../../config/errors.js';
import { ISO8583_ERRORS } from './errors.js';
import {
  frameLength,
  readFrameBody,
  resolveFraming,
  type Frame,
  type FramingOptions,
  type ResolvedFraming,
} from './framing.js';

export class IsoStreamFramer {
  private readonly framing: ResolvedFraming;
  private pending: Buffer = Buffer.alloc(0);

  constructor(options: FramingOptions = {}) {
    this.framing = resolveFraming(options);
    if (this.framing.lengthHeader === 'none') {
      throw new PosError(
        ISO8583_ERRORS.BAD_FRAME,
        'ISO 8583 framing option lengthHeader: a stream needs a length header to find where messages end',
        {
          details: { option: 'lengthHeader' },
        },
      );
    }
  }

  /** Adds a chunk; returns the frames it completed, in order. A malformed length header throws (the link should be dropped). */
  push(chunk: Buffer): Frame[] {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let pos = 0;
    const r = this.framing;
    while (data.length - pos >= r.lengthBytes) {
      const total = frameLength(data, pos, r);
      if (data.length - pos < total) break;
      frames.push(readFrameBody(data, pos, pos + total, r));
      pos += total;
    }
    // Copy the leftover so the caller may reuse its chunk buffer.
    this.pending = pos === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(pos));
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}
