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
import { isPosError } from '../../config/errors.js';
import { decideSwipe, explainServiceCode, isExpired, parseTrack, type TrackData } from '../../emv/magstripe/index.js';
import { checkAmount, type CardPaymentDeps, type CardPaymentRequest, type CardPaymentResult } from './card-payment.js';
import { cardKeyOf } from './card-key.js';

export type SwipePaymentDeps = Pick<CardPaymentDeps, 'pinpad' | 'client' | 'journal' | 'currency' | 'clock' | 'log'> & {
  /** Fallback swipes per card (default: one counter for the process). */
  fallbacks?: FallbackCounter;
};

/** What the card reader's MSR reported (its `swipe` event). */
export interface Swipe {
  track1?: string;
  track2?: string;
}

export interface SwipeOptions {
  /**
   * The chip of the card just inserted failed (payByChip's `chipFailure`): a chip card's
   * stripe may then be used (fallback) — if it is the same card, when the chip gave its PAN.
   */
  chipFailure?: { reason: string; cardKey?: string };
}

/** Most fallback swipes one card may make in a day before the terminal refuses it (the chip must be repaired). */
export const FALLBACKS_PER_CARD_PER_DAY = 3;

/**
 * Counts fallback swipes per card (by its card key, never its PAN) per local day, bounded:
 * the oldest cards are forgotten past `maxCards`. A card whose chip keeps failing is a card
 * to replace, or a card whose chip is being made to fail to avoid the chip's checks.
 */
export class FallbackCounter {
  private readonly counts = new Map<string, { day: string; count: number }>();

  constructor(
    private readonly limit = FALLBACKS_PER_CARD_PER_DAY,
    private readonly maxCards = 1000,
  ) {}

  /** Whether the card may fall back once more today. */
  allows(cardKey: string, day: string): boolean {
    const entry = this.counts.get(cardKey);
    return entry === undefined || entry.day !== day || entry.count < this.limit;
  }

  record(cardKey: string, day: string): void {
    const entry = this.counts.get(cardKey);
    const count = entry !== undefined && entry.day === day ? entry.count + 1 : 1;
    this.counts.delete(cardKey);
    this.counts.set(cardKey, { day, count });
    if (this.counts.size > this.maxCards) this.counts.delete(this.counts.keys().next().value!);
  }
}

const processFallbacks = new FallbackCounter();

/** Runs one magstripe payment; resolves with its outcome (a decline is a result, not an error). */
export async function payBySwipe(
  deps: SwipePaymentDeps,
  request: CardPaymentRequest,
  swipe: Swipe,
  options: SwipeOptions = {},
): Promise<CardPaymentResult> {
  checkAmount(request.amount, 'payBySwipe');
  const none = { approvedOffline: false, signatureRequired: false } as const;
  const cancelled = (reason: string): CardPaymentResult => ({ ...none, outcome: 'cancelled', reason });
  if (request.signal?.aborted) return cancelled('the payment was cancelled before the card was read');
  let track: TrackData;
  try {
    // Track 2 is what goes to the host; track 1 only when the reader got nothing else.
    track = parseTrack(swipe.track2 ?? swipe.track1 ?? '');
  } catch (error) {
    if (!isPosError(error, 'CODPOS_EMV_BAD_TRACK')) throw error;
    return { ...none, outcome: 'failed', reason: `the stripe could not be read (${error.message}): swipe again` };
  }
  if (!track.luhnOk || track.lrcOk === false)
    return { ...none, outcome: 'failed', reason: 'the stripe read is damaged (check digit): swipe again' };
  const cardKey = cardKeyOf(track.pan);
  // Fallback only for the card whose chip failed (same PAN when the chip gave it).
  const sameCard =
    options.chipFailure !== undefined &&
    (options.chipFailure.cardKey === undefined || options.chipFailure.cardKey === cardKey);
  const decision = decideSwipe(track.serviceCode, sameCard);
  if (!decision.accept) {
    const other = options.chipFailure !== undefined && !sameCard ? ' (this is not the card whose chip failed)' : '';
    return {
      ...none,
      outcome: 'use-chip',
      reason: `service code ${track.serviceCode}: the card has a chip, insert it${other}`,
    };
  }
  const read = { ...none, entry: decision.fallback ? ('fallback' as const) : ('stripe' as const) };
  const now = (deps.clock ?? (() => new Date()))();
  if (isExpired(track.expiry, now)) return { ...read, outcome: 'declined', reason: 'the card has expired' };
  const fallbacks = deps.fallbacks ?? processFallbacks;
  const day = localDay(now);
  if (decision.fallback && !fallbacks.allows(cardKey, day)) {
    return {
      ...read,
      outcome: 'declined',
      reason: `this card has fallen back from its chip to the stripe ${FALLBACKS_PER_CARD_PER_DAY} times today: its chip must be repaired; take another card or cash`,
    };
  }

  const meaning = explainServiceCode(track.serviceCode);
  const askPin = meaning.pinRequired || track.serviceCode[2] === '6' || track.serviceCode[2] === '7';
  let pin: { block: string; ksn: string } | undefined;
  if (askPin) {
    const entry = await deps.pinpad.requestPin({ pan: track.pan });
    if (entry.outcome !== 'pin')
      return { ...read, outcome: 'cancelled', reason: `PIN entry ${entry.outcome}: ${entry.reason}` };
    pin = { block: entry.pinBlock, ksn: entry.ksn };
  }
  if (request.signal?.aborted) return cancelled('the payment was cancelled before the request left');
  if (decision.fallback) fallbacks.record(cardKey, day);

  const receipt = { panLast4: track.pan.slice(-4) };
  let row: { id: string; stan: number } | undefined;
  try {
    const answer = await deps.client.purchase({
      amount: request.amount,
      // DE22: 90 magstripe / 80 fallback, then 1: the terminal can take a PIN.
      posEntryMode: `${decision.posEntryMode}1`,
      card: { track2: `${track.pan}=${track.expiry}${track.serviceCode}${track.discretionary}` },
      ...(pin ? { pinBlock: Buffer.from(pin.block, 'hex'), ksn: pin.ksn } : {}),
      begin: {
        amount: request.amount,
        currency: deps.currency,
        pan: track.pan,
        ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
      },
      onJournaled: (journaled) => (row = journaled),
      beginRow: (entry) => deps.journal.begin(entry),
    });
    const approved = answer.outcome === 'approved';
    const approvedAmount = approved ? (answer.approvedAmount ?? request.amount) : undefined;
    const how = decision.fallback ? 'approved online (chip fallback)' : 'approved online';
    return {
      outcome: approved ? 'approved' : 'declined',
      reason: approved
        ? approvedAmount! < request.amount
          ? `${how}: partially approved, ${approvedAmount} of ${request.amount}`
          : how
        : `declined by the issuer (${answer.responseCode})`,
      ...(row ? { journalId: row.id } : {}),
      approvedOffline: false,
      entry: read.entry,
      responseCode: answer.responseCode,
      ...(answer.authCode !== undefined ? { authCode: answer.authCode } : {}),
      ...(approvedAmount !== undefined ? { approvedAmount } : {}),
      ...(approved && answer.responseCode === '08' ? { identificationRequired: true } : {}),
      // A stripe has no CVM list: without a PIN, the customer signs.
      signatureRequired: approved && pin === undefined,
      receipt,
    };
  } catch (error) {
    if (!(isPosError(error) && error.area === 'HOST')) throw error;
    // No answer (the host client has queued the reversal and moved the row), or not sent at all.
    const sent = error.details?.reversalId !== undefined;
    deps.log?.warn(
      { err: error, journalId: row?.id },
      sent ? 'swipe payment: no answer from the acquirer' : 'swipe payment: not sent',
    );
    const reason = sent
      ? `no answer from the acquirer (${error.message}); the authorization is being reversed: take cash or try again`
      : `not sent (${error.message}): take cash or try again`;
    return { ...read, outcome: 'failed', reason, ...(row ? { journalId: row.id } : {}) };
  }
}

/** The local calendar day (YYYY-MM-DD) a fallback is counted in. */
function localDay(at: Date): string {
  return `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
}
