/** A fixed-length field: no prefix; the length is the field's own. */
import type { Prefixer } from './prefixer.js';

export const fixedPrefixer: Prefixer = {
  name: 'fixed',
  prefixBytes: () => 0,
  largest: () => Number.MAX_SAFE_INTEGER,
  write: (_length, _f, _out, pos) => pos,
  read: (_buf, _pos, f) => f.maxLength,
  snippet: () => [],
  helpers: {},
};
