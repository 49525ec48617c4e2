/**
 * Framing for the host link: a length header (2-byte binary by default, 2-byte BCD,
 * or 4 ASCII digits), then an optional 5-byte TPDU (`60` + destination NII + source
 * NII), then an optional private header of fixed size, then the ISO 8583 message.
 * Whether the length counts the TPDU and header or only the message is a setting.
 * Framing is separate from the codec (jPOS: channel vs packager).
 */
import { PosError } from '../../config/errors.js';
import { ISO8583_ERRORS } from './errors.js';

export type LengthHeader = 'binary2' | 'bcd2' | 'ascii4' | 'none';

export interface FramingOptions {
  /** Default `binary2`. */
  lengthHeader?: LengthHeader;
  /** A 5-byte TPDU follows the length. Default false. */
  tpdu?: boolean;
  /** Bytes of private header after the TPDU. Default 0. */
  privateHeaderLength?: number;
  /** The length counts the TPDU and private header too (true, the common case) or only the message. Default true. */
  lengthIncludesHeaders?: boolean;
}

/** Transport protocol data unit: `id` (usually 60), destination and source NII, each as uppercase hex. */
export interface Tpdu {
  id: string;
  destination: string;
  source: string;
}

export interface Frame {
  tpdu?: Tpdu;
  privateHeader?: Buffer;
  message: Buffer;
}

/** Named framings for the CLI and config. */
export const FRAMING_PRESETS: Readonly<Record<string, FramingOptions>> = {
  none: { lengthHeader: 'none' },
  len2: { lengthHeader: 'binary2' },
  'len2-tpdu': { lengthHeader: 'binary2', tpdu: true },
  bcd2: { lengthHeader: 'bcd2' },
  'bcd2-tpdu': { lengthHeader: 'bcd2', tpdu: true },
  ascii4: { lengthHeader: 'ascii4' },
};

export const TPDU_BYTES = 5;

/** Resolved options, checked once. */
export interface ResolvedFraming {
  lengthHeader: LengthHeader;
  lengthBytes: number;
  tpdu: boolean;
  privateHeaderLength: number;
  lengthIncludesHeaders: boolean;
  /** Bytes between the length header and the message. */
  headerBytes: number;
  /** The largest number the length header can carry. */
  maxLength: number;
}

export function resolveFraming(options: FramingOptions = {}): ResolvedFraming {
  const lengthHeader = options.lengthHeader ?? 'binary2';
  if (!['binary2', 'bcd2', 'ascii4', 'none'].includes(lengthHeader))
    badOption('lengthHeader', `must be binary2, bcd2, ascii4 or none, not ${String(lengthHeader)}`);
  const privateHeaderLength = options.privateHeaderLength ?? 0;
  if (!Number.isInteger(privateHeaderLength) || privateHeaderLength < 0 || privateHeaderLength > 64)
    badOption('privateHeaderLength', 'must be an integer from 0 to 64');
  const tpdu = options.tpdu ?? false;
  return {
    lengthHeader,
    lengthBytes: lengthHeader === 'none' ? 0 : lengthHeader === 'ascii4' ? 4 : 2,
    tpdu,
    privateHeaderLength,
    lengthIncludesHeaders: options.lengthIncludesHeaders ?? true,
    headerBytes: (tpdu ? TPDU_BYTES : 0) + privateHeaderLength,
    maxLength: lengthHeader === 'binary2' ? 0xffff : 9999,
  };
}

/** The framing preset `name` (none, len2, len2-tpdu, bcd2, bcd2-tpdu, ascii4). */
export function framingPreset(name: string): FramingOptions {
  const preset = Object.hasOwn(FRAMING_PRESETS, name) ? FRAMING_PRESETS[name] : undefined;
  if (preset === undefined)
    badOption(
      'framing',
      `no framing named ${JSON.stringify(name)}; choose one of ${Object.keys(FRAMING_PRESETS).join(', ')}`,
    );
  return preset;
}

/** Wraps one encoded message in its frame. */
export function frameMessage(
  message: Buffer,
  options: FramingOptions | ResolvedFraming = {},
  headers: { tpdu?: Tpdu; privateHeader?: Buffer } = {},
): Buffer {
  const r = isResolved(options) ? options : resolveFraming(options);
  const counted = message.length + (r.lengthIncludesHeaders ? r.headerBytes : 0);
  if (r.lengthBytes > 0 && counted > r.maxLength)
    badFrame(0, `the message is ${counted} bytes; a ${r.lengthHeader} length holds at most ${r.maxLength}`);
  const out = Buffer.allocUnsafe(r.lengthBytes + r.headerBytes + message.length);
  writeLengthHeader(out, r, counted);
  let pos = r.lengthBytes;
  if (r.tpdu) {
    if (headers.tpdu === undefined)
      badOption('tpdu', 'this framing has a TPDU; give one (e.g. makeTpdu("0010", "0000"))');
    pos = writeTpdu(out, pos, headers.tpdu);
  }
  if (r.privateHeaderLength > 0) {
    const header = headers.privateHeader;
    if (header === undefined || header.length !== r.privateHeaderLength)
      badOption(
        'privateHeader',
        `this framing has a ${r.privateHeaderLength}-byte private header; give exactly that many bytes`,
      );
    header.copy(out, pos);
    pos += header.length;
  }
  message.copy(out, pos);
  return out;
}

/** Reads exactly one frame; bytes short of or beyond what the length says are a PosError. */
export function unframeMessage(data: Buffer, options: FramingOptions | ResolvedFraming = {}): Frame {
  const r = isResolved(options) ? options : resolveFraming(options);
  if (data.length < r.lengthBytes + r.headerBytes)
    badFrame(0, `the frame is ${data.length} bytes, shorter than its headers (${r.lengthBytes + r.headerBytes})`);
  if (r.lengthBytes > 0) {
    const total = frameLength(data, 0, r);
    if (total !== data.length)
      badFrame(0, `the length header says the frame is ${total} bytes, but it is ${data.length}`);
  }
  return readFrameBody(data, 0, data.length, r);
}

/** Total bytes of the frame starting at `pos` (length header included), from its length header. */
export function frameLength(data: Buffer, pos: number, r: ResolvedFraming): number {
  const counted = readLengthHeader(data, pos, r);
  const body = r.lengthIncludesHeaders ? counted : counted + r.headerBytes;
  if (body < r.headerBytes + 1)
    badFrame(
      pos,
      `the length header says ${counted}, too short for ${r.headerBytes > 0 ? 'its headers and ' : ''}a message`,
    );
  return r.lengthBytes + body;
}

/** The TPDU, private header and message of the frame at data[start, end). */
export function readFrameBody(data: Buffer, start: number, end: number, r: ResolvedFraming): Frame {
  let pos = start + r.lengthBytes;
  const frame: Frame = { message: Buffer.alloc(0) };
  if (r.tpdu) {
    frame.tpdu = { id: hex(data, pos, 1), destination: hex(data, pos + 1, 2), source: hex(data, pos + 3, 2) };
    pos += TPDU_BYTES;
  }
  if (r.privateHeaderLength > 0) {
    frame.privateHeader = Buffer.from(data.subarray(pos, pos + r.privateHeaderLength));
    pos += r.privateHeaderLength;
  }
  frame.message = Buffer.from(data.subarray(pos, end));
  return frame;
}

/** A TPDU from the terminal to `destination` (NII, 4 hex digits), id 60. */
export function makeTpdu(destination: string, source = '0000', id = '60'): Tpdu {
  const tpdu = { id: id.toUpperCase(), destination: destination.toUpperCase(), source: source.toUpperCase() };
  checkTpdu(tpdu);
  return tpdu;
}

/** The TPDU a reply carries: destination and source swapped. */
export function replyTpdu(request: Tpdu): Tpdu {
  return { id: request.id, destination: request.source, source: request.destination };
}

function checkTpdu(tpdu: Tpdu): void {
  if (
    !/^[0-9A-Fa-f]{2}$/.test(tpdu.id) ||
    !/^[0-9A-Fa-f]{4}$/.test(tpdu.destination) ||
    !/^[0-9A-Fa-f]{4}$/.test(tpdu.source)
  ) {
    badOption('tpdu', 'id is 2 hex digits, destination and source NII 4 hex digits each');
  }
}

function writeTpdu(out: Buffer, pos: number, tpdu: Tpdu): number {
  checkTpdu(tpdu);
  out.write(tpdu.id + tpdu.destination + tpdu.source, pos, 'hex');
  return pos + TPDU_BYTES;
}

function writeLengthHeader(out: Buffer, r: ResolvedFraming, length: number): void {
  switch (r.lengthHeader) {
    case 'binary2':
      out.writeUInt16BE(length, 0);
      break;
    case 'bcd2':
      out[0] = ((Math.floor(length / 1000) % 10) << 4) | (Math.floor(length / 100) % 10);
      out[1] = ((Math.floor(length / 10) % 10) << 4) | (length % 10);
      break;
    case 'ascii4':
      out.write(String(length).padStart(4, '0'), 0, 'latin1');
      break;
    case 'none':
      break;
  }
}

function readLengthHeader(data: Buffer, pos: number, r: ResolvedFraming): number {
  switch (r.lengthHeader) {
    case 'binary2':
      return data.readUInt16BE(pos);
    case 'bcd2': {
      let length = 0;
      for (let i = 0; i < 2; i++) {
        const b = data[pos + i]!;
        if (b >> 4 > 9 || (b & 15) > 9)
          badFrame(pos + i, `BCD length byte 0x${b.toString(16).padStart(2, '0').toUpperCase()} is not two digits`);
        length = length * 100 + (b >> 4) * 10 + (b & 15);
      }
      return length;
    }
    case 'ascii4': {
      let length = 0;
      for (let i = 0; i < 4; i++) {
        const d = data[pos + i]! - 0x30;
        if (d < 0 || d > 9)
          badFrame(
            pos + i,
            `ASCII length byte 0x${data[pos + i]!.toString(16).padStart(2, '0').toUpperCase()} is not a digit`,
          );
        length = length * 10 + d;
      }
      return length;
    }
    default:
      throw new PosError(
        ISO8583_ERRORS.BAD_FRAME,
        'ISO 8583 frame: a frame without a length header has no length to read',
      );
  }
}

function hex(data: Buffer, pos: number, bytes: number): string {
  return data.toString('hex', pos, pos + bytes).toUpperCase();
}

function isResolved(options: FramingOptions | ResolvedFraming): options is ResolvedFraming {
  return 'headerBytes' in options;
}

function badFrame(offset: number, problem: string): never {
  throw new PosError(ISO8583_ERRORS.BAD_FRAME, `ISO 8583 frame at byte ${offset}: ${problem}`, { details: { offset } });
}

function badOption(option: string, problem: string): never {
  throw new PosError(ISO8583_ERRORS.BAD_FRAME, `ISO 8583 framing option ${option}: ${problem}`, {
    details: { option },
  });
}
