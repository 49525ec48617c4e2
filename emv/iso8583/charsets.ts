/**
 * Byte tables the codec looks characters up in, built once at load time so the hot
 * path is an array index, not a regex or a string conversion.
 */

/** Content classes as bit flags, so one table serves every content type. */
export const DIGIT = 1;
export const LETTER_OR_SPACE = 2;
export const PRINTABLE = 4;
export const TRACK_SEPARATOR = 8; // '='
export const SIGN = 16; // 'C', 'D' (and '0', see spec.ts)

/** ASCII code (0..255) -> the classes it belongs to. */
export const CHAR_CLASS = new Uint8Array(256);
for (let c = 0x20; c <= 0x7e; c++) CHAR_CLASS[c] |= PRINTABLE;
for (let c = 0x30; c <= 0x39; c++) CHAR_CLASS[c] |= DIGIT;
for (let c = 0x41; c <= 0x5a; c++) CHAR_CLASS[c] |= LETTER_OR_SPACE;
for (let c = 0x61; c <= 0x7a; c++) CHAR_CLASS[c] |= LETTER_OR_SPACE;
CHAR_CLASS[0x20] |= LETTER_OR_SPACE;
CHAR_CLASS[0x3d] |= TRACK_SEPARATOR;
CHAR_CLASS[0x43] |= SIGN;
CHAR_CLASS[0x44] |= SIGN;
CHAR_CLASS[0x30] |= SIGN;

/** One-character strings by code, so building a short string never allocates per character. */
export const CHAR = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));

/** 1 where a byte is two BCD digits (both nibbles 0-9), else 0. */
export const IS_BCD = Uint8Array.from({ length: 256 }, (_, b) => (b >> 4 <= 9 && (b & 15) <= 9 ? 1 : 0));

/** 1 where a byte is two track 2 nibbles (each 0-9 or the separator D), else 0. */
export const IS_TRACK_BCD = Uint8Array.from({ length: 256 }, (_, b) =>
  (b >> 4 <= 9 || b >> 4 === 0xd) && ((b & 15) <= 9 || (b & 15) === 0xd) ? 1 : 0,
);

/** Nibble -> character code: digits for 0-9 (0 elsewhere); the track form also maps D to '='. */
export const DIGIT_CODE = Uint8Array.from({ length: 16 }, (_, n) => (n <= 9 ? 48 + n : 0));
export const TRACK_CODE = Uint8Array.from({ length: 16 }, (_, n) => (n <= 9 ? 48 + n : n === 0xd ? 0x3d : 0));

/** Byte -> the number its two BCD digits make (0..99), or 255 when a nibble is not a digit. */
export const BCD_VALUE = Uint8Array.from({ length: 256 }, (_, b) =>
  b >> 4 <= 9 && (b & 15) <= 9 ? (b >> 4) * 10 + (b & 15) : 255,
);

/**
 * Every 3- and 4-digit string, made once: short numeric fields (MTI, dates, entry mode,
 * sequence numbers) then cost a table lookup instead of a new string (~220 KB).
 */
export const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
export const DIGITS4: readonly string[] = Array.from({ length: 10000 }, (_, n) => String(n).padStart(4, '0'));

/** Byte -> its two digits ("00".."99") when both nibbles are 0-9, else undefined. */
export const BCD_PAIR: (string | undefined)[] = Array.from({ length: 256 }, (_, b) =>
  b >> 4 <= 9 && (b & 15) <= 9 ? String.fromCharCode(48 + (b >> 4), 48 + (b & 15)) : undefined,
);

/** Nibble -> track 2 character: 0-9 and D as '='; undefined for A, B, C, E, F. */
export const TRACK_NIBBLE: (string | undefined)[] = Array.from({ length: 16 }, (_, n) =>
  n <= 9 ? String(n) : n === 0xd ? '=' : undefined,
);

/** Nibble -> ASCII code of its uppercase hex digit. */
export const HEX_DIGIT = Uint8Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));

/** Byte -> two uppercase hex characters. */
export const HEX_PAIR = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));

/** ASCII code -> hex nibble value, or 255 when not a hex digit (either case). */
export const HEX_VALUE = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
}
