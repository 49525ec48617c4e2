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

/** Every interpreter, for the generated decoder's helper table. */
export const INTERPRETERS: readonly Interpreter[] = [
  bcdInterpreter,
  asciiInterpreter,
  ebcdicInterpreter,
  binaryInterpreter,
  hexInterpreter,
  signedAmountBcd,
  signedAmountAscii,
  signedAmountEbcdic,
];

export function interpreterFor(content: ContentType, encoding: DataEncoding): Interpreter {
  if (content === 'xn') return encoding === 'bcd' ? signedAmountBcd : encoding === 'ebcdic' ? signedAmountEbcdic : signedAmountAscii;
  switch (encoding) {
    case 'bcd':
      return bcdInterpreter;
    case 'ebcdic':
      return ebcdicInterpreter;
    case 'binary':
      return binaryInterpreter;
    case 'hex':
      return hexInterpreter;
    default:
      return asciiInterpreter;
  }
}
