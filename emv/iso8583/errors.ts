/**
 * The ISO 8583 error codes (area ISO8583, CLI exit 2). Every decoding error names
 * the field and the byte offset from the start of the message (after any framing);
 * no error message ever quotes a field's value, which may be card data.
 */
import { PosError, type ErrorCode } from '../../config/errors.js';

export const ISO8583_ERRORS = {
  /** The message ends inside a field, a length prefix, the MTI or a bitmap. */
  TRUNCATED: 'CODPOS_ISO8583_TRUNCATED',
  /** A length prefix or a value is longer than the field allows. */
  LENGTH_OVER_MAX: 'CODPOS_ISO8583_LENGTH_OVER_MAX',
  /** A numeric field, BCD nibble, length prefix or MTI holds a non-digit. */
  BAD_DIGIT: 'CODPOS_ISO8583_BAD_DIGIT',
  /** A text field holds a character its content type does not allow. */
  BAD_CHARACTER: 'CODPOS_ISO8583_BAD_CHARACTER',
  /** The filler nibble of an odd-length BCD value is not 0. */
  BAD_PADDING: 'CODPOS_ISO8583_BAD_PADDING',
  /** A bitmap names a field the dialect does not define (or field 1 where no secondary bitmap is allowed). */
  UNKNOWN_FIELD: 'CODPOS_ISO8583_UNKNOWN_FIELD',
  /** A bitmap written as hex holds a non-hex character. */
  BAD_BITMAP: 'CODPOS_ISO8583_BAD_BITMAP',
  /** Bytes are left after the last field the bitmap names. */
  TRAILING_BYTES: 'CODPOS_ISO8583_TRAILING_BYTES',
  /** A value given to the encoder has the wrong type or shape (e.g. a string for a binary field). */
  BAD_VALUE: 'CODPOS_ISO8583_BAD_VALUE',
  /** A dialect table is inconsistent (checked once, when first used). */
  BAD_DIALECT: 'CODPOS_ISO8583_BAD_DIALECT',
  /** No dialect has that name. */
  UNKNOWN_DIALECT: 'CODPOS_ISO8583_UNKNOWN_DIALECT',
  /** A frame's length header, TPDU or private header is wrong. */
  BAD_FRAME: 'CODPOS_ISO8583_BAD_FRAME',
  /** A message reader did not find a field its message type requires. */
  MISSING_FIELD: 'CODPOS_ISO8583_MISSING_FIELD',
  /** The MTI is not the one a reader or builder expects. */
  BAD_MTI: 'CODPOS_ISO8583_BAD_MTI',
  /** A response's STAN or terminal id differs from its request's. */
  RESPONSE_MISMATCH: 'CODPOS_ISO8583_RESPONSE_MISMATCH',
} as const satisfies Record<string, ErrorCode>;

export type Iso8583ErrorCode = (typeof ISO8583_ERRORS)[keyof typeof ISO8583_ERRORS];

/**
 * A decoding fault at `offset` in `where` (e.g. "field 35 (Track 2 data)").
 * `field` is the field path ("35", "127.25", "mti", "bitmap") for details.
 */
export function decodeError(
  code: Iso8583ErrorCode,
  field: string,
  where: string,
  offset: number,
  problem: string,
): PosError {
  return new PosError(code, `ISO 8583 ${where} at byte ${offset}: ${problem}`, { details: { field, offset } });
}

/** Names a field in a fault: its path (`55`, `48.2`) and the label the message shows. */
export interface FaultyField {
  path: string;
  label: string;
}

/** A decoding fault in field `f` at byte `offset`. */
export function fieldDecodeError(code: Iso8583ErrorCode, f: FaultyField, offset: number, problem: string): PosError {
  return decodeError(code, f.path, f.label, offset, problem);
}

/** An encoding fault in the value given for field `f`. */
export function fieldEncodeError(code: Iso8583ErrorCode, f: FaultyField, problem: string): PosError {
  return encodeError(code, f.path, f.label, problem);
}

/** An encoding fault in a value given for `where`. */
export function encodeError(code: Iso8583ErrorCode, field: string, where: string, problem: string): PosError {
  return new PosError(code, `ISO 8583 ${where}: ${problem}`, { details: { field } });
}
