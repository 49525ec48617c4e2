/** The length prefixers by the name a field spec gives (`lengthEncoding`); `fixed` for fixed fields. */
import type { LengthEncoding } from '../spec.js';
import { bcdPrefixer } from './bcd.js';
import { binaryPrefixer } from './binary.js';
import { asciiPrefixer, ebcdicPrefixer } from './decimal-text.js';
import type { Prefixer } from './prefixer.js';

export { fixedPrefixer } from './fixed.js';
import { fixedPrefixer } from './fixed.js';
export type { Prefixer } from './prefixer.js';

export const PREFIXERS: Readonly<Record<LengthEncoding, Prefixer>> = {
  bcd: bcdPrefixer,
  ascii: asciiPrefixer,
  ebcdic: ebcdicPrefixer,
  binary: binaryPrefixer,
};

/** Every prefixer, for the generated decoder's helper table. */
export const ALL_PREFIXERS: readonly Prefixer[] = [fixedPrefixer, ...Object.values(PREFIXERS)];
