/** ISO 8583:1987, ASCII: byte-compatible with jPOS' ISO87APackager. */
import type { Dialect } from '../spec.js';
import { ISO87_LAYOUT, asciiFamily } from './layout.js';
import { iso87Name } from './names.js';

export const iso87a: Dialect = {
  name: 'iso87a',
  description:
    'ISO 8583:1987 ASCII (jPOS ISO87APackager): ASCII MTI, numerics and length prefixes, bitmaps and binary fields as hex characters',
  mtiEncoding: 'ascii',
  bitmapEncoding: 'hex',
  fields: asciiFamily(ISO87_LAYOUT, iso87Name),
};
