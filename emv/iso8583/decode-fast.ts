/**
 * The generated ISO 8583 decoder: for each dialect, the first message it decodes has
 * a decoding function written for it, the way ajv compiles a JSON schema. The function
 * is the dialect's field table turned into straight code: one `case` per field with
 * its lengths, prefix and character checks as literal numbers, so nothing is looked up
 * or branched on per field but what the message itself decides. This is what makes
 * decoding several times faster than a table-walking decoder (issue 3 asks for 10x
 * the npm iso_8583's unpack rate; `npm run bench -- iso8583` measures it).
 *
 * The generated code only decides "this message is well formed" or "it is not": any
 * fault throws FAULT (or a PosError from a borrowed reader), and decodeIso8583 then
 * decodes the message again with the checking decoder (decode-checked.ts), whose error
 * names the first fault's field and offset. So the error path lives in one place, and
 * a message is only ever returned after every byte of it was checked:
 *   - numeric (n) and printable (ans) ASCII text is checked in runs: back-to-back
 *     fields of one kind (an ASCII 0200 has ten fixed numeric fields in a row) are
 *     checked together, four bytes at a time (ascii-scan.ts), when the run ends;
 *   - an and z text, length prefixes, bitmaps and BCD are checked as they are read;
 *   - rarer field kinds (EBCDIC, signed amounts, sub-bitmaps) are read by the checking
 *     decoder's own field reader.
 * Only integers from the compiled (checked) dialect are written into the source;
 * names and other strings from a dialect never are. fastDecoderSource() shows it.
 */
import { ASCII, AN, ANS, B, BCD, BINARY, EBCDIC, HEX, N, XN, Z, type CompiledDialect, type CompiledField } from './compile.js';
import { DIGIT, DIGITS3, DIGITS4, BCD_VALUE, HEX_VALUE, LETTER_OR_SPACE } from './charsets.js';
import { allInClass, allInRange, allTrack2 } from './ascii-scan.js';
import { bcdDigits, bcdValue, decodeOneField, fieldText, hexBytes, highestField, newFields, textDigits } from './decode-checked.js';
import { viewOf } from '../buffer-view.js';
import type { IsoMessage } from './message.js';

export type FastDecoder = (buf: Buffer) => IsoMessage;

/** Thrown by generated code at a fault; carries nothing (the checking decoder describes the fault). */
export const FAULT = new Error('ISO 8583 fast decoder: the message is not well formed');

/** What generated code may call, passed in as `H`. */
const HELPERS = {
  FAULT,
  DIGITS1: DIGITS3.slice(0, 10).map((d) => d.slice(2)),
  DIGITS2: DIGITS3.slice(0, 100).map((d) => d.slice(1)),
  DIGITS3,
  DIGITS4,
  BCD_VALUE,
  allInRange,
  allInClass,
  allTrack2,
  bcdDigits,
  bcdValue,
  decodeOneField,
  fieldText,
  hexBytes,
  hexBitmapWord,
  highestField,
  newFields,
  textDigits,
  viewOf,
};

/** Eight ASCII hex characters at buf[pos] as an int32 bitmap word. */
function hexBitmapWord(buf: Buffer, pos: number): number {
  const h0 = HEX_VALUE[buf[pos]!]!, h1 = HEX_VALUE[buf[pos + 1]!]!, h2 = HEX_VALUE[buf[pos + 2]!]!, h3 = HEX_VALUE[buf[pos + 3]!]!;
  const h4 = HEX_VALUE[buf[pos + 4]!]!, h5 = HEX_VALUE[buf[pos + 5]!]!, h6 = HEX_VALUE[buf[pos + 6]!]!, h7 = HEX_VALUE[buf[pos + 7]!]!;
  if ((h0 | h1 | h2 | h3 | h4 | h5 | h6 | h7) > 15) throw FAULT; // 255 marks a non-hex byte
  return (h0 << 28) | (h1 << 24) | (h2 << 20) | (h3 << 16) | (h4 << 12) | (h5 << 8) | (h6 << 4) | h7;
}

const decoders = new WeakMap<CompiledDialect, FastDecoder>();
let lastCompiled: CompiledDialect | undefined;
let lastDecoder: FastDecoder | undefined;

/** The generated decoder of a compiled dialect, written on first use. */
export function fastDecoderFor(compiled: CompiledDialect): FastDecoder {
  // Most callers use one dialect all day: skip the WeakMap for the last one.
  if (compiled === lastCompiled) return lastDecoder!;
  let decoder = decoders.get(compiled);
  if (decoder === undefined) {
    // The source holds only integers from the checked dialect (see fastDecoderSource).
    decoder = new Function('H', 'F', fastDecoderSource(compiled))(HELPERS, compiled.body.fields) as FastDecoder;
    decoders.set(compiled, decoder);
  }
  lastCompiled = compiled;
  lastDecoder = decoder;
  return decoder;
}

/** The JavaScript source of a dialect's generated decoder (the body of `function (H, F)`). */
export function fastDecoderSource(compiled: CompiledDialect): string {
  const set = compiled.body;
  const textDialect = compiled.mtiEncoding === ASCII;
  const hasBinaryViews = set.fields.some((f) => f !== undefined && f.content === B && f.encoding === BINARY && f.sub === undefined);
  const cases: string[] = [];
  for (let number = 2; number <= 128; number++) {
    const f = set.fields[number];
    if (f === undefined) continue;
    const body = [...fieldCode(f, number, textDialect).split('\n'), 'break;'].map((line) => `          ${line}`);
    cases.push([`        case ${int(number)}: {`, ...body, '        }'].join('\n'));
  }
  const bitmapBytes = set.bitmapHex ? 16 : 8;
  const half = set.bitmapHex ? 8 : 4;
  const word = (at: string) => (set.bitmapHex ? `hexBitmapWord(buf, ${at})` : `((buf[${at}] << 24) | (buf[${at} + 1] << 16) | (buf[${at} + 2] << 8) | buf[${at} + 3])`);
  return `'use strict';
const { FAULT, DIGITS1, DIGITS2, DIGITS3, DIGITS4, BCD_VALUE, allInRange, allInClass, allTrack2, bcdDigits, bcdValue, decodeOneField, fieldText, hexBytes, hexBitmapWord, highestField, newFields, textDigits, viewOf } = H;
return function decodeGenerated(buf) {
  const end = buf.length;
  ${hasBinaryViews ? 'let arrayBuffer; // buf.buffer, read once if a binary field needs it (the getter is not cheap)\n  const base = buf.byteOffset;' : ''}
${mtiCode(compiled.mtiEncoding)}
  ${textDialect ? "const s = buf.toString('latin1');" : ''}
  let pos = ${compiled.mtiEncoding === BCD ? 2 : 4};
  if (pos + ${int(bitmapBytes)} > end) throw FAULT;
  const w0 = ${word('pos')};
  const w1 = ${word(`pos + ${int(half)}`)};
  pos += ${int(bitmapBytes)};
  let w2 = 0;
  let w3 = 0;
  if ((w0 & 0x80000000) !== 0) {
    ${set.hasSecondary ? '' : 'throw FAULT;'}
    if (pos + ${int(bitmapBytes)} > end) throw FAULT;
    w2 = ${word('pos')};
    w3 = ${word(`pos + ${int(half)}`)};
    pos += ${int(bitmapBytes)};
  }
  const out = newFields(highestField(w0 & 0x7fffffff, w1, w2, w3));
  // The pending run of ASCII text not yet checked, and the byte range it must hold (runLow 0: none).
  let runLow = 0;
  let runHigh = 0;
  let runStart = 0;
  let runEnd = 0;
  for (let k = 0; k < 4; k++) {
    let word = k === 0 ? w0 & 0x7fffffff : k === 1 ? w1 : k === 2 ? w2 : w3;
    while (word !== 0) {
      const bit = Math.clz32(word);
      word &= ~(1 << (31 - bit));
      switch (k * 32 + bit + 1) {
${cases.join('\n')}
        default:
          throw FAULT;
      }
    }
  }
  if (runLow !== 0 && !allInRange(runStart, runEnd, runLow, runHigh)) throw FAULT;
  if (pos !== end) throw FAULT;
  return { mti, fields: out };
};
`;
}

function mtiCode(encoding: number): string {
  if (encoding === BCD) return `  if (end < 2) throw FAULT;\n  const mti = bcdDigits(buf, 0, 2, 'mti', 'MTI');`;
  if (encoding === EBCDIC) return `  if (end < 4) throw FAULT;\n  const mti = textDigits(buf, 0, true, 'mti', 'MTI');`;
  return `  if (end < 4) throw FAULT;
  const m0 = buf[0] - 48, m1 = buf[1] - 48, m2 = buf[2] - 48, m3 = buf[3] - 48;
  if ((m0 >>> 0) > 9 || (m1 >>> 0) > 9 || (m2 >>> 0) > 9 || (m3 >>> 0) > 9) throw FAULT;
  const mti = DIGITS4[m0 * 1000 + m1 * 100 + m2 * 10 + m3];`;
}

/** The statements that read field `number` at `pos` into out[number] and move `pos` past it. */
function fieldCode(f: CompiledField, number: number, textDialect: boolean): string {
  const n = int(number);
  if (f.encoding === EBCDIC || f.lengthEncoding === EBCDIC || f.content === XN || f.sub !== undefined) {
    return `pos = decodeOneField(buf, pos, end, F[${n}], out, ${n});`;
  }
  const lines: string[] = [];
  // `len`: the field's length in its own units (digits, characters or bytes).
  let len: string;
  if (f.lengthDigits === 0) {
    len = int(f.maxLength);
  } else {
    lines.push(...prefixCode(f));
    len = 'len';
  }
  const size = f.encoding === BCD ? (f.lengthDigits === 0 ? int((f.maxLength + 1) >> 1) : '((len + 1) >> 1)') : f.encoding === HEX ? (f.lengthDigits === 0 ? int(f.maxLength * 2) : '(len * 2)') : len;
  lines.push(`if (pos + ${size} > end) throw FAULT;`);
  if (f.content === B) {
    // A view, not a copy (like emv/tlv): copy it if the input buffer will be reused.
    lines.push(f.encoding === BINARY ? `out[${n}] = viewOf(arrayBuffer ??= buf.buffer, base + pos, ${size});` : `out[${n}] = hexBytes(buf, pos, ${len}, F[${n}]);`);
  } else if (f.encoding === BCD) {
    lines.push(...(shortBcdCode(f, n) ?? [`out[${n}] = bcdValue(buf, pos, ${len}, F[${n}]);`]));
  } else {
    lines.push(...asciiTextCode(f, n, size, textDialect));
  }
  lines.push(`pos += ${size};`);
  return lines.join('\n');
}

/**
 * Fixed numeric fields of one to four BCD bytes (dates, times, processing codes,
 * STANs, entry modes): built from the shared 2-, 3- and 4-digit strings, which is
 * about twice as fast as String.fromCharCode with a character per argument.
 * Undefined for any other field (bcdValue reads those).
 */
function shortBcdCode(f: CompiledField, n: string): string[] | undefined {
  if (f.content !== N || f.lengthDigits !== 0 || f.maxLength > 8) return undefined;
  const bytes = (f.maxLength + 1) >> 1;
  const names = Array.from({ length: bytes }, (_, i) => `v${i}`);
  const lines = [`const ${names.map((v, i) => `${v} = BCD_VALUE[buf[pos + ${int(i)}]]`).join(', ')};`, `if (${names.map((v) => `${v} === 255`).join(' || ')}) throw FAULT;`];
  if ((f.maxLength & 1) === 1) {
    // The filler nibble must be 0: on the left, the first byte is then 0-9; on the right, the last byte's value is a multiple of 10.
    lines.push(f.padLeft ? 'if (v0 > 9) throw FAULT;' : `if (v${bytes - 1} % 10 !== 0) throw FAULT;`);
  }
  const value = (): string => {
    switch (f.maxLength) {
      case 1: return f.padLeft ? 'DIGITS1[v0]' : 'DIGITS1[v0 / 10]';
      case 2: return 'DIGITS2[v0]';
      case 3: return f.padLeft ? 'DIGITS3[v0 * 100 + v1]' : 'DIGITS3[v0 * 10 + v1 / 10]';
      case 4: return 'DIGITS4[v0 * 100 + v1]';
      case 5: return f.padLeft ? 'DIGITS3[v0 * 100 + v1] + DIGITS2[v2]' : 'DIGITS4[v0 * 100 + v1] + DIGITS1[v2 / 10]';
      case 6: return 'DIGITS4[v0 * 100 + v1] + DIGITS2[v2]';
      case 7: return f.padLeft ? 'DIGITS3[v0 * 100 + v1] + DIGITS4[v2 * 100 + v3]' : 'DIGITS4[v0 * 100 + v1] + DIGITS3[v2 * 10 + v3 / 10]';
      default: return 'DIGITS4[v0 * 100 + v1] + DIGITS4[v2 * 100 + v3]';
    }
  };
  lines.push(`out[${n}] = ${value()};`);
  return lines;
}

/** Reads and checks a variable field's length prefix into `len` and moves `pos` past it. */
function prefixCode(f: CompiledField): string[] {
  const bytes = f.prefixBytes;
  const lines = [`if (pos + ${int(bytes)} > end) throw FAULT;`];
  const at = (i: number) => (i === 0 ? 'buf[pos]' : `buf[pos + ${int(i)}]`);
  const names = Array.from({ length: bytes }, (_, i) => `p${i}`);
  if (f.lengthEncoding === ASCII) {
    lines.push(`const ${names.map((p, i) => `${p} = ${at(i)} - 48`).join(', ')};`);
    lines.push(`if (${names.map((p) => `(${p} >>> 0) > 9`).join(' || ')}) throw FAULT;`);
    lines.push(`const len = ${names.reduce((sum, p) => (sum === '' ? p : `(${sum}) * 10 + ${p}`), '')};`);
  } else if (f.lengthEncoding === BCD) {
    lines.push(`const ${names.map((p, i) => `${p} = BCD_VALUE[${at(i)}]`).join(', ')};`);
    lines.push(`if (${names.map((p) => `${p} === 255`).join(' || ')}) throw FAULT;`);
    lines.push(`const len = ${names.reduce((sum, p) => (sum === '' ? p : `(${sum}) * 100 + ${p}`), '')};`);
  } else {
    // Binary, big-endian.
    lines.push(`const len = ${names.map((_, i) => at(i)).reduce((sum, b) => (sum === '' ? b : `(${sum}) * 256 + ${b}`), '')};`);
  }
  lines.push(`if (len > ${int(f.maxLength)}) throw FAULT;`, `pos += ${int(bytes)};`);
  return lines;
}

/** Checks (now or in a run) and reads `size` ASCII characters at `pos` into out[n]. */
function asciiTextCode(f: CompiledField, n: string, size: string, textDialect: boolean): string[] {
  const text = textDialect ? `s.substring(pos, pos + ${size})` : `fieldText(buf, pos, pos + ${size})`;
  if (f.content === N && f.lengthDigits === 0 && f.maxLength <= 4) {
    // Short codes (entry mode, currency, dates) come from the shared tables, checked digit by digit.
    const digits = Array.from({ length: f.maxLength }, (_, i) => `d${i}`);
    return [
      `const ${digits.map((d, i) => `${d} = buf[pos + ${int(i)}] - 48`).join(', ')};`,
      `if (${digits.map((d) => `(${d} >>> 0) > 9`).join(' || ')}) throw FAULT;`,
      `out[${n}] = DIGITS${int(f.maxLength)}[${digits.reduce((sum, d) => (sum === '' ? d : `(${sum}) * 10 + ${d}`), '')}];`,
    ];
  }
  if (f.content === N || f.content === ANS) {
    const [low, high] = f.content === N ? [0x30, 0x39] : [0x20, 0x7e];
    return [
      `if (runLow === ${int(low)} && runEnd === pos) {`,
      `  runEnd = pos + ${size};`,
      '} else {',
      '  if (runLow !== 0 && !allInRange(runStart, runEnd, runLow, runHigh)) throw FAULT;',
      `  runLow = ${int(low)};`,
      `  runHigh = ${int(high)};`,
      '  runStart = pos;',
      `  runEnd = pos + ${size};`,
      '}',
      `out[${n}] = ${text};`,
    ];
  }
  if (f.content === Z) return [`if (!allTrack2(pos, pos + ${size})) throw FAULT;`, `out[${n}] = ${text};`];
  if (f.content !== AN) unreachable(f);
  // an: letters, digits and space. Mostly digits in practice (RRNs), which the word check takes.
  return [`if (!allInRange(pos, pos + ${size}, 0x30, 0x39) && !allInClass(pos, pos + ${size}, ${int(LETTER_OR_SPACE | DIGIT)})) throw FAULT;`, `out[${n}] = ${text};`];
}

/** An integer for the generated source; anything else is a bug in the compiler, not data to paste. */
function int(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`ISO 8583 fast decoder: ${String(value)} is not an integer`);
  return String(value);
}

function unreachable(f: CompiledField): never {
  throw new Error(`ISO 8583 fast decoder: no ASCII reader for content ${f.content} of field ${f.path}`);
}
