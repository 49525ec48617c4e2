/**
 * One cash-on-delivery payment by magnetic stripe, under the chip-first rules: a card
 * whose service code says it has a chip (first digit 2 or 6) is sent back to the chip
 * reader unless a chip read of this very card has just failed (then it is a fallback,
 * entry mode 80). The track is checked before anything is sent: a PAN that fails the
 * Luhn check is a bad read, an expired card is declined at the terminal. The PIN is
 * asked for when the service code requires it or invites it (third digit 0, 3, 5, 6, 7:
 * the terminal has a PIN pad). The request carries the track 2 data (DE35) and the
 * enciphered PIN block; the journal row is begun before it leaves and gets the issuer's
 * answer from the host client, as for chip (card-payment.ts). Track data is never
 * journaled.
 */
import { PosError, isPosError } from '../../config/errors.js';
import { decideSwipe, explainServiceCode, isExpired, parseTrack, type TrackData } from '../../emv/magstripe/index.js';
import type { CardPaymentDeps, CardPaymentRequest, CardPaymentResult } from './card-payment.js';

export type SwipePaymentDeps = Pick<CardPaymentDeps, 'pinpad' | 'client' | 'journal' | 'currency' | 'clock' | 'log'>;

/** What the card reader's MSR reported (its `swipe` event). */
export interface Swipe {
  track1?: string;
  track2?: string;
}

export interface SwipeOptions {
  /** A chip read of this same card failed just before (allows the fallback swipe). */
  chipFailedOnThisCard?: boolean;
}

/** Runs one magstripe payment; resolves with its outcome (a decline is a result, not an error). */
export async function payBySwipe(deps: SwipePaymentDeps, request: CardPaymentRequest, swipe: Swipe, options: SwipeOptions = {}): Promise<CardPaymentResult> {
  if (!Number.isSafeInteger(request.amount) || request.amount <= 0) {
    throw new PosError('CODPOS_USAGE_AMOUNT', `payBySwipe: amount must be a positive whole number of minor units, not ${String(request.amount)}`);
  }
  const none = { approvedOffline: false, signatureRequired: false } as const;
  let track: TrackData;
  try {
    // Track 2 is what goes to the host; track 1 only when the reader got nothing else.
    track = parseTrack(swipe.track2 ?? swipe.track1 ?? '');
  } catch (error) {
    if (!isPosError(error, 'CODPOS_EMV_BAD_TRACK')) throw error;
    return { ...none, outcome: 'failed', reason: `the stripe could not be read (${error.message}): swipe again` };
  }
  if (!track.luhnOk || track.lrcOk === false) return { ...none, outcome: 'failed', reason: 'the stripe read is damaged (check digit): swipe again' };
  const decision = decideSwipe(track.serviceCode, options.chipFailedOnThisCard ?? false);
  if (!decision.accept) return { ...none, outcome: 'use-chip', reason: `service code ${track.serviceCode}: the card has a chip, insert it` };
  const read = { ...none, entry: decision.fallback ? ('fallback' as const) : ('stripe' as const) };
  if (isExpired(track.expiry, (deps.clock ?? (() => new Date()))())) return { ...read, outcome: 'declined', reason: 'the card has expired' };

  const meaning = explainServiceCode(track.serviceCode);
  const askPin = meaning.pinRequired || track.serviceCode[2] === '6' || track.serviceCode[2] === '7';
  let pin: { block: string; ksn: string } | undefined;
  if (askPin) {
    const entry = await deps.pinpad.requestPin({ pan: track.pan });
    if (entry.outcome !== 'pin') return { ...read, outcome: 'cancelled', reason: `PIN entry ${entry.outcome}: ${entry.reason}` };
    pin = { block: entry.pinBlock, ksn: entry.ksn };
  }

  const row = deps.journal.begin({ amount: request.amount, currency: deps.currency, pan: track.pan, ...(request.waybill !== undefined ? { waybill: request.waybill } : {}) });
  const receipt = { panLast4: track.pan.slice(-4) };
  try {
    const answer = await deps.client.purchase({
      amount: request.amount,
      // DE22: 90 magstripe / 80 fallback, then 1: the terminal can take a PIN.
      posEntryMode: `${decision.posEntryMode}1`,
      card: { track2: `${track.pan}=${track.expiry}${track.serviceCode}${track.discretionary}` },
      ...(pin ? { pinBlock: Buffer.from(pin.block, 'hex'), ksn: pin.ksn } : {}),
      journal: { id: row.id, stan: row.stan },
    });
    return {
      outcome: answer.outcome === 'approved' ? 'approved' : 'declined',
      reason: answer.outcome === 'approved' ? (decision.fallback ? 'approved online (chip fallback)' : 'approved online') : `declined by the issuer (${answer.responseCode})`,
      journalId: row.id,
      approvedOffline: false,
      entry: read.entry,
      responseCode: answer.responseCode,
      ...(answer.authCode !== undefined ? { authCode: answer.authCode } : {}),
      // A stripe has no CVM list: without a PIN, the customer signs.
      signatureRequired: answer.outcome === 'approved' && pin === undefined,
      receipt,
    };
  } catch (error) {
    if (!(isPosError(error) && error.area === 'HOST')) throw error;
    // No answer (the host client has queued the reversal and moved the row) or no link.
    deps.log?.warn({ err: error, journalId: row.id }, 'swipe payment: no answer from the acquirer');
    return { ...read, outcome: 'failed', reason: `no answer from the acquirer (${error.message}); the authorization is being reversed: take cash or try again`, journalId: row.id };
  }
}
