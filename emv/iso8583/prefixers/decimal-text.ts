/**
 * A length as decimal digit characters, one byte a digit: ASCII ('0' = 0x30) or EBCDIC
 * ('0' = 0xF0). The two differ only in the byte of the digit zero.
 */
import { EBCDIC_DIGIT_ZERO } from '../interpreters/ebcdic.js';
import { ISO8583_ERRORS as E, fieldDecodeError } from '../errors.js';
import { hex2, int, type Prefixer } from './prefixer.js';

function decimalTextPrefixer(name: string, zero: number): Prefixer {
  return {
    name,
    prefixBytes: (lengthDigits) => lengthDigits,
    largest: (lengthDigits) => 10 ** lengthDigits - 1,
    write(length, f, out, pos) {
      let rest = length;
      for (let i = f.prefixBytes - 1; i >= 0; i--) {
        out[pos + i] = zero + (rest % 10);
        rest = Math.floor(rest / 10);
      }
      return pos + f.prefixBytes;
    },
    read(buf, pos, f) {
      let length = 0;
      for (let i = 0; i < f.prefixBytes; i++) {
        const d = buf[pos + i]! - zero;
        if (d < 0 || d > 9)
          throw fieldDecodeError(E.BAD_DIGIT, f, pos + i, `length prefix byte 0x${hex2(buf[pos + i]!)} is not a digit`);
        length = length * 10 + d;
      }
      return length;
    },
    snippet(f) {
      const names = Array.from({ length: f.prefixBytes }, (_, i) => `p${i}`);
      return [
        `const ${names.map((p, i) => `${p} = buf[pos + ${int(i)}] - ${int(zero)}`).join(', ')};`,
        `if (${names.map((p) => `(${p} >>> 0) > 9`).join(' || ')}) throw FAULT;`,
        `const len = ${names.reduce((sum, p) => (sum === '' ? p : `(${sum}) * 10 + ${p}`), '')};`,
      ];
    },
    helpers: {},
  };
}

export const asciiPrefixer = decimalTextPrefixer('ascii', 0x30);
export const ebcdicPrefixer = decimalTextPrefixer('ebcdic', EBCDIC_DIGIT_ZERO);
