/**
 * BER-TLV as EMV uses it (EMV Book 3 annex B; ISO/IEC 8825-1 subset):
 * - tags of 1..4 bytes (first byte low 5 bits all set = more bytes follow; later bytes
 *   with bit 8 set = more bytes follow);
 * - lengths in short form (00..7F) or long form 81 xx, 82 xxxx, 83 xxxxxx;
 *   indefinite length (80) and longer forms are refused: EMV never uses them;
 * - bit 6 of the first tag byte marks a constructed object whose value is itself TLV;
 * - 00 and FF bytes between objects are padding and skipped (Book 3 B.1).
 *
 * The codec is synchronous and strict: anything malformed ends in a PosError whose
 * code starts CODPOS_TLV_ and whose details carry the byte offset. Decoded values are
 * views (subarray) into the input, not copies: decoding a record costs no allocation
 * per byte. Copy a value if the input buffer is going to be reused.
 */
import { PosError, type ErrorCode } from '../../config/errors.js';
import { bufferView } from '../buffer-view.js';

export interface Tlv {
  /** The tag's bytes read big-endian: 0x9F26, 0x70, 0xBF0C. */
  tag: number;
  /** The value bytes (for a constructed object: its encoded children). */
  value: Buffer;
  /** Present for constructed tags (bit 6 of the first tag byte). */
  children?: Tlv[];
}

/** Nesting deeper than this is refused: EMV templates nest three or four levels. */
export const MAX_DEPTH = 16;

function tlvError(code: ErrorCode, offset: number, message: string): PosError {
  return new PosError(code, `TLV: ${message} at byte offset ${offset}`, { details: { offset } });
}

/** Decodes a sequence of BER-TLV objects. Throws PosError CODPOS_TLV_* naming the offset. */
export function decodeTlv(data: Buffer): Tlv[] {
  if (!Buffer.isBuffer(data)) {
    throw new PosError('CODPOS_TLV_BAD_INPUT', 'TLV: input must be a Buffer', { details: { offset: 0 } });
  }
  return decodeRange(data, 0, data.length, 0);
}

function decodeRange(data: Buffer, start: number, end: number, depth: number): Tlv[] {
  if (depth > MAX_DEPTH)
    throw tlvError('CODPOS_TLV_TOO_DEEP', start, `templates nested deeper than ${MAX_DEPTH} levels`);
  const items: Tlv[] = [];
  let pos = start;
  while (pos < end) {
    const first = data[pos]!;
    if (first === 0x00 || first === 0xff) {
      pos++;
      continue;
    }
    const tagOffset = pos;
    let tag = first;
    pos++;
    if ((first & 0x1f) === 0x1f) {
      // Multi-byte tag: subsequent bytes carry bit 8 while more follow.
      let more = true;
      while (more) {
        if (pos >= end) throw tlvError('CODPOS_TLV_TRUNCATED', pos, 'tag ends before its last byte');
        if (pos - tagOffset >= 4) throw tlvError('CODPOS_TLV_TAG_TOO_LONG', tagOffset, 'tag longer than 4 bytes');
        const b = data[pos]!;
        tag = tag * 256 + b;
        more = (b & 0x80) !== 0;
        pos++;
      }
    }
    if (pos >= end) throw tlvError('CODPOS_TLV_TRUNCATED', pos, `tag ${tagToHex(tag)} has no length`);
    const lengthOffset = pos;
    let length = data[pos]!;
    pos++;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0)
        throw tlvError(
          'CODPOS_TLV_INDEFINITE_LENGTH',
          lengthOffset,
          `tag ${tagToHex(tag)} uses indefinite length (80), not allowed in EMV`,
        );
      if (count > 3)
        throw tlvError(
          'CODPOS_TLV_LENGTH_TOO_LONG',
          lengthOffset,
          `tag ${tagToHex(tag)} length form ${hex2(length)} (more than 3 length bytes)`,
        );
      if (pos + count > end)
        throw tlvError('CODPOS_TLV_TRUNCATED', lengthOffset, `tag ${tagToHex(tag)} length bytes run past the end`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + data[pos + i]!;
      pos += count;
    }
    if (length > end - pos) {
      throw tlvError(
        'CODPOS_TLV_TRUNCATED',
        lengthOffset,
        `tag ${tagToHex(tag)} value of ${length} bytes runs past the end (${end - pos} left)`,
      );
    }
    const valueEnd = pos + length;
    const value = bufferView(data, pos, valueEnd);
    // Bit 6 of the first tag byte: constructed.
    if (first & 0x20) items.push({ tag, value, children: decodeRange(data, pos, valueEnd, depth + 1) });
    else items.push({ tag, value });
    pos = valueEnd;
  }
  return items;
}

/** Encodes TLV objects; an object with children is encoded from its children. */
export function encodeTlv(items: Tlv[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) encodeOne(item, parts, 0);
  return Buffer.concat(parts);
}

function encodeOne(item: Tlv, parts: Buffer[], depth: number): void {
  if (depth > MAX_DEPTH)
    throw new PosError('CODPOS_TLV_TOO_DEEP', `TLV: templates nested deeper than ${MAX_DEPTH} levels`, {
      details: { tag: safeHex(item.tag) },
    });
  const tagBytes = tagToBytes(item.tag);
  let value: Buffer;
  if (item.children !== undefined) {
    if (!(tagBytes[0]! & 0x20)) {
      throw new PosError(
        'CODPOS_TLV_NOT_CONSTRUCTED',
        `TLV: tag ${tagToHex(item.tag)} is primitive but was given children`,
        { details: { tag: tagToHex(item.tag) } },
      );
    }
    const inner: Buffer[] = [];
    for (const child of item.children) encodeOne(child, inner, depth + 1);
    value = Buffer.concat(inner);
  } else {
    if (!Buffer.isBuffer(item.value)) {
      throw new PosError('CODPOS_TLV_BAD_VALUE', `TLV: tag ${tagToHex(item.tag)} value is not a Buffer`, {
        details: { tag: tagToHex(item.tag) },
      });
    }
    value = item.value;
  }
  parts.push(tagBytes, lengthBytes(value.length, item.tag), value);
}

function lengthBytes(length: number, tag: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length <= 0xff) return Buffer.from([0x81, length]);
  if (length <= 0xffff) return Buffer.from([0x82, length >> 8, length & 0xff]);
  if (length <= 0xffffff) return Buffer.from([0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  throw new PosError(
    'CODPOS_TLV_VALUE_TOO_LONG',
    `TLV: tag ${tagToHex(tag)} value of ${length} bytes exceeds 3 length bytes`,
    { details: { tag: tagToHex(tag) } },
  );
}

/**
 * The bytes of a tag number, checked for a well-formed BER tag: a first byte that is
 * not padding (00/FF), continuation bits consistent with the byte count.
 */
export function tagToBytes(tag: number): Buffer {
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffffff) {
    throw new PosError('CODPOS_TLV_BAD_TAG', `TLV: ${String(tag)} is not a tag number`, {
      details: { tag: String(tag) },
    });
  }
  const bytes: number[] = [];
  for (let t = tag; t > 0; t = Math.floor(t / 256)) bytes.unshift(t % 256);
  const bad = (why: string) =>
    new PosError('CODPOS_TLV_BAD_TAG', `TLV: tag ${tagToHex(tag)} ${why}`, { details: { tag: tagToHex(tag) } });
  const first = bytes[0]!;
  if (first === 0x00 || first === 0xff) throw bad('starts with a padding byte (00/FF)');
  const multi = (first & 0x1f) === 0x1f;
  if (!multi && bytes.length > 1) throw bad('has more bytes than its first byte announces');
  if (multi) {
    if (bytes.length < 2) throw bad('announces more bytes but has none');
    for (let i = 1; i < bytes.length; i++) {
      const last = i === bytes.length - 1;
      if (((bytes[i]! & 0x80) !== 0) === last) throw bad('has inconsistent continuation bits');
    }
  }
  return Buffer.from(bytes);
}

/** First object with this tag, searched depth-first (an object before its children). */
export function findTag(items: Tlv[], tag: number): Tlv | undefined {
  for (const item of items) {
    if (item.tag === tag) return item;
    if (item.children) {
      const found = findTag(item.children, tag);
      if (found) return found;
    }
  }
  return undefined;
}

/** 0x9F26 -> "9F26"; always whole bytes, uppercase. */
export function tagToHex(tag: number): string {
  const hex = tag.toString(16).toUpperCase();
  return hex.length % 2 ? '0' + hex : hex;
}

/** "9F26" -> 0x9F26, checked. */
export function tagFromHex(hex: string): number {
  if (!/^([0-9A-Fa-f]{2}){1,4}$/.test(hex)) {
    throw new PosError('CODPOS_TLV_BAD_TAG', `TLV: "${hex}" is not a tag in hex (1 to 4 bytes)`, {
      details: { tag: hex },
    });
  }
  const tag = parseInt(hex, 16);
  tagToBytes(tag);
  return tag;
}

/** True when the tag's first byte marks a constructed object. */
export function isConstructedTag(tag: number): boolean {
  let first = tag;
  while (first > 0xff) first = Math.floor(first / 256);
  return (first & 0x20) !== 0;
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function safeHex(tag: unknown): string {
  return typeof tag === 'number' && Number.isFinite(tag) && tag >= 0 ? tagToHex(tag) : String(tag);
}
