/**
 * The contactless combinations Entry Point is configured with (EMV Contactless Book B 3.1.1),
 * from `emv.contactless`: the config's names become the contract's (emv/contactless/types.ts),
 * hex is upper case as the kernels compare it, and a limit the config leaves out stays out
 * (Book B: an absent limit is never exceeded).
 */
import type { ContactlessCombination } from '../emv/contactless/types.js';
import type { Config } from './schema.js';

/** The combinations in the order configured; none when contactless is disabled. */
export function contactlessCombinations(config: Pick<Config, 'emv'>): ContactlessCombination[] {
  const settings = config.emv.contactless;
  if (!settings.enabled) return [];
  return settings.combinations.map((c) => {
    const combination: ContactlessCombination = {
      aid: c.aid.toUpperCase(),
      kernelId: c.kernelId,
      statusCheckSupported: c.statusCheck,
      zeroAmountAllowed: c.zeroAmountAllowed,
    };
    if (c.transactionLimit !== undefined) combination.transactionLimit = c.transactionLimit;
    if (c.floorLimit !== undefined) combination.floorLimit = c.floorLimit;
    if (c.cvmRequiredLimit !== undefined) combination.cvmRequiredLimit = c.cvmRequiredLimit;
    if (c.ttq !== undefined) combination.ttq = c.ttq.toUpperCase();
    if (c.tacDenial !== undefined) combination.tacDenial = c.tacDenial.toUpperCase();
    if (c.tacOnline !== undefined) combination.tacOnline = c.tacOnline.toUpperCase();
    if (c.tacDefault !== undefined) combination.tacDefault = c.tacDefault.toUpperCase();
    if (c.applicationVersion !== undefined) combination.applicationVersion = c.applicationVersion.toUpperCase();
    if (c.kernelId === 2) combination.magStripeModeSupported = c.magStripeMode;
    if (c.relayResistance !== undefined) combination.relayResistance = { ...c.relayResistance };
    return combination;
  });
}
