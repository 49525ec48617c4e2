/**
 * Dialects for the non-jPOS vectors in test/vectors/iso8583.json, written from each
 * vector's `spec` line. They show that a host's layout is configuration: most are a
 * shipped dialect with a few fields changed (withFields), none needs code.
 */
import { iso87b, withFields, type Dialect, type FieldSpec } from '../../../emv/iso8583/index.js';

const text = (maxLength: number, name: string, encoding: 'ascii' | 'ebcdic' = 'ascii'): FieldSpec => ({
  name,
  content: 'ans',
  lengthType: 'fixed',
  maxLength,
  encoding,
});
const bcd = (maxLength: number, name: string): FieldSpec => ({
  name,
  content: 'n',
  lengthType: 'fixed',
  maxLength,
  encoding: 'bcd',
  pad: 'left',
});
const asciiNum = (maxLength: number, name: string): FieldSpec => ({
  name,
  content: 'n',
  lengthType: 'fixed',
  maxLength,
  encoding: 'ascii',
});

/** jPOS PostPackager subset: ASCII MTI and numerics, binary bitmap, DE127 a sub-message behind a 6-digit ASCII length. */
export const postilion: Dialect = {
  name: 'postilion-test',
  description: 'jPOS PostPackager fields used by post.bin',
  mtiEncoding: 'ascii',
  bitmapEncoding: 'binary',
  fields: {
    3: asciiNum(6, 'Processing code'),
    7: asciiNum(10, 'Transmission date and time'),
    11: asciiNum(6, 'STAN'),
    12: asciiNum(6, 'Time, local'),
    13: asciiNum(4, 'Date, local'),
    41: text(8, 'Terminal id'),
    127: {
      name: 'Postilion private data',
      content: 'b',
      lengthType: 'LLLLLL',
      maxLength: 999999,
      encoding: 'binary',
      lengthEncoding: 'ascii',
      subfields: {
        bitmapEncoding: 'binary',
        fields: {
          2: {
            name: 'Switch key',
            content: 'ans',
            lengthType: 'LL',
            maxLength: 32,
            encoding: 'ascii',
            lengthEncoding: 'ascii',
          },
          25: {
            name: 'ICC data',
            content: 'ans',
            lengthType: 'LLLL',
            maxLength: 4096,
            encoding: 'ascii',
            lengthEncoding: 'ascii',
          },
        },
      },
    },
  },
};

/** pyiso8583 default_ascii, fields 21 and 102. */
export const pyisoAscii: Dialect = {
  name: 'pyiso-ascii',
  description: 'pyiso8583 default_ascii subset',
  mtiEncoding: 'ascii',
  bitmapEncoding: 'hex',
  fields: {
    21: asciiNum(3, 'Forwarding institution country code'),
    102: {
      name: 'Account identification 1',
      content: 'ans',
      lengthType: 'LL',
      maxLength: 28,
      encoding: 'ascii',
      lengthEncoding: 'ascii',
    },
  },
};

/** pyiso8583 default_ascii with DE55 binary behind a 3-digit ASCII length. */
export const pyisoDe55: Dialect = withFields(pyisoAscii, {
  name: 'pyiso-de55',
  fields: {
    55: {
      name: 'ICC data',
      content: 'b',
      lengthType: 'LLL',
      maxLength: 999,
      encoding: 'binary',
      lengthEncoding: 'ascii',
    },
  },
});

const jcbLlnum = (name: string): FieldSpec => ({
  name,
  content: 'n',
  lengthType: 'LL',
  maxLength: 19,
  encoding: 'bcd',
  lengthEncoding: 'binary',
  pad: 'left',
});

/** alatka-messages jcb.common.iso.yml: EBCDIC MTI and text, BCD numerics, binary length prefixes. */
export const jcb: Dialect = {
  name: 'jcb-test',
  description: 'JCB-style layout from alatka-messages',
  mtiEncoding: 'ebcdic',
  bitmapEncoding: 'binary',
  fields: {
    2: jcbLlnum('PAN'),
    3: bcd(6, 'Processing code'),
    4: bcd(12, 'Amount'),
    7: bcd(10, 'Transmission date and time'),
    11: bcd(6, 'STAN'),
    12: bcd(6, 'Time'),
    13: bcd(4, 'Date'),
    14: bcd(4, 'Expiry'),
    18: bcd(4, 'Merchant type'),
    // The vector lists 22, 23 and 70 as their two raw BCD bytes (4 digits).
    22: bcd(4, 'POS entry mode'),
    23: bcd(4, 'Card sequence number'),
    25: bcd(2, 'POS condition code'),
    32: { ...jcbLlnum('Acquiring institution'), maxLength: 11 },
    33: { ...jcbLlnum('Forwarding institution'), maxLength: 11 },
    37: text(12, 'RRN', 'ebcdic'),
    38: text(6, 'Approval code', 'ebcdic'),
    39: text(2, 'Response code', 'ebcdic'),
    41: text(8, 'Terminal id', 'ebcdic'),
    42: text(15, 'Merchant id', 'ebcdic'),
    43: text(40, 'Merchant name/location', 'ebcdic'),
    49: text(3, 'Currency', 'ebcdic'),
    51: text(3, 'Billing currency', 'ebcdic'),
    55: {
      name: 'ICC data',
      content: 'b',
      lengthType: 'LLL',
      maxLength: 255,
      encoding: 'binary',
      lengthEncoding: 'binary',
    },
    61: {
      name: 'POS data',
      content: 'ans',
      lengthType: 'LL',
      maxLength: 255,
      encoding: 'ebcdic',
      lengthEncoding: 'binary',
    },
    70: bcd(4, 'Network management code'),
    90: bcd(42, 'Original data elements'),
    95: text(42, 'Replacement amounts', 'ebcdic'),
    100: { ...jcbLlnum('Receiving institution'), maxLength: 11 },
  },
};

/** digital-payments README: iso87b with DE63 a binary LLLVAR (2-byte BCD length). */
export const iso87bDe63Binary: Dialect = withFields(iso87b, {
  name: 'iso87b-de63-binary',
  fields: {
    63: {
      name: 'Key block',
      content: 'b',
      lengthType: 'LLL',
      maxLength: 999,
      encoding: 'binary',
      lengthEncoding: 'bcd',
    },
  },
});

/** China UnionPay-style POS: iso87b with 48/60 numeric LLLVAR (BCD, length in digits) and 62 binary LLLVAR. */
export const cupPos: Dialect = withFields(iso87b, {
  name: 'cup-pos',
  fields: {
    48: {
      name: 'Additional data, private',
      content: 'n',
      lengthType: 'LLL',
      maxLength: 322,
      encoding: 'bcd',
      lengthEncoding: 'bcd',
      pad: 'right',
    },
    60: {
      name: 'Reserved private',
      content: 'n',
      lengthType: 'LLL',
      maxLength: 17,
      encoding: 'bcd',
      lengthEncoding: 'bcd',
      pad: 'right',
    },
    62: {
      name: 'Working keys',
      content: 'b',
      lengthType: 'LLL',
      maxLength: 512,
      encoding: 'binary',
      lengthEncoding: 'bcd',
    },
  },
});
