/**
 * ASCII characters, one byte each (jPOS AsciiInterpreter), for every text content:
 * numeric (n), track (z), an and ans. Each byte must be in the content's classes.
 *
 * The generated decoder checks numeric and printable text in runs: back-to-back fields
 * of one kind (an ASCII 0200 has ten fixed numeric fields in a row) are checked together,
 * four bytes at a time (ascii-scan.ts), when the run ends. The run lives in the generated
 * function's locals (runSource below declares and ends it).
 */
import { AsciiScanner } from '../ascii-scan.js';
import { CHAR_CLASS, DIGIT, DIGITS3, DIGITS4, LETTER_OR_SPACE } from '../charsets.js';
import { AN, ANS, N, XN, Z } from '../codes.js';
import type { CompiledField } from '../compile.js';
import { int } from '../prefixers/prefixer.js';
import { badCharRead, badCharToWrite, encodeText, firstBadChar } from './content.js';
import type { SnippetSite, TextInterpreter } from './interpreter.js';
import { latin1, shortLatin1 } from './text-source.js';

export const asciiInterpreter: TextInterpreter = {
  name: 'ascii',
  dataBytes: (length) => length,
  sizeSource: (len) => len,
  encode: (value, f, out, pos) => encodeText(value, f, out, pos, writeAscii),
  read: (buf, pos, length, f, source) => readAscii(buf, pos, length, f, source),
  writeText: writeAscii,
  readText: readAscii,
  snippet: asciiSnippet,
  helpers: { DIGITS3, DIGITS4, latin1, newAsciiScanner: () => new AsciiScanner() },
};

/** Writes text[from, from + count) as ASCII at out[pos], each character checked against the field's classes. */
function writeAscii(text: string, from: number, count: number, f: CompiledField, out: Buffer, pos: number): number {
  const end = from + count;
  if (count > 32 && from === 0) {
    // Long text: one regex pass and one native copy beat a JS loop.
    if (!f.pattern.test(text)) throw badCharToWrite(firstBadChar(text, 0, f), f);
    return pos + out.write(text, pos, count, 'latin1');
  }
  if (f.content === N || f.content === XN) {
    for (let i = from; i < end; i++) {
      const c = text.charCodeAt(i);
      if ((c - 48) >>> 0 > 9) throw badCharToWrite(i, f);
      out[pos++] = c;
    }
    return pos;
  }
  const allowed = f.charClass;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (CHAR_CLASS[c]! & allowed) === 0) throw badCharToWrite(i, f);
    out[pos++] = c;
  }
  return pos;
}

/** `count` ASCII characters at buf[pos], each in the field's classes. */
function readAscii(
  buf: Buffer,
  pos: number,
  count: number,
  f: CompiledField,
  source: { text(buf: Buffer, start: number, end: number): string },
): string {
  const allowed = f.charClass;
  const end = pos + count;
  for (let i = pos; i < end; i++) if ((CHAR_CLASS[buf[i]!]! & allowed) === 0) throw badCharRead(buf, i, false, f);
  return count < 3 ? shortLatin1(buf, pos, count) : source.text(buf, pos, end);
}

/** The generated decoder's locals for a pending run of unchecked text (runLow 0: none), and the check that ends it. */
export const runSource = {
  declare: 'let runLow = 0, runHigh = 0, runStart = 0, runEnd = 0;',
  end: 'if (runLow !== 0 && !scan.allInRange(runStart, runEnd, runLow, runHigh)) throw FAULT;',
};

function asciiSnippet(f: CompiledField, site: SnippetSite): string[] {
  const { into, size } = site;
  const text = site.textDialect ? `s.substring(pos, pos + ${size})` : `latin1(buf, pos, pos + ${size})`;
  if (f.content === N && f.lengthDigits === 0 && f.maxLength >= 3 && f.maxLength <= 4) {
    // Short codes (entry mode, currency, dates) come from the shared tables, checked digit by digit.
    const digits = Array.from({ length: f.maxLength }, (_, i) => `d${i}`);
    return [
      `const ${digits.map((d, i) => `${d} = buf[pos + ${int(i)}] - 48`).join(', ')};`,
      `if (${digits.map((d) => `(${d} >>> 0) > 9`).join(' || ')}) throw FAULT;`,
      `${into} = DIGITS${int(f.maxLength)}[${digits.reduce((sum, d) => (sum === '' ? d : `(${sum}) * 10 + ${d}`), '')}];`,
    ];
  }
  if (f.content === N || f.content === ANS) {
    const [low, high] = f.content === N ? [0x30, 0x39] : [0x20, 0x7e];
    return [
      `if (runLow === ${int(low)} && runEnd === pos) {`,
      `  runEnd = pos + ${size};`,
      '} else {',
      `  ${runSource.end}`,
      `  runLow = ${int(low)};`,
      `  runHigh = ${int(high)};`,
      '  runStart = pos;',
      `  runEnd = pos + ${size};`,
      '}',
      `${into} = ${text};`,
    ];
  }
  if (f.content === Z) return [`if (!scan.allTrack2(pos, pos + ${size})) throw FAULT;`, `${into} = ${text};`];
  if (f.content !== AN)
    throw new Error(`ISO 8583 fast decoder: no ASCII reader for content ${f.content} of field ${f.path}`);
  // an: letters, digits and space. Mostly digits in practice (RRNs), which the word check takes.
  return [
    `if (!scan.allInRange(pos, pos + ${size}, 0x30, 0x39) && !scan.allInClass(pos, pos + ${size}, ${int(LETTER_OR_SPACE | DIGIT)})) throw FAULT;`,
    `${into} = ${text};`,
  ];
}
