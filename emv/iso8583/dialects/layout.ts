/**
 * A field layout (content, length type, maximum) is what a version of the standard
 * fixes; the wire encoding (BCD and binary vs ASCII) is what a packager family
 * chooses. The shipped dialects are built from one layout and one encoding family,
 * the way jPOS' ISO87BPackager and ISO87APackager share ISO 8583:1987's layout.
 * The result is a plain field table.
 */
import type { ContentType, FieldSpec, LengthType } from '../spec.js';

export type Layout = Readonly<Record<number, readonly [ContentType, LengthType, number]>>;

/** Repeats one layout entry over a range of field numbers. */
export function range(
  from: number,
  to: number,
  entry: readonly [ContentType, LengthType, number],
): Record<number, readonly [ContentType, LengthType, number]> {
  const out: Record<number, readonly [ContentType, LengthType, number]> = {};
  for (let f = from; f <= to; f++) out[f] = entry;
  return out;
}

/**
 * jPOS "B" packagers: numerics packed BCD (filler on `fixedPad` for fixed fields,
 * right for variable ones), text ASCII, binary raw, length prefixes BCD.
 */
export function bcdFamily(
  layout: Layout,
  name: (field: number) => string,
  fixedPad: 'left' | 'right',
): Record<number, FieldSpec> {
  const table: Record<number, FieldSpec> = {};
  for (const [key, [content, lengthType, maxLength]] of Object.entries(layout)) {
    const field = Number(key);
    const numeric = content === 'n' || content === 'z' || content === 'xn';
    const spec: FieldSpec = {
      name: name(field),
      content,
      lengthType,
      maxLength,
      encoding: content === 'b' ? 'binary' : numeric ? 'bcd' : 'ascii',
    };
    if (lengthType !== 'fixed') spec.lengthEncoding = 'bcd';
    if (numeric) spec.pad = lengthType === 'fixed' ? fixedPad : 'right';
    table[field] = spec;
  }
  return table;
}

/** jPOS "A" packagers: everything ASCII; binary fields as hex characters; length prefixes ASCII digits. */
export function asciiFamily(layout: Layout, name: (field: number) => string): Record<number, FieldSpec> {
  const table: Record<number, FieldSpec> = {};
  for (const [key, [content, lengthType, maxLength]] of Object.entries(layout)) {
    const field = Number(key);
    const spec: FieldSpec = {
      name: name(field),
      content,
      lengthType,
      maxLength,
      encoding: content === 'b' ? 'hex' : 'ascii',
    };
    if (lengthType !== 'fixed') spec.lengthEncoding = 'ascii';
    table[field] = spec;
  }
  return table;
}

/** ISO 8583:1987 as jPOS' ISO87 packagers lay it out. */
export const ISO87_LAYOUT: Layout = {
  2: ['n', 'LL', 19],
  3: ['n', 'fixed', 6],
  4: ['n', 'fixed', 12],
  5: ['n', 'fixed', 12],
  6: ['n', 'fixed', 12],
  7: ['n', 'fixed', 10],
  8: ['n', 'fixed', 8],
  9: ['n', 'fixed', 8],
  10: ['n', 'fixed', 8],
  11: ['n', 'fixed', 6],
  12: ['n', 'fixed', 6],
  ...range(13, 18, ['n', 'fixed', 4]),
  ...range(19, 24, ['n', 'fixed', 3]),
  25: ['n', 'fixed', 2],
  26: ['n', 'fixed', 2],
  27: ['n', 'fixed', 1],
  ...range(28, 31, ['xn', 'fixed', 8]),
  32: ['n', 'LL', 11],
  33: ['n', 'LL', 11],
  34: ['ans', 'LL', 28],
  35: ['z', 'LL', 37],
  36: ['ans', 'LLL', 104],
  37: ['an', 'fixed', 12],
  38: ['an', 'fixed', 6],
  39: ['an', 'fixed', 2],
  40: ['an', 'fixed', 3],
  41: ['ans', 'fixed', 8],
  42: ['ans', 'fixed', 15],
  43: ['ans', 'fixed', 40],
  44: ['ans', 'LL', 25],
  45: ['ans', 'LL', 76],
  ...range(46, 48, ['ans', 'LLL', 999]),
  ...range(49, 51, ['an', 'fixed', 3]),
  52: ['b', 'fixed', 8],
  53: ['n', 'fixed', 16],
  54: ['ans', 'LLL', 120],
  ...range(55, 63, ['ans', 'LLL', 999]),
  64: ['b', 'fixed', 8],
  65: ['b', 'fixed', 1],
  66: ['n', 'fixed', 1],
  67: ['n', 'fixed', 2],
  ...range(68, 70, ['n', 'fixed', 3]),
  71: ['n', 'fixed', 4],
  72: ['n', 'fixed', 4],
  73: ['n', 'fixed', 6],
  ...range(74, 81, ['n', 'fixed', 10]),
  ...range(82, 85, ['n', 'fixed', 12]),
  ...range(86, 89, ['n', 'fixed', 16]),
  90: ['n', 'fixed', 42],
  91: ['an', 'fixed', 1],
  92: ['an', 'fixed', 2],
  93: ['an', 'fixed', 6],
  94: ['an', 'fixed', 7],
  95: ['an', 'fixed', 42],
  96: ['b', 'fixed', 16],
  97: ['xn', 'fixed', 16],
  98: ['ans', 'fixed', 25],
  99: ['n', 'LL', 11],
  100: ['n', 'LL', 11],
  101: ['ans', 'LL', 17],
  102: ['ans', 'LL', 28],
  103: ['ans', 'LL', 28],
  104: ['ans', 'LLL', 100],
  ...range(105, 127, ['ans', 'LLL', 999]),
  128: ['b', 'fixed', 8],
};
