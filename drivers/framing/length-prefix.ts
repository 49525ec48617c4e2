/**
 * Length-prefixed framer for binary payloads (our card reader protocol):
 * `SYNC LEN(big-endian, lengthBytes) payload LRC`, LRC = XOR of LEN and payload.
 * Binary data needs no escaping. Bytes before a SYNC are garbage; a length over
 * maxLength or a bad LRC means the SYNC was a false one: the framer reports a
 * bad frame (so the link can NAK) and rescans from the byte after that SYNC,
 * so it resynchronizes on the next real frame. Single control bytes (ACK, NAK,
 * EOT) between frames are reported as they come.
 * Cost: O(n) per byte pushed in the worst case of repeated false SYNCs, O(n) total otherwise.
 */
import { PosError } from '../../config/errors.js';
import { lrc } from './lrc.js';
import { requireByte, requirePositiveInteger } from './options.js';

export interface LengthPrefixFramerOptions {
  sync?: number;
  lengthBytes?: 1 | 2;
  maxLength?: number;
  controlBytes?: number[];
}

export type LengthPrefixEvent =
  | { type: 'frame'; payload: Buffer }
  | { type: 'bad-frame'; reason: 'lrc' | 'length' }
  | { type: 'control'; byte: number };

export class LengthPrefixFramer {
  readonly sync: number;
  readonly lengthBytes: 1 | 2;
  readonly maxLength: number;
  private readonly controlBytes: Set<number>;
  private pending: Buffer = Buffer.alloc(0);
  garbage = 0;

  constructor(options: LengthPrefixFramerOptions = {}) {
    this.sync = requireByte('length-prefix framer', 'sync', options.sync ?? 0x02);
    const lengthBytes = options.lengthBytes ?? 2;
    if (lengthBytes !== 1 && lengthBytes !== 2)
      throw new PosError(
        'CODPOS_USAGE_FRAMER_OPTION',
        `length-prefix framer: option "lengthBytes" must be 1 or 2, got ${JSON.stringify(lengthBytes)}`,
      );
    this.lengthBytes = lengthBytes;
    this.maxLength = requirePositiveInteger(
      'length-prefix framer',
      'maxLength',
      options.maxLength ?? 1024,
      lengthBytes === 1 ? 0xff : 0xffff,
    );
    this.controlBytes = new Set(
      (options.controlBytes ?? [0x06, 0x15, 0x04]).map((b, i) =>
        requireByte('length-prefix framer', `controlBytes[${i}]`, b),
      ),
    );
    if (this.controlBytes.has(this.sync))
      throw new PosError(
        'CODPOS_USAGE_FRAMER_OPTION',
        'length-prefix framer: option "sync" must differ from the control bytes',
      );
  }

  push(chunk: Buffer): LengthPrefixEvent[] {
    const events: LengthPrefixEvent[] = [];
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      // Hunt for SYNC, reporting control bytes and counting garbage on the way.
      while (at < buf.length && buf[at] !== this.sync) {
        if (this.controlBytes.has(buf[at]!)) events.push({ type: 'control', byte: buf[at]! });
        else this.garbage++;
        at++;
      }
      if (at >= buf.length) break;
      const headerEnd = at + 1 + this.lengthBytes;
      if (buf.length < headerEnd) break;
      const length = this.lengthBytes === 1 ? buf[at + 1]! : buf.readUInt16BE(at + 1);
      if (length > this.maxLength) {
        events.push({ type: 'bad-frame', reason: 'length' });
        this.garbage++;
        at++;
        continue;
      }
      const frameEnd = headerEnd + length + 1;
      if (buf.length < frameEnd) break;
      if (lrc(buf, at + 1, frameEnd - 1) !== buf[frameEnd - 1]) {
        events.push({ type: 'bad-frame', reason: 'lrc' });
        this.garbage++;
        at++;
        continue;
      }
      events.push({ type: 'frame', payload: Buffer.from(buf.subarray(headerEnd, frameEnd - 1)) });
      at = frameEnd;
    }
    this.pending = Buffer.from(buf.subarray(at));
    return events;
  }
}

export function encodeLengthPrefixed(payload: Buffer, options: { sync?: number; lengthBytes?: 1 | 2 } = {}): Buffer {
  const lengthBytes = options.lengthBytes ?? 2;
  const out = Buffer.alloc(1 + lengthBytes + payload.length + 1);
  out[0] = options.sync ?? 0x02;
  if (lengthBytes === 1) out[1] = payload.length;
  else out.writeUInt16BE(payload.length, 1);
  payload.copy(out, 1 + lengthBytes);
  out[out.length - 1] = lrc(out, 1, out.length - 1);
  return out;
}
