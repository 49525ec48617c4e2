/**
 * The terminal's contactless side as a payment uses it: Entry Point with the two kernels
 * (Visa-style C-3 and Mastercard-style C-2) over the configured combinations (`emv.contactless`).
 * One per process: the C-2 kernel keeps the torn transaction log a card removed too early is
 * recovered from, so a payment service (or `codpos sim pay`) builds it once and keeps it.
 */
import { contactlessCombinations } from '../../config/contactless.js';
import type { Config } from '../../config/schema.js';
import { EntryPoint, type ContactlessKernel, type KernelId } from '../../emv/contactless/index.js';
import { KernelC2 } from '../../emv/contactless/kernel-c2.js';
import { KernelC3 } from '../../emv/contactless/kernel-c3.js';
import type { TerminalConfig } from '../../emv/kernel/index.js';
import type { ContactlessCombination } from '../../emv/contactless/types.js';

export interface ContactlessReaderOptions {
  /** The reader's monotonic clock in microseconds, for C-2's relay resistance timing (default process.hrtime). */
  clockMicros?: () => number;
}

/**
 * Entry Point over both kernels with the configured combinations; undefined when contactless is
 * disabled. `using` gives other combinations (a parameter package's) and the kernels of an Entry
 * Point built before, so a rebuild for new parameters keeps C-2's torn transaction log.
 */
export function contactlessEntryPoint(
  config: Pick<Config, 'emv'>,
  terminal: TerminalConfig,
  options: ContactlessReaderOptions = {},
  using: { combinations?: readonly ContactlessCombination[]; kernels?: Map<KernelId, ContactlessKernel> } = {},
): EntryPoint | undefined {
  if (!config.emv.contactless.enabled) return undefined;
  const kernels = using.kernels ?? contactlessKernels(options);
  return new EntryPoint({ kernels, combinations: using.combinations ?? contactlessCombinations(config), terminal });
}

/** The two kernels, one of each per process. */
export function contactlessKernels(options: ContactlessReaderOptions = {}): Map<KernelId, ContactlessKernel> {
  return new Map<KernelId, ContactlessKernel>([
    [3, new KernelC3()],
    [2, new KernelC2(options.clockMicros ? { clockMicros: options.clockMicros } : {})],
  ]);
}
