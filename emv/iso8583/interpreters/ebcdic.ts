/**
 * EBCDIC characters (IBM code page 500), one byte each (jPOS EbcdicInterpreter), for
 * every text content. Everything the codec knows of EBCDIC is here: the code page,
 * the digit zero the EBCDIC length prefix uses (prefixers/decimal-text.ts), the text
 * reader and writer. Rare in practice, so the generated decoder calls the reader.
 */
import { CHAR, CHAR_CLASS } from '../charsets.js';
import type { CompiledField } from '../compile.js';
import { badCharRead, badCharToWrite, encodeText } from './content.js';
import type { TextInterpreter } from './interpreter.js';

/** IBM code page 500 bytes for printable ASCII 0x20..0x7E, in order. */
const CP500_PRINTABLE =
  '404F7F7B5B6C507D4D5D5C4E6B604B61F0F1F2F3F4F5F6F7F8F97A5E4C7E6E6F7CC1C2C3C4C5C6C7C8C9D1D2D3D4D5D6D7D8D9E2E3E4E5E6E7E8E94AE05A5F6D79818283848586878889919293949596979899A2A3A4A5A6A7A8A9C0BBD0A1';

/** ASCII code -> EBCDIC byte; 0 where the character has no mapping here (not printable ASCII). */
export const ASCII_TO_EBCDIC = new Uint8Array(128);
/** EBCDIC byte -> ASCII code; 0 where the byte is not a printable character. */
export const EBCDIC_TO_ASCII = new Uint8Array(256);
for (let i = 0; i < CP500_PRINTABLE.length / 2; i++) {
  const ebcdic = parseInt(CP500_PRINTABLE.slice(i * 2, i * 2 + 2), 16);
  ASCII_TO_EBCDIC[0x20 + i] = ebcdic;
  EBCDIC_TO_ASCII[ebcdic] = 0x20 + i;
}

/** The EBCDIC byte of the digit 0 (the digits run on to 0xF9). */
export const EBCDIC_DIGIT_ZERO = 0xf0;

export const ebcdicInterpreter: TextInterpreter = {
  name: 'ebcdic',
  dataBytes: (length) => length,
  sizeSource: (len) => len,
  encode: (value, f, out, pos) => encodeText(value, f, out, pos, writeEbcdic),
  read: (buf, pos, length, f) => readEbcdic(buf, pos, length, f),
  writeText: writeEbcdic,
  readText: (buf, pos, count, f) => readEbcdic(buf, pos, count, f),
  snippet: (_f, site) => [`${site.into} = readEbcdic(buf, pos, ${site.len}, ${site.field});`],
  helpers: { readEbcdic },
};

function writeEbcdic(text: string, from: number, count: number, f: CompiledField, out: Buffer, pos: number): number {
  const allowed = f.charClass;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (CHAR_CLASS[c]! & allowed) === 0) throw badCharToWrite(i, f);
    out[pos++] = ASCII_TO_EBCDIC[c]!;
  }
  return pos;
}

function readEbcdic(buf: Buffer, pos: number, count: number, f: CompiledField): string {
  const allowed = f.charClass;
  let value = '';
  for (let i = pos; i < pos + count; i++) {
    const c = EBCDIC_TO_ASCII[buf[i]!]!;
    if ((CHAR_CLASS[c]! & allowed) === 0) throw badCharRead(buf, i, true, f);
    value += CHAR[c]!;
  }
  return value;
}
