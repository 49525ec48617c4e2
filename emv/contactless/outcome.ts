/**
 * Outcomes Entry Point makes itself (Book A 6.2, Book B 3.1.1.11, 3.3 and 3.5) and the rule
 * that says what Entry Point does with a kernel's outcome (Book B 3.5): restart at B, go back to
 * combination selection, or hand the outcome up to the payment flow.
 */
import type { ContactlessOutcome, OutcomeStatus, UiRequest } from './types.js';

/** An outcome with the parameters Entry Point does not set at their "not applicable" values. */
export function entryPointOutcome(
  status: OutcomeStatus,
  reason: string,
  fields: Partial<Omit<ContactlessOutcome, 'status' | 'reason'>> = {},
): ContactlessOutcome {
  return {
    status,
    start: 'n/a',
    cvm: 'n/a',
    onlineResponseData: 'none',
    dataRecord: [],
    receipt: false,
    oda: 'none',
    ...fields,
    reason,
  };
}

const INSERT_CARD: UiRequest = { message: 'insert-card', status: 'processing-error' };

/** Book B 3.1.1.11: no combination allows this amount contactless: the contact chip is asked for. */
export function tryAnotherInterfaceOutcome(reason: string): ContactlessOutcome {
  return entryPointOutcome('try-another-interface', reason, {
    uiRequestOnOutcome: INSERT_CARD,
    alternateInterface: 'contact-chip',
  });
}

/**
 * Book B 3.3: the card has no PPSE, or none of its applications matches a combination. The
 * contactless transaction ends; the card may still pay by its chip, so the screen asks for it
 * and the outcome names the contact chip as the interface to try.
 */
export function endApplicationOutcome(reason: string): ContactlessOutcome {
  return entryPointOutcome('end-application', reason, {
    uiRequestOnOutcome: INSERT_CARD,
    alternateInterface: 'contact-chip',
  });
}

/** A reader event in the middle of the transaction: the card left the field, or two cards are in it. */
export type ReaderEvent = 'card-removed' | 'collision';

/**
 * The reader's events become a try-again (restart at B): the reader polls again and the screen
 * asks for one card (Book A 7.1 "present one card only"; Book B 3.2 protocol activation).
 */
export function readerEventOutcome(event: ReaderEvent): ContactlessOutcome {
  return entryPointOutcome(
    'try-again',
    event === 'card-removed' ? 'card-removed' : 'collision: more than one card in the field',
    {
      start: 'B',
      uiRequestOnOutcome: { message: 'try-again', status: 'ready-to-read' },
      uiRequestOnRestart: { message: 'present-one-card', status: 'ready-to-read' },
    },
  );
}

/** What Entry Point does with an outcome (Book B 3.5). */
export type OutcomeAction =
  /** Back to combination selection with the selected candidate removed (select next, start C). */
  | 'select-next'
  /** The card must be presented again (try again, start B): the caller polls and calls Entry Point's retry. */
  | 'restart-at-b'
  /** An online request whose response goes back to the card: the caller goes online, then resume. */
  | 'resume-after-online'
  /** Approved, declined, online request, end application, try another interface: passed up as is. */
  | 'final';

export function outcomeAction(outcome: ContactlessOutcome): OutcomeAction {
  if (outcome.status === 'select-next') return 'select-next';
  if (outcome.status === 'try-again') return 'restart-at-b';
  if (outcome.status === 'online-request' && outcome.start === 'B' && outcome.onlineResponseData !== 'none') {
    return 'resume-after-online';
  }
  return 'final';
}
