/** A length as BCD digits: LL in one byte, LLL and LLLL in two, LLLLLL in three. */
import { BCD_VALUE } from '../charsets.js';
import { ISO8583_ERRORS as E, fieldDecodeError } from '../errors.js';
import { hex2, int, type Prefixer } from './prefixer.js';

export const bcdPrefixer: Prefixer = {
  name: 'bcd',
  prefixBytes: (lengthDigits) => (lengthDigits + 1) >> 1,
  largest: (lengthDigits) => 10 ** lengthDigits - 1,
  write(length, f, out, pos) {
    let rest = length;
    for (let i = f.prefixBytes - 1; i >= 0; i--) {
      out[pos + i] = ((Math.floor(rest / 10) % 10) << 4) | (rest % 10);
      rest = Math.floor(rest / 100);
    }
    return pos + f.prefixBytes;
  },
  read(buf, pos, f) {
    let length = 0;
    for (let i = 0; i < f.prefixBytes; i++) {
      const b = buf[pos + i]!;
      if (BCD_VALUE[b] === 255)
        throw fieldDecodeError(E.BAD_DIGIT, f, pos + i, `length prefix byte 0x${hex2(b)} is not BCD`);
      length = length * 100 + BCD_VALUE[b]!;
    }
    return length;
  },
  snippet(f) {
    const names = Array.from({ length: f.prefixBytes }, (_, i) => `p${i}`);
    return [
      `const ${names.map((p, i) => `${p} = BCD_VALUE[buf[pos + ${int(i)}]]`).join(', ')};`,
      `if (${names.map((p) => `${p} === 255`).join(' || ')}) throw FAULT;`,
      `const len = ${names.reduce((sum, p) => (sum === '' ? p : `(${sum}) * 100 + ${p}`), '')};`,
    ];
  },
  helpers: { BCD_VALUE },
};
