/**
 * STX/ETX + LRC framer (VeriFone PIN pad style): `<start> payload <end> LRC`,
 * LRC = XOR of the payload and the end byte. Several start/end pairs may be
 * configured (STX..ETX data packets, SI..SO control packets). Single control
 * bytes between frames (ACK, NAK, EOT) are reported as they come. Anything
 * else between frames is garbage and skipped; a start byte inside a frame
 * restarts the frame, so the framer resynchronizes on the next good packet.
 * A frame with a wrong LRC is reported (`bad-lrc`) so the link layer can NAK it.
 * Cost: O(n) in the bytes pushed; memory bounded by maxLength.
 */
import { PosError } from '../../config/errors.js';
import { lrc } from './lrc.js';
import { requireByte, requirePositiveInteger } from './options.js';

export const STX = 0x02;
export const ETX = 0x03;
export const EOT = 0x04;
export const ACK = 0x06;
export const NAK = 0x15;
export const SI = 0x0f;
export const SO = 0x0e;

export interface StxEtxFramerOptions {
  /** Start/end byte pairs; default STX..ETX only. */
  packets?: { start: number; end: number }[];
  /** Single bytes reported between frames; default ACK, NAK, EOT. */
  controlBytes?: number[];
  maxLength?: number;
}

export type StxEtxEvent =
  | { type: 'frame'; start: number; payload: Buffer }
  | { type: 'bad-lrc'; start: number; payload: Buffer; expected: number; received: number }
  | { type: 'control'; byte: number };

export class StxEtxLrcFramer {
  private readonly endFor = new Map<number, number>();
  private readonly controlBytes: Set<number>;
  private readonly maxLength: number;
  private start: number | undefined;
  private body: number[] = [];
  private awaitingLrc = false;
  /** Bytes skipped while hunting for a start byte. */
  garbage = 0;

  constructor(options: StxEtxFramerOptions = {}) {
    const packets = options.packets ?? [{ start: STX, end: ETX }];
    if (!Array.isArray(packets) || packets.length === 0)
      throw new PosError(
        'CODPOS_USAGE_FRAMER_OPTION',
        'stx-etx framer: option "packets" must list at least one start/end pair',
      );
    packets.forEach((p, i) =>
      this.endFor.set(
        requireByte('stx-etx framer', `packets[${i}].start`, p.start),
        requireByte('stx-etx framer', `packets[${i}].end`, p.end),
      ),
    );
    this.controlBytes = new Set(
      (options.controlBytes ?? [ACK, NAK, EOT]).map((b, i) => requireByte('stx-etx framer', `controlBytes[${i}]`, b)),
    );
    this.maxLength = requirePositiveInteger('stx-etx framer', 'maxLength', options.maxLength ?? 1024);
  }

  push(chunk: Buffer): StxEtxEvent[] {
    const events: StxEtxEvent[] = [];
    for (const byte of chunk) {
      if (this.start === undefined) {
        if (this.endFor.has(byte)) this.begin(byte);
        else if (this.controlBytes.has(byte)) events.push({ type: 'control', byte });
        else this.garbage++;
        continue;
      }
      if (this.awaitingLrc) {
        const payload = Buffer.from(this.body);
        const expected = lrc(payload) ^ this.endFor.get(this.start)!;
        events.push(
          expected === byte
            ? { type: 'frame', start: this.start, payload }
            : { type: 'bad-lrc', start: this.start, payload, expected, received: byte },
        );
        this.start = undefined;
        this.awaitingLrc = false;
        continue;
      }
      if (byte === this.endFor.get(this.start)) {
        this.awaitingLrc = true;
      } else if (this.endFor.has(byte)) {
        // A start byte mid-frame: the earlier frame was cut; resync on this one.
        this.garbage += this.body.length + 1;
        this.begin(byte);
      } else if (this.body.length >= this.maxLength) {
        this.garbage += this.body.length + 1;
        this.start = undefined;
      } else {
        this.body.push(byte);
      }
    }
    return events;
  }

  private begin(start: number): void {
    this.start = start;
    this.body = [];
    this.awaitingLrc = false;
  }
}

/** Encodes one packet: start, payload, end, LRC over payload + end. */
export function encodeStxEtx(payload: Buffer | string, start = STX, end = ETX): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const out = Buffer.alloc(body.length + 3);
  out[0] = start;
  body.copy(out, 1);
  out[body.length + 1] = end;
  out[body.length + 2] = lrc(body) ^ end;
  return out;
}
