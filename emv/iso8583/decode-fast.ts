/**
 * The generated ISO 8583 decoder: for each dialect, the first message it decodes has
 * a decoding function written for it, the way ajv compiles a JSON schema. The function
 * is the dialect's field table turned into straight code: one `case` per field, made of
 * its prefixer's snippet and its interpreter's snippet (prefixers/, interpreters/) with
 * the lengths as literal numbers, so nothing is looked up or branched on per field but
 * what the message itself decides. This is what makes decoding several times faster
 * than a table-walking decoder (`npm run bench -- iso8583` measures it).
 *
 * The generated code only decides "this message is well formed" or "it is not": any
 * fault throws FAULT (or a PosError from an interpreter's reader), and decodeIso8583
 * then decodes the message again with the checking decoder (decode-checked.ts), whose
 * error names the first fault's field and offset. So a message is only ever returned
 * after every byte of it was checked. Only integers from the compiled (checked) dialect
 * are written into the source; names and other strings from a dialect never are.
 * fastDecoderSource() shows it.
 */
import { HEX_VALUE } from './charsets.js';
import { ASCII } from './codes.js';
import type { CompiledDialect, CompiledField, CompiledFieldSet } from './compile.js';
import { highestField, newFields } from './fields-array.js';
import { INTERPRETERS } from './interpreters/index.js';
import { runSource } from './interpreters/ascii.js';
import { ALL_PREFIXERS } from './prefixers/index.js';
import { int } from './prefixers/prefixer.js';
import type { IsoMessage } from './message.js';

export type FastDecoder = (buf: Buffer) => IsoMessage;

/** Thrown by generated code at a fault; carries nothing (the checking decoder describes the fault). */
export const FAULT = new Error('ISO 8583 fast decoder: the message is not well formed');

/** Eight ASCII hex characters at buf[pos] as an int32 bitmap word. */
function hexBitmapWord(buf: Buffer, pos: number): number {
  const h0 = HEX_VALUE[buf[pos]!]!,
    h1 = HEX_VALUE[buf[pos + 1]!]!,
    h2 = HEX_VALUE[buf[pos + 2]!]!,
    h3 = HEX_VALUE[buf[pos + 3]!]!;
  const h4 = HEX_VALUE[buf[pos + 4]!]!,
    h5 = HEX_VALUE[buf[pos + 5]!]!,
    h6 = HEX_VALUE[buf[pos + 6]!]!,
    h7 = HEX_VALUE[buf[pos + 7]!]!;
  if ((h0 | h1 | h2 | h3 | h4 | h5 | h6 | h7) > 15) throw FAULT; // 255 marks a non-hex byte
  return (h0 << 28) | (h1 << 24) | (h2 << 20) | (h3 << 16) | (h4 << 12) | (h5 << 8) | (h6 << 4) | h7;
}

/** What generated code may call, passed in as `H`: the decoder's own few, then every interpreter's and prefixer's. */
const HELPERS: Record<string, unknown> = { FAULT, hexBitmapWord, highestField, newFields };
for (const module of [...INTERPRETERS, ...ALL_PREFIXERS]) {
  for (const [name, helper] of Object.entries(module.helpers)) {
    if (name in HELPERS && HELPERS[name] !== helper && !sameTable(HELPERS[name], helper))
      throw new Error(`ISO 8583 fast decoder: two helpers are named ${name}`);
    HELPERS[name] ??= helper;
  }
}
const HELPER_NAMES = Object.keys(HELPERS).join(', ');

/** Two modules may share a table by name when it holds the same values (e.g. DIGITS3). */
function sameTable(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((value, i) => value === b[i]);
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
    const generated = generate(compiled);
    // The source holds only integers from the checked dialect (see fastDecoderSource).
    // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- generated code is the point
    decoder = new Function('H', 'F', generated.source)(HELPERS, generated.fields) as FastDecoder;
    decoders.set(compiled, decoder);
  }
  lastCompiled = compiled;
  lastDecoder = decoder;
  return decoder;
}

/** The JavaScript source of a dialect's generated decoder (the body of `function (H, F)`). */
export function fastDecoderSource(compiled: CompiledDialect): string {
  return generate(compiled).source;
}

/** The source, and the compiled fields it refers to as F[i]. */
function generate(compiled: CompiledDialect): { source: string; fields: CompiledField[] } {
  const fields: CompiledField[] = [];
  const sets: string[] = [];
  const textDialect = compiled.mtiEncoding === ASCII;
  const site = (f: CompiledField, into: string, len: string, size: string) => ({
    into,
    len,
    size,
    field: `F[${int(fields.push(f) - 1)}]`,
    textDialect,
  });
  const setCode = (set: CompiledFieldSet): string => {
    const index = sets.length;
    sets.push('');
    const cases: string[] = [];
    for (let number = 2; number <= 128; number++) {
      const f = set.fields[number];
      if (f === undefined) continue;
      const body = [...fieldCode(f, `out[${int(number)}]`), 'break;'].map((line) => `          ${line}`);
      cases.push([`        case ${int(number)}: {`, ...body, '        }'].join('\n'));
    }
    sets[index] = setSource(index, set, cases);
    return `set${int(index)}`;
  };
  const fieldCode = (f: CompiledField, into: string): string[] => {
    const lines: string[] = [];
    let len = int(f.maxLength);
    if (f.prefixBytes !== 0) {
      lines.push(
        `if (pos + ${int(f.prefixBytes)} > end) throw FAULT;`,
        ...f.prefixer.snippet(f),
        `if (len > ${int(f.maxLength)}) throw FAULT;`,
        `pos += ${int(f.prefixBytes)};`,
      );
      len = 'len';
    }
    const size = f.prefixBytes === 0 ? int(f.interpreter.dataBytes(f.maxLength)) : f.interpreter.sizeSource(len);
    lines.push(`if (pos + ${size} > end) throw FAULT;`);
    if (f.sub !== undefined) lines.push(`${into} = ${setCode(f.sub)}(buf, s, pos, pos + ${size});`);
    else lines.push(...f.interpreter.snippet(f, site(f, into, len, size)));
    lines.push(`pos += ${size};`);
    return lines;
  };
  setCode(compiled.body);
  const mtiLines = fieldCode(compiled.mti, 'mti').map((line) => `  ${line}`);
  const source = `'use strict';
const { ${HELPER_NAMES} } = H;
const scan = newAsciiScanner();
${sets.join('\n')}
return function decodeGenerated(buf) {
  const end = buf.length;
  let pos = 0;
  let mti;
${mtiLines.join('\n')}
  const s = ${textDialect ? "buf.toString('latin1')" : "''"};
  scan.begin(buf);
  try {
    return { mti, fields: set0(buf, s, pos, end) };
  } finally {
    scan.release();
  }
};
`;
  return { source, fields };
}

/** A function that reads a bitmap and the fields it names, and must end exactly at `end`. */
function setSource(index: number, set: CompiledFieldSet, cases: string[]): string {
  const bitmapBytes = int(set.bitmapHex ? 16 : 8);
  const half = int(set.bitmapHex ? 8 : 4);
  const word = (at: string) =>
    set.bitmapHex
      ? `hexBitmapWord(buf, ${at})`
      : `((buf[${at}] << 24) | (buf[${at} + 1] << 16) | (buf[${at} + 2] << 8) | buf[${at} + 3])`;
  return `function set${int(index)}(buf, s, start, end) {
  let pos = start;
  if (pos + ${bitmapBytes} > end) throw FAULT;
  const w0 = ${word('pos')};
  const w1 = ${word(`pos + ${half}`)};
  pos += ${bitmapBytes};
  let w2 = 0;
  let w3 = 0;
  if ((w0 & 0x80000000) !== 0) {
    ${set.hasSecondary ? '' : 'throw FAULT;'}
    if (pos + ${bitmapBytes} > end) throw FAULT;
    w2 = ${word('pos')};
    w3 = ${word(`pos + ${half}`)};
    pos += ${bitmapBytes};
  }
  const out = newFields(highestField(w0 & 0x7fffffff, w1, w2, w3));
  ${runSource.declare}
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
  ${runSource.end}
  if (pos !== end) throw FAULT;
  return out;
}
`;
}
