/** Which interpreter a field spec's content and encoding name (compile.ts checks the pair is allowed). */
import type { ContentType, DataEncoding } from '../spec.js';
import { asciiInterpreter } from './ascii.js';
import { bcdInterpreter } from './bcd.js';
import { binaryInterpreter } from './binary.js';
import { ebcdicInterpreter } from './ebcdic.js';
import { hexInterpreter } from './hex.js';
import type { Interpreter } from './interpreter.js';
import { signedAmountAscii, signedAmountBcd, signedAmountEbcdic } from './signed-amount.js';

export type { Interpreter, TextInterpreter, TextSource, SnippetSite } from './interpreter.js';

/**
 * The interpreter of each data encoding, in the order messages list them, and the
 * content types it carries. Adding an encoding is its module and a line here.
 */
const BY_ENCODING: Readonly<
  Record<DataEncoding, { interpreter: Interpreter; contents: readonly ContentType[]; signedAmount?: Interpreter }>
> = {
  bcd: { interpreter: bcdInterpreter, contents: ['n', 'z', 'xn'], signedAmount: signedAmountBcd },
  ascii: { interpreter: asciiInterpreter, contents: ['n', 'z', 'xn', 'an', 'ans'], signedAmount: signedAmountAscii },
  ebcdic: { interpreter: ebcdicInterpreter, contents: ['n', 'z', 'xn', 'an', 'ans'], signedAmount: signedAmountEbcdic },
  binary: { interpreter: binaryInterpreter, contents: ['b'] },
  hex: { interpreter: hexInterpreter, contents: ['b'] },
};

/** Every interpreter, for the generated decoder's helper table. */
export const INTERPRETERS: readonly Interpreter[] = Object.values(BY_ENCODING).flatMap((entry) =>
  entry.signedAmount ? [entry.interpreter, entry.signedAmount] : [entry.interpreter],
);

/** The encodings that can carry `content`. */
export function encodingsFor(content: ContentType): DataEncoding[] {
  return (Object.keys(BY_ENCODING) as DataEncoding[]).filter((encoding) =>
    BY_ENCODING[encoding].contents.includes(content),
  );
}

/** The interpreter of `content` in `encoding` (compile.ts checks the pair with encodingsFor first). */
export function interpreterFor(content: ContentType, encoding: DataEncoding): Interpreter {
  const entry = BY_ENCODING[encoding];
  return content === 'xn' ? entry.signedAmount! : entry.interpreter;
}
