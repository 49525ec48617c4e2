/** ISO 8583:1987, binary: byte-compatible with jPOS' ISO87BPackager. */
import type { Dialect } from '../spec.js';
import { ISO87_LAYOUT, bcdFamily } from './layout.js';
import { iso87Name } from './names.js';

export const iso87b: Dialect = {
  name: 'iso87b',
  description:
    'ISO 8583:1987 binary (jPOS ISO87BPackager): BCD MTI and numerics, binary bitmaps, BCD length prefixes, ASCII text',
  mtiEncoding: 'bcd',
  bitmapEncoding: 'binary',
  fields: bcdFamily(ISO87_LAYOUT, iso87Name, 'left'),
};
