/** A length as a big-endian binary number: LL in one byte, LLL and LLLL in two, LLLLLL in three. */
import { int, type Prefixer } from './prefixer.js';

export const binaryPrefixer: Prefixer = {
  name: 'binary',
  // As many bytes as the decimal form would need to hold the same maximum.
  prefixBytes: (lengthDigits) => (lengthDigits <= 2 ? 1 : lengthDigits <= 4 ? 2 : 3),
  largest: (_lengthDigits, prefixBytes) => 256 ** prefixBytes - 1,
  write(length, f, out, pos) {
    let rest = length;
    for (let i = f.prefixBytes - 1; i >= 0; i--) {
      out[pos + i] = rest & 0xff;
      rest = Math.floor(rest / 256);
    }
    return pos + f.prefixBytes;
  },
  read(buf, pos, f) {
    let length = 0;
    for (let i = 0; i < f.prefixBytes; i++) length = length * 256 + buf[pos + i]!;
    return length;
  },
  snippet(f) {
    const bytes = Array.from({ length: f.prefixBytes }, (_, i) => `buf[pos + ${int(i)}]`);
    return [`const len = ${bytes.reduce((sum, b) => (sum === '' ? b : `(${sum}) * 256 + ${b}`), '')};`];
  },
  helpers: {},
};
