/**
 * What an ISO 8583 dialect is: data. A dialect is a table of field specs, each
 * composed from a content type x a length type x a data encoding x a length-prefix
 * encoding x a padding side — the same decomposition as jPOS' interpreter x prefixer
 * x padder, written as plain objects like pyiso8583's spec dicts. A host that differs
 * from a shipped dialect in one field is a new table made with `withFields()`, not code.
 */

/**
 * What characters a field may hold.
 * - `n`   digits only.
 * - `z`   track 2/3 data: digits and the field separator `=` (nibble D in BCD).
 * - `xn`  a signed amount: `C` (credit) or `D` (debit), then digits. `0` is also accepted
 *         as the sign because jPOS' reference images carry it in DE28-31.
 * - `an`  letters, digits and space (fixed `an` fields are space-padded in practice).
 * - `ans` any printable ASCII character (0x20-0x7E).
 * - `b`   binary data: a Buffer in code, uppercase hex in JSON.
 */
export type ContentType = 'n' | 'z' | 'xn' | 'an' | 'ans' | 'b';

/** Fixed length, or a variable length with a prefix of 2, 3, 4 or 6 length digits. */
export type LengthType = 'fixed' | 'LL' | 'LLL' | 'LLLL' | 'LLLLLL';

/**
 * How the data bytes are written.
 * - `bcd`    packed BCD, two digits a byte (n, z; for xn the sign is one ASCII byte first).
 * - `ascii`  one ASCII byte per character.
 * - `ebcdic` one EBCDIC byte per character (IBM code page 500).
 * - `binary` the bytes themselves (b).
 * - `hex`    binary data written as ASCII hex, two characters a byte (jPOS IFA_BINARY).
 */
export type DataEncoding = 'bcd' | 'ascii' | 'ebcdic' | 'binary' | 'hex';

/**
 * How a variable field's length prefix is written: as BCD (LL = 1 byte, LLL/LLLL = 2,
 * LLLLLL = 3), as ASCII or EBCDIC digits (one byte a digit), or as a big-endian binary
 * number (LL = 1 byte, LLL/LLLL = 2, LLLLLL = 3).
 */
export type LengthEncoding = 'bcd' | 'ascii' | 'ebcdic' | 'binary';

export interface FieldSpec {
  /** Name shown by the decoder and in error messages, e.g. "Track 2 data". */
  name: string;
  content: ContentType;
  lengthType: LengthType;
  /**
   * The exact length of a fixed field, the maximum of a variable one, in the field's
   * units: digits for n/z/xn (the xn sign not counted), characters for an/ans, bytes for b.
   * A variable field's prefix counts the same units (jPOS LLNUM counts digits).
   */
  maxLength: number;
  encoding: DataEncoding;
  /** Required for variable fields. */
  lengthEncoding?: LengthEncoding;
  /**
   * Where the filler nibble 0 goes when an odd number of digits is packed as BCD.
   * Default: `left` for fixed fields, `right` for variable ones (jPOS ISO87BPackager).
   */
  pad?: 'left' | 'right';
  /** The field carries a sub-message with its own bitmap (e.g. Postilion DE127). */
  subfields?: SubfieldsSpec;
}

export interface SubfieldsSpec {
  bitmapEncoding: BitmapEncoding;
  fields: FieldTable;
}

/** Field number -> spec. Numbers 2-128 (1 and 65 are bitmaps only where a dialect says so). */
export type FieldTable = Readonly<Record<number, FieldSpec>>;

/** `binary`: 8 bytes a bitmap; `hex`: 16 ASCII hex characters a bitmap. */
export type BitmapEncoding = 'binary' | 'hex';

export interface Dialect {
  /** Registry name, e.g. `pos87b`. */
  name: string;
  description: string;
  /** MTI as 2 BCD bytes, or 4 ASCII / EBCDIC digits. */
  mtiEncoding: 'bcd' | 'ascii' | 'ebcdic';
  bitmapEncoding: BitmapEncoding;
  fields: FieldTable;
}

/**
 * A dialect that differs from `base` in a few fields: the configured way to meet a
 * host that does one field its own way. `fields` entries replace the base's; `null`
 * removes a field.
 */
export function withFields(
  base: Dialect,
  changes: {
    name: string;
    description?: string;
    mtiEncoding?: Dialect['mtiEncoding'];
    bitmapEncoding?: BitmapEncoding;
    fields: Record<number, FieldSpec | null>;
  },
): Dialect {
  const fields: Record<number, FieldSpec> = { ...base.fields };
  for (const [key, spec] of Object.entries(changes.fields)) {
    if (spec === null) delete fields[Number(key)];
    else fields[Number(key)] = spec;
  }
  return {
    name: changes.name,
    description: changes.description ?? `${base.name} with fields ${Object.keys(changes.fields).join(', ')} changed`,
    mtiEncoding: changes.mtiEncoding ?? base.mtiEncoding,
    bitmapEncoding: changes.bitmapEncoding ?? base.bitmapEncoding,
    fields,
  };
}

// Small constructors so a dialect table reads like a packager's field list.
// They return plain data; nothing here is behaviour.

/** What every field constructor takes, in a dialect table's column order. */
type FieldColumns = [
  content: ContentType,
  maxLength: number,
  encoding: DataEncoding,
  name: string,
  pad?: 'left' | 'right',
];

/** A fixed-length field. */
export function fixed(...columns: FieldColumns): FieldSpec {
  return fieldSpec(columns, 'fixed');
}

/** A variable-length field. */
export function variable(
  lengthType: Exclude<LengthType, 'fixed'>,
  lengthEncoding: LengthEncoding,
  ...columns: FieldColumns
): FieldSpec {
  return fieldSpec(columns, lengthType, lengthEncoding);
}

function fieldSpec(
  [content, maxLength, encoding, name, pad]: FieldColumns,
  lengthType: LengthType,
  lengthEncoding?: LengthEncoding,
): FieldSpec {
  const spec: FieldSpec = { name, content, lengthType, maxLength, encoding };
  if (lengthEncoding !== undefined) spec.lengthEncoding = lengthEncoding;
  if (pad !== undefined) spec.pad = pad;
  return spec;
}
