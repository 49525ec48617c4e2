/**
 * Why the terminal reverses an authorization, and the code that tells the acquirer in DE25
 * of the 0400. One table, so a reason cannot be spelt two ways in two places.
 *
 * Where the codes come from. ISO 8583:1993 made DE25 the "message reason code" (n4) and gave
 * reversals the 4000-4499 range, which the 2003 edition (the base of jPOS' CMF) kept. The ones
 * used here:
 *   4000 customer cancellation            4002 suspected malfunction
 *   4007 card acceptor device unable to complete transaction
 *   4020 invalid response, no action taken 4021 timeout waiting for response
 * The 1987 edition has no message reason code: its DE25 is the n2 POS condition code, and the
 * reason for a reversal was one of its 2-digit response codes, which the 1993 edition took over
 * into the 4000 range: 17 customer cancellation (4000), 20 invalid response (4020), 21 no action
 * taken (4001), 22 suspected malfunction (4002), 68 response received too late (4006). A 1987
 * layout (pos87b, iso87b, iso87a) gets these in DE25; "device unable to complete" and
 * "timeout waiting" have no 1987 code of their own and take the nearest (21, 68).
 */
import { PosError } from '../../../config/errors.js';
import { ISO8583_ERRORS } from '../errors.js';

export type ReversalReason =
  /** No answer to the request within the response time-out. */
  | 'timeout'
  /** An answer came that could not be decoded or did not match the request. */
  | 'unreadable-response'
  /** The issuer approved, then the card declined (AAC at the second GENERATE AC). */
  | 'card-declined'
  /** The issuer approved, then the card or the reader failed before the card completed. */
  | 'terminal-failure'
  /** The issuer approved, then the customer or the courier cancelled. */
  | 'cancelled'
  /** The issuer approved part of the amount and the terminal does not accept partial approvals. */
  | 'partial-not-accepted'
  /** The terminal lost power (or its process died) with the request in flight. */
  | 'interrupted'
  /** At start: an approval the card never completed (power cut between the answer and the card). */
  | 'not-completed';

/** DE25 of a reversal by reason: the 1993 message reason code and the 1987 2-digit code. */
export const REVERSAL_REASON_CODES: Readonly<
  Record<ReversalReason, { readonly '1993': string; readonly '1987': string }>
> = {
  timeout: { '1993': '4021', '1987': '68' },
  'unreadable-response': { '1993': '4020', '1987': '20' },
  'card-declined': { '1993': '4007', '1987': '21' },
  'terminal-failure': { '1993': '4002', '1987': '22' },
  cancelled: { '1993': '4000', '1987': '17' },
  'partial-not-accepted': { '1993': '4007', '1987': '21' },
  // A power cut is the terminal failing, whatever the host did: not a slow host (timeout).
  interrupted: { '1993': '4002', '1987': '22' },
  'not-completed': { '1993': '4007', '1987': '21' },
};

export const REVERSAL_REASONS = Object.keys(REVERSAL_REASON_CODES) as ReversalReason[];

/** DE25 for `reason` in the given layout; PosError naming the reason when it is not one of ours. */
export function reversalReasonCode(reason: ReversalReason, layout: '1987' | '1993' = '1987'): string {
  const codes = Object.hasOwn(REVERSAL_REASON_CODES, reason) ? REVERSAL_REASON_CODES[reason] : undefined;
  if (codes === undefined) {
    throw new PosError(
      ISO8583_ERRORS.BAD_VALUE,
      `ISO 8583 reversal: no reason ${JSON.stringify(reason)}; choose one of ${REVERSAL_REASONS.join(', ')}`,
      { details: { field: '25' } },
    );
  }
  return codes[layout];
}
