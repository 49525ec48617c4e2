/** The shape of a decoded (or to-be-encoded) ISO 8583 message. */

/**
 * A field's value: text and numeric fields are strings (track 2 with `=`), binary
 * fields are Buffers, and a field with subfields (e.g. Postilion DE127) is the
 * sub-message's fields.
 */
export type FieldValue = string | Buffer | IsoFields;

/**
 * Field number -> value. Bitmaps are not fields here: the codec derives them.
 * Build one as a plain object (`{ 2: '4761...', 4: '000000001000' }`); the decoder
 * returns a sparse array indexed by field number, which reads the same way.
 */
export interface IsoFields {
  [field: number]: FieldValue;
}

export interface IsoMessage {
  /** Message type indicator, 4 digits (e.g. "0200"; "1800" for ISO 8583:1993). */
  mti: string;
  fields: IsoFields;
}
