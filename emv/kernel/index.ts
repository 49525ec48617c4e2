/** The EMV contact kernel. See kernel.ts for the flow and types.ts for its inputs and result. */
export { runTransaction, DE55_TAGS, FINAL_DE55_TAGS } from './kernel.js';
export { PinPadNotWorking } from './cvm.js';
export { CardChannel, commandApdu, type CardTransmit, type CardResponse } from './apdu.js';
export { parseDol, buildDolData, fitToLength, type DolEntry } from './dol.js';
export { TVR, TSI, tvrBitsOf, tsiBitsOf, type TvrBit, type TsiBit } from './tvr.js';
export { buildCandidateList, orderCandidates, matchTerminalAid } from './selection.js';
export type * from './types.js';
