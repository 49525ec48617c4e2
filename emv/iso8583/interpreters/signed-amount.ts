/**
 * A signed amount (xn, jPOS IFB_AMOUNT / IFA_AMOUNT): one sign character, C (credit)
 * or D (debit) (or 0, see spec.ts), then the digits in the field's encoding. The sign is
 * an ASCII byte beside BCD or ASCII digits and an EBCDIC byte beside EBCDIC ones.
 */
import { CHAR, CHAR_CLASS, SIGN } from '../charsets.js';
import { badSignRead, textToWrite } from './content.js';
import { asciiInterpreter } from './ascii.js';
import { bcdInterpreter } from './bcd.js';
import { ASCII_TO_EBCDIC, EBCDIC_TO_ASCII, ebcdicInterpreter } from './ebcdic.js';
import type { Interpreter, TextInterpreter } from './interpreter.js';
import { ownText } from './text-source.js';

const SAME_BYTE = Uint8Array.from({ length: 256 }, (_, b) => b);

function signedAmount(digits: TextInterpreter, signToByte: Uint8Array, byteToSign: Uint8Array): Interpreter {
  const helperName = `readSignedAmount_${digits.name}`;
  const interpreter: Interpreter = {
    name: `signed amount (${digits.name})`,
    dataBytes: (length) => digits.dataBytes(length) + 1,
    sizeSource: (len) => `(${digits.sizeSource(len)} + 1)`,
    encode(value, f, out, pos) {
      const text = textToWrite(value, f);
      const count = text.length - 1;
      const bytes = out.ensure(pos, f.prefixBytes + 1 + digits.dataBytes(count));
      pos = f.prefixer.write(count, f, bytes, pos);
      bytes[pos] = signToByte[text.charCodeAt(0)]!;
      return digits.writeText(text, 1, count, f, bytes, pos + 1);
    },
    read(buf, pos, length, f, source) {
      const c = byteToSign[buf[pos]!]!;
      if ((CHAR_CLASS[c]! & SIGN) === 0) throw badSignRead(buf, pos, f);
      return CHAR[c]! + digits.readText(buf, pos + 1, length, f, source);
    },
    snippet: (_f, site) => [`${site.into} = ${helperName}(buf, pos, ${site.len}, ${site.field});`],
    helpers: {
      [helperName]: (buf: Buffer, pos: number, length: number, f: Parameters<Interpreter['read']>[3]) =>
        interpreter.read(buf, pos, length, f, ownText),
    },
  };
  return interpreter;
}

export const signedAmountBcd = signedAmount(bcdInterpreter, SAME_BYTE, SAME_BYTE);
export const signedAmountAscii = signedAmount(asciiInterpreter, SAME_BYTE, SAME_BYTE);
export const signedAmountEbcdic = signedAmount(ebcdicInterpreter, ASCII_TO_EBCDIC, EBCDIC_TO_ASCII);
