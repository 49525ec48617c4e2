/**
 * EMV Entry Point (Contactless Book B): the part of the reader that finds, for a tapped card,
 * the combination (AID + kernel) to run and hands the card to that kernel.
 *
 *   A  pre-processing (pre-processing.ts): indicators per combination from the amount
 *   B  protocol activation: the reader's; Entry Point is given the card in the field (a target)
 *   C  combination selection (ppse.ts): SELECT PPSE, candidate list, SELECT the AID
 *   D  kernel activation: the kernel for the combination's id, given the FCI and the indicators
 *      then outcome processing (outcome.ts): select next goes back to C; try again and an
 *      online response for the card restart at B with the same indicators, when the caller
 *      hands a card again (retry / resume), since polling the field is the reader's.
 *
 * Pure like the contact kernel: the card channel, the kernels and the callbacks are injected.
 */
import { PosError, isPosError } from '../../config/errors.js';
import { CardChannel } from '../kernel/apdu.js';
import type { HostAnswer, TerminalConfig, TransactionInput } from '../kernel/types.js';
import { endApplicationOutcome, outcomeAction, readerEventOutcome, tryAnotherInterfaceOutcome } from './outcome.js';
import { noCombinationAllowed, preProcess, type PreProcessedCombination } from './pre-processing.js';
import { buildCandidates, selectFirstCandidate, selectPpse, type Candidate } from './ppse.js';
import type {
  ContactlessCallbacks,
  ContactlessCombination,
  ContactlessKernel,
  ContactlessOutcome,
  ContactlessTarget,
  KernelId,
} from './types.js';

/**
 * A communication error during selection (Book A: the card left the field, or its answer was
 * lost): the reader's removal and transmission errors, and a virtual card's removal. Entry Point
 * answers it with try again (restart at B, "present card"); the kernels do the same inside.
 */
const CARD_LEFT_FIELD = [
  'CODPOS_EMV_CARD_REMOVED',
  'CODPOS_DEVICE_CL_CARD_REMOVED',
  'CODPOS_DEVICE_CL_TRANSMISSION',
] as const;

export interface EntryPointOptions {
  kernels: ReadonlyMap<KernelId, ContactlessKernel>;
  combinations: readonly ContactlessCombination[];
  terminal: TerminalConfig;
}

/** What a restart at B needs: the transaction's indicators (not computed again), and what ran last. */
interface TransactionState {
  transaction: TransactionInput;
  callbacks: ContactlessCallbacks;
  preProcessed: PreProcessedCombination[];
  /** The combination last given to a kernel: an online response goes back to it. */
  lastSelected?: Candidate;
  /** What the caller may do next: retry after a try again, resume after an online request. */
  awaiting?: 'retry' | 'resume';
}

export class EntryPoint {
  private readonly kernels: ReadonlyMap<KernelId, ContactlessKernel>;
  private readonly combinations: readonly ContactlessCombination[];
  private readonly terminal: TerminalConfig;
  private state: TransactionState | undefined;

  constructor(options: EntryPointOptions) {
    for (const combination of options.combinations) {
      if (!/^([0-9A-Fa-f]{2}){5,16}$/.test(combination.aid)) {
        throw new PosError(
          'CODPOS_EMV_CL_COMBINATION',
          `contactless combination AID "${combination.aid}" is not 5 to 16 bytes of hex`,
          { details: { aid: combination.aid } },
        );
      }
      const kernel = options.kernels.get(combination.kernelId);
      if (!kernel || kernel.id !== combination.kernelId) {
        throw new PosError(
          'CODPOS_EMV_CL_COMBINATION',
          `contactless combination ${combination.aid} names kernel ${combination.kernelId}, which the reader was not given`,
          { details: { aid: combination.aid, kernelId: combination.kernelId } },
        );
      }
    }
    this.kernels = options.kernels;
    this.combinations = options.combinations;
    this.terminal = options.terminal;
  }

  /** A new transaction: pre-processing (start A), then the card in the field from start C. */
  async run(
    target: ContactlessTarget,
    transaction: TransactionInput,
    callbacks: ContactlessCallbacks = {},
  ): Promise<ContactlessOutcome> {
    const preProcessed = preProcess(this.combinations, transaction, this.terminal.applications);
    this.state = { transaction, callbacks, preProcessed };
    if (noCombinationAllowed(preProcessed)) {
      return tryAnotherInterfaceOutcome(
        `no contactless combination allows an amount of ${transaction.amount} (limits, or a zero amount)`,
      );
    }
    return this.fromStartB(this.state, target);
  }

  /** Restart at B after a try-again outcome: the reader found a card again. */
  async retry(target: ContactlessTarget): Promise<ContactlessOutcome> {
    return this.fromStartB(this.restartState('retry'), target);
  }

  /**
   * Restart at B after an online request whose response the card must see (issuer
   * authentication data, scripts): the same combination is selected again and its kernel is
   * activated with the issuer's answer.
   */
  async resume(onlineResponse: HostAnswer, target: ContactlessTarget): Promise<ContactlessOutcome> {
    return this.fromStartB(this.restartState('resume'), target, onlineResponse);
  }

  private restartState(wanted: 'retry' | 'resume'): TransactionState {
    const state = this.state;
    if (!state || state.awaiting !== wanted) {
      throw new PosError(
        'CODPOS_EMV_CL_NO_RESTART',
        wanted === 'retry'
          ? 'Entry Point was asked to retry, but the last outcome was not a try again'
          : 'Entry Point was asked to resume, but the last outcome was not an online request that needs the card again',
        { details: { awaiting: state?.awaiting ?? 'nothing' } },
      );
    }
    return state;
  }

  private async fromStartB(
    state: TransactionState,
    target: ContactlessTarget,
    onlineResponse?: HostAnswer,
  ): Promise<ContactlessOutcome> {
    delete state.awaiting;
    let outcome: ContactlessOutcome;
    try {
      outcome = await this.selectAndActivate(state, target, onlineResponse);
    } catch (error) {
      if (!CARD_LEFT_FIELD.some((code) => isPosError(error, code))) throw error;
      outcome = readerEventOutcome('card-removed');
    }
    const action = outcomeAction(outcome);
    if (action === 'restart-at-b') state.awaiting = 'retry';
    if (action === 'resume-after-online') state.awaiting = 'resume';
    return outcome;
  }

  /** Start C (combination selection) and D (kernel activation), looping on select next. */
  private async selectAndActivate(
    state: TransactionState,
    target: ContactlessTarget,
    onlineResponse: HostAnswer | undefined,
  ): Promise<ContactlessOutcome> {
    const channel = new CardChannel(target.transmit);
    const ppse = await selectPpse(channel);
    if ('failed' in ppse) return endApplicationOutcome(`no contactless application: ${ppse.failed}`);
    let candidates = buildCandidates(ppse.entries, state.preProcessed);
    const previous = state.lastSelected;
    if (onlineResponse && previous) {
      candidates = candidates.filter(
        (c) => c.entry.adfName.equals(previous.entry.adfName) && c.combination === previous.combination,
      );
    }
    if (candidates.length === 0) {
      return endApplicationOutcome(
        onlineResponse
          ? 'the card presented again does not list the application the online request came from'
          : 'no application of the card matches a contactless combination of this terminal',
      );
    }
    for (;;) {
      const selected = await selectFirstCandidate(channel, candidates);
      if (!selected) return endApplicationOutcome('the card refused to select every matching application');
      const { candidate, fci } = selected;
      state.lastSelected = candidate;
      const kernelId = candidate.combination.kernelId;
      const kernel = this.kernels.get(kernelId)!;
      const activation = {
        // The kernel gets the card itself and applies the T=0 rules on its own channel.
        transmit: target.transmit,
        combination: candidate.combination,
        indicators: candidate.indicators,
        fci,
        terminal: this.terminal,
        transaction: state.transaction,
        callbacks: state.callbacks,
        ...(onlineResponse ? { onlineResponse } : {}),
      };
      const outcome: ContactlessOutcome = { ...(await kernel.activate(activation)), kernelId };
      if (outcomeAction(outcome) !== 'select-next') return outcome;
      // Book B 3.5: select next drops the combination the kernel refused and selects again (start C).
      candidates.shift();
      onlineResponse = undefined;
    }
  }
}
