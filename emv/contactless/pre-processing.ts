/**
 * Pre-processing (EMV Contactless Book B 3.1.1): before the card is asked anything, each
 * combination the terminal supports is checked against the amount, giving the indicators its
 * kernel reads (status check, zero amount, floor and CVM limits exceeded, not allowed) and, for
 * a Visa-style combination, a copy of its TTQ with the online-cryptogram and CVM bits set.
 * Pure: the amount and the configuration in, the indicators out.
 */
import type { TerminalApplication, TransactionInput } from '../kernel/types.js';
import type { ContactlessCombination, PreProcessingIndicators } from './types.js';

/** TTQ byte 1 bit 4: an offline-only reader (it cannot send a zero amount online). */
const TTQ_OFFLINE_ONLY_READER = 0x08;
/** TTQ byte 2 bit 8: online cryptogram required. */
const TTQ_ONLINE_CRYPTOGRAM_REQUIRED = 0x80;
/** TTQ byte 2 bit 7: CVM required. */
const TTQ_CVM_REQUIRED = 0x40;

export interface PreProcessedCombination {
  combination: ContactlessCombination;
  indicators: PreProcessingIndicators;
}

/** One unit of the currency in minor units (10^exponent): the amount that asks for a status check. */
export function oneCurrencyUnit(transaction: Pick<TransactionInput, 'currencyExponent'>): number {
  return 10 ** (transaction.currencyExponent ?? 2);
}

/**
 * Book B 3.1.1.1 to 3.1.1.10 for one combination. `terminalFloorLimit` is the terminal floor
 * limit (9F1B) of the same AID, which Book B 3.1.1.5 uses when the combination has no reader
 * contactless floor limit of its own.
 */
export function preProcessCombination(
  combination: ContactlessCombination,
  transaction: Pick<TransactionInput, 'amount' | 'currencyExponent'>,
  terminalFloorLimit?: number,
): PreProcessingIndicators {
  const amount = transaction.amount;
  const floorLimit = combination.floorLimit ?? terminalFloorLimit;
  // 3.1.1.1: the TTQ copy starts from the configured value with the two bits pre-processing owns cleared.
  const ttq = combination.ttq === undefined ? undefined : Buffer.from(combination.ttq, 'hex');
  if (ttq && ttq.length >= 2) ttq[1] = ttq[1]! & ~(TTQ_ONLINE_CRYPTOGRAM_REQUIRED | TTQ_CVM_REQUIRED);

  const statusCheckRequested = combination.statusCheckSupported === true && amount === oneCurrencyUnit(transaction);
  let contactlessApplicationNotAllowed = false;
  let zeroAmount = false;
  if (amount === 0) {
    if (combination.zeroAmountAllowed === true) zeroAmount = true;
    else contactlessApplicationNotAllowed = true;
  }
  if (combination.transactionLimit !== undefined && amount >= combination.transactionLimit) {
    contactlessApplicationNotAllowed = true;
  }
  const floorLimitExceeded = floorLimit !== undefined && amount > floorLimit;
  const cvmRequiredLimitExceeded = combination.cvmRequiredLimit !== undefined && amount >= combination.cvmRequiredLimit;

  if (ttq && ttq.length >= 2) {
    if (floorLimitExceeded || statusCheckRequested) ttq[1] = ttq[1]! | TTQ_ONLINE_CRYPTOGRAM_REQUIRED;
    if (zeroAmount) {
      // A zero amount must go online; a reader that cannot go online cannot take it contactless.
      if ((ttq[0]! & TTQ_OFFLINE_ONLY_READER) === 0) ttq[1] = ttq[1]! | TTQ_ONLINE_CRYPTOGRAM_REQUIRED;
      else contactlessApplicationNotAllowed = true;
    }
    if (cvmRequiredLimitExceeded) ttq[1] = ttq[1]! | TTQ_CVM_REQUIRED;
  }

  const indicators: PreProcessingIndicators = {
    statusCheckRequested,
    contactlessApplicationNotAllowed,
    zeroAmount,
    cvmRequiredLimitExceeded,
    floorLimitExceeded,
  };
  if (ttq) indicators.ttq = ttq;
  return indicators;
}

/**
 * Every combination with its indicators, in configuration order. `terminalApplications` (the
 * contact side's list, TerminalConfig.applications) lends its floor limit to a combination of
 * the same AID that has none.
 */
export function preProcess(
  combinations: readonly ContactlessCombination[],
  transaction: Pick<TransactionInput, 'amount' | 'currencyExponent'>,
  terminalApplications: readonly Pick<TerminalApplication, 'aid' | 'floorLimit'>[] = [],
): PreProcessedCombination[] {
  return combinations.map((combination) => {
    const sameAid = terminalApplications.find((app) => app.aid.toUpperCase() === combination.aid.toUpperCase());
    return { combination, indicators: preProcessCombination(combination, transaction, sameAid?.floorLimit) };
  });
}

/** Book B 3.1.1.11: when no combination is allowed, the transaction cannot be contactless. */
export function noCombinationAllowed(preProcessed: readonly PreProcessedCombination[]): boolean {
  return preProcessed.every((entry) => entry.indicators.contactlessApplicationNotAllowed);
}
