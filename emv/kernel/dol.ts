/**
 * Data Object Lists (PDOL, CDOL1, CDOL2, DDOL, TDOL): a DOL is a list of tag + length
 * pairs with no values; the terminal answers with the concatenated values, each fitted
 * to the requested length by the rules of EMV Book 3 section 5.4:
 * - absent or constructed data: zeros of the requested length;
 * - numeric (n) data: longer -> keep the rightmost bytes, shorter -> pad with leading zeros;
 * - compressed numeric (cn): longer -> keep the leftmost, shorter -> pad with trailing FF;
 * - anything else: longer -> keep the leftmost, shorter -> pad with trailing 00.
 */
import { PosError } from '../../config/errors.js';
import { isConstructedTag, tagToHex } from '../tlv/index.js';
import { tagInfo } from '../tags/index.js';

export interface DolEntry {
  tag: number;
  length: number;
}

/** Parses a DOL (tag + one-byte length pairs). Throws CODPOS_TLV_BAD_DOL naming the offset. */
export function parseDol(dol: Buffer): DolEntry[] {
  const entries: DolEntry[] = [];
  let pos = 0;
  while (pos < dol.length) {
    const start = pos;
    let tag = dol[pos++]!;
    if ((tag & 0x1f) === 0x1f) {
      let more = true;
      while (more) {
        if (pos >= dol.length || pos - start >= 4) {
          throw new PosError('CODPOS_TLV_BAD_DOL', `DOL: tag at byte offset ${start} is cut short or too long`, {
            details: { offset: start },
          });
        }
        const b = dol[pos++]!;
        tag = tag * 256 + b;
        more = (b & 0x80) !== 0;
      }
    }
    if (pos >= dol.length) {
      throw new PosError('CODPOS_TLV_BAD_DOL', `DOL: tag ${tagToHex(tag)} at byte offset ${start} has no length`, {
        details: { offset: start },
      });
    }
    const length = dol[pos++]!;
    // A length in long form has no meaning in a DOL: EMV lengths here are one byte.
    entries.push({ tag, length });
  }
  return entries;
}

/** Fits one value to a DOL length per its format. */
export function fitToLength(tag: number, value: Buffer | undefined, length: number): Buffer {
  if (value === undefined || isConstructedTag(tag)) return Buffer.alloc(length);
  if (value.length === length) return value;
  const format = tagInfo(tag)?.format ?? 'b';
  if (format === 'n') {
    if (value.length > length) return value.subarray(value.length - length);
    return Buffer.concat([Buffer.alloc(length - value.length), value]);
  }
  if (value.length > length) return value.subarray(0, length);
  return Buffer.concat([value, Buffer.alloc(length - value.length, format === 'cn' ? 0xff : 0x00)]);
}

/** The DOL-related data: each listed element's value fitted to its length, concatenated. */
export function buildDolData(dol: Buffer | DolEntry[], lookup: (tag: number) => Buffer | undefined): Buffer {
  const entries = Buffer.isBuffer(dol) ? parseDol(dol) : dol;
  return Buffer.concat(entries.map((e) => fitToLength(e.tag, lookup(e.tag), e.length)));
}

/** True when the DOL asks for this tag. */
export function dolRequests(dol: Buffer | undefined, tag: number): boolean {
  return dol !== undefined && parseDol(dol).some((e) => e.tag === tag);
}
