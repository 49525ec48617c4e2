/** Contactless (EMV Contactless Books A and B): Entry Point and the contract its kernels implement. */
export * from './types.js';
export { EntryPoint, type EntryPointOptions } from './entry-point.js';
export {
  preProcess,
  preProcessCombination,
  noCombinationAllowed,
  oneCurrencyUnit,
  type PreProcessedCombination,
} from './pre-processing.js';
export {
  PPSE_NAME,
  parsePpseFci,
  requestedKernelId,
  buildCandidates,
  orderCandidates,
  selectPpse,
  selectFirstCandidate,
  selectPpseCommand,
  selectAidCommand,
  type PpseDirectoryEntry,
  type Candidate,
  type PpseResult,
  type SelectedCombination,
} from './ppse.js';
export {
  entryPointOutcome,
  tryAnotherInterfaceOutcome,
  endApplicationOutcome,
  readerEventOutcome,
  outcomeAction,
  type OutcomeAction,
  type ReaderEvent,
} from './outcome.js';
