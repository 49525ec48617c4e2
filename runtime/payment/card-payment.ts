/**
 * One cash-on-delivery payment by chip card, end to end: the EMV kernel talks to the
 * card through the reader, the PIN pad returns the PIN block enciphered under DUKPT
 * (the daemon never sees a PIN), the host client authorizes, and the outcome is on
 * the journal before it is reported — the courier's screen says "approved" only
 * after the SQLite commit that says so.
 *
 * What ends where:
 *   - online, issuer and card approve: the row is `approved` (recorded by the client
 *     with the issuer's answer);
 *   - the issuer approves but the card declines at the second GENERATE AC (a wrong
 *     ARPC, say), or the payment fails after the approval: the approval is reversed,
 *     the row goes `reversal_pending` -> `reversed`;
 *   - no answer: the client has reversed the request (row `reversal_pending`); if the
 *     card then approves offline (Y3) it is an offline approval of its own (below);
 *   - the card approves offline (Y1, or Y3): a row begun `offline: true`, which the
 *     spool refuses past the offline caps (the courier is told to take cash); else
 *     `offline_approved`, with its 0220 advice queued in the same commit;
 *   - the PIN entry is cancelled or times out: nothing is journaled, nothing sent.
 * Magstripe (with the chip-first fallback rules) is the next step of this module.
 */
import { randomBytes } from 'node:crypto';
import { PosError, isPosError } from '../../config/errors.js';
import {
  PinPadNotWorking,
  runTransaction,
  type CardIdentity,
  type KernelResult,
  type TerminalConfig,
} from '../../emv/kernel/index.js';
import { cardKeyOf } from './card-key.js';
import type { ReversalReason } from '../../emv/iso8583/index.js';
import type { CardChannel } from '../../drivers/card-reader/driver.js';
import type { PinEntryResult } from '../../drivers/pinpad/driver.js';
import type { Journal } from '../../spool/index.js';
import type { HostClient, PurchaseResult } from '../host/client.js';
import { kernelGoOnline } from './kernel-online.js';
import type { Logger } from '../log.js';

export interface CardPaymentDeps {
  card: CardChannel;
  /** `cancel` ends a PIN entry in progress (the payment was cancelled while the customer typed). */
  pinpad: { requestPin(options: { pan: string }): Promise<PinEntryResult>; cancel?(): Promise<void> };
  client: HostClient;
  journal: Journal;
  /** The kernel's terminal: AIDs, TACs, floor limits, capabilities, CA keys. */
  terminal: TerminalConfig;
  /** ISO 4217 numeric, 3 digits (`terminal.currency`). */
  currency: string;
  clock?: () => Date;
  /** 1..99 for the kernel's random transaction selection (default: node:crypto). */
  random?: () => number;
  /** Tag 9F37 (default: 4 random bytes). */
  unpredictableNumber?: () => Buffer;
  log?: Logger;
}

export interface CardPaymentRequest {
  /** Minor units of the terminal currency. */
  amount: number;
  /** The waybill whose COD amount this pays. */
  waybill?: string;
  /**
   * Aborting it cancels the payment while it can still be undone without the acquirer: until
   * the card has answered the first GENERATE AC (chip), or until the request leaves (stripe).
   * After that the payment runs to its end (an approval is then voided, not abandoned).
   */
  signal?: AbortSignal;
}

/** `use-chip`: a chip card was swiped (swipe-payment.ts), or a tap asks for another interface (tap-payment.ts): insert it instead. */
export type CardPaymentOutcome = 'approved' | 'declined' | 'cancelled' | 'failed' | 'use-chip';

export interface CardPaymentResult {
  outcome: CardPaymentOutcome;
  /** Why, in words for the courier and the log (no card data). */
  reason: string;
  /** The journal row of the payment (none when it ended before anything was journaled). */
  journalId?: string;
  approvedOffline: boolean;
  /** How the card was read: its chip, its stripe, its stripe after the chip failed, or a tap. */
  entry?: 'chip' | 'stripe' | 'fallback' | 'contactless';
  /** 8A: the issuer's, or the terminal's Y1/Y3/Z1/Z3. */
  responseCode?: string;
  authCode?: string;
  /**
   * What the issuer approved (minor units), when approved: less than the request's amount for a
   * partial approval (response 10), the rest still due from the consignee in cash or by another card.
   */
  approvedAmount?: number;
  /** Approved with identification (response 08): the courier checks the consignee's ID. */
  identificationRequired?: boolean;
  /** CVM results (9F34, hex) and the offline data authentication used, for the log (chip only). */
  cvmResult?: string;
  odaMethod?: 'SDA' | 'DDA' | 'CDA' | 'none';
  /** Contactless: the cardholder was verified by their phone (consumer device CVM): no PIN, no signature. */
  verifiedOnDevice?: boolean;
  /**
   * Set when the chip itself failed (no answer to reset, mute, no common application, as the
   * schemes define a chip failure): only then may the same card's stripe be swiped as a
   * fallback (payBySwipe's `chipFailure`). `cardKey` names the card without its PAN (a keyed
   * hash, in memory only) when the chip gave its PAN before failing.
   */
  chipFailure?: { reason: string; cardKey?: string };
  signatureRequired: boolean;
  /** What the receipt may show: the PAN's last four digits, never more; AID, label, TVR and TSI for chip. */
  receipt?: { panLast4: string; aid?: string; label?: string; tvr?: string; tsi?: string };
}

/** The most DE4 (12 digits) can carry. */
export const MAX_AMOUNT = 999_999_999_999;

/** A bad amount is the caller's mistake (a USAGE error), never a failure of the card that would unlock its stripe. */
export function checkAmount(amount: number, who: string): void {
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_AMOUNT) {
    throw new PosError(
      'CODPOS_USAGE_AMOUNT',
      `${who}: amount must be a whole number of minor units from 1 to ${MAX_AMOUNT} (the 12 digits of DE4), not ${String(amount)}`,
    );
  }
}

/** Ends the kernel's run from the PIN callback when the customer did not enter a PIN. */
class PinNotEntered extends Error {
  constructor(readonly entry: Exclude<PinEntryResult, { outcome: 'pin' }>) {
    super(`PIN entry ${entry.outcome}: ${entry.reason}`);
  }
}

/** Ends the kernel's run when the payment is cancelled before the card answered GENERATE AC. */
class PaymentCancelled extends Error {
  /** The canceller's words (the signal's reason, when it gave them as text). */
  constructor(signal: AbortSignal | undefined) {
    super(
      typeof signal?.reason === 'string'
        ? signal.reason
        : 'the payment was cancelled before the card was asked for its cryptogram',
    );
  }
}

/** The card's chip itself failed (error codes from the reader), as distinct from the reader, the PIN pad or the terminal. */
const CHIP_FAILURE_CODES = new Set(['CODPOS_EMV_CHIP_MUTE', 'CODPOS_EMV_NO_CHIP']);
/** Kernel endings the schemes count as a chip failure that allows the stripe (fallback). */
const CHIP_FAILURE_REASONS = new Set(['no-mutually-supported-application']);

const GENERATE_AC = 0xae;

/** Runs one chip payment; resolves with its outcome (a decline is a result, not an error). */
export async function payByChip(deps: CardPaymentDeps, request: CardPaymentRequest): Promise<CardPaymentResult> {
  return { ...(await runChipPayment(deps, request)), entry: 'chip' };
}

async function runChipPayment(deps: CardPaymentDeps, request: CardPaymentRequest): Promise<CardPaymentResult> {
  checkAmount(request.amount, 'payByChip');
  const clock = deps.clock ?? (() => new Date());
  const none = { approvedOffline: false, signatureRequired: false } as const;
  const cancelled = (reason: string): CardPaymentResult => ({ ...none, outcome: 'cancelled', reason });
  if (request.signal?.aborted) return cancelled(new PaymentCancelled(request.signal).message);
  let card: CardIdentity | undefined;
  let pin: { block: string; ksn: string } | undefined;
  let onlineRow: { id: string; stan: number } | undefined;
  let approval: PurchaseResult | undefined;
  let cardAnsweredGenerateAc = false;
  // Where a thrown error came from: the chip (a failure that allows fallback) or anything else.
  let chipError: unknown;

  try {
    await deps.card.powerOn();
  } catch (error) {
    if (isPosError(error) && CHIP_FAILURE_CODES.has(error.code)) return chipFailed(error.message, card);
    throw error;
  }
  let kernel: KernelResult;
  try {
    kernel = await runTransaction({
      transmit: async (apdu) => {
        const generateAc = apdu[1] === GENERATE_AC;
        if (generateAc && !cardAnsweredGenerateAc && request.signal?.aborted)
          throw new PaymentCancelled(request.signal);
        try {
          const response = await deps.card.transmit(apdu);
          if (generateAc) cardAnsweredGenerateAc = true;
          return response;
        } catch (error) {
          chipError = error;
          throw error;
        }
      },
      terminal: deps.terminal,
      transaction: {
        amount: request.amount,
        currencyCode: deps.currency.padStart(4, '0'),
        transactionType: '00',
        date: clock(),
        sequenceCounter: deps.journal.counters.next('sequence'),
        unpredictableNumber: (deps.unpredictableNumber ?? (() => randomBytes(4)))(),
      },
      callbacks: {
        cardRead: (identity) => (card = identity),
        requestOnlinePin: async (pan) => {
          let entry: PinEntryResult;
          try {
            entry = await withAbort(
              deps.pinpad.requestPin({ pan }),
              request.signal,
              () => void deps.pinpad.cancel?.().catch(() => undefined),
            );
          } catch (error) {
            if (error instanceof PaymentCancelled) throw error;
            // The PIN pad failed (no answer, link lost): the kernel notes it in the TVR and goes on.
            if (isPosError(error) && error.area === 'DEVICE') {
              deps.log?.warn({ err: error }, 'PIN pad not working: online PIN skipped, the CVM list goes on');
              throw new PinPadNotWorking(error.message);
            }
            throw error;
          }
          if (entry.outcome !== 'pin') throw new PinNotEntered(entry);
          pin = { block: entry.pinBlock, ksn: entry.ksn };
          return Buffer.from(entry.pinBlock, 'hex');
        },
        goOnline: (online) =>
          // The journal row is begun in the commit that holds the request's reversal, before it
          // leaves. Nothing sensitive is kept: the request carries the PIN block, the spool does not.
          kernelGoOnline(deps.client, {
            amount: request.amount,
            ksn: () => pin?.ksn,
            begin: {
              amount: request.amount,
              currency: deps.currency,
              pan: online.pan,
              ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
            },
            onJournaled: (row) => (onlineRow = row),
            beginRow: (entry) => deps.journal.begin(entry),
            awaitCompletion: true,
            onResult: (result) => (approval = result),
          })(online),
        ...(deps.random ? { random: deps.random } : {}),
      },
    });
  } catch (error) {
    if (error instanceof PinNotEntered) return cancelled(error.message);
    if (error instanceof PaymentCancelled) return cancelled(error.message);
    const reason = `the payment failed: ${(error as Error).message}`;
    // The card or the reader failed mid-way. An approval already given is not completed: reverse it.
    if (approval?.outcome === 'approved' && onlineRow)
      await reverseApproval(deps, approval, onlineRow.id, reason, 'terminal-failure');
    deps.log?.warn({ err: error, journalId: onlineRow?.id }, 'chip payment failed');
    // Only the chip's own failure, before anything went online, lets the stripe be used instead.
    if (onlineRow === undefined && error === chipError && isPosError(error) && CHIP_FAILURE_CODES.has(error.code))
      return chipFailed(reason, card);
    return { ...none, outcome: 'failed', reason, ...(onlineRow ? { journalId: onlineRow.id } : {}) };
  } finally {
    await deps.card.powerOff().catch(() => undefined);
  }

  const base = {
    signatureRequired: kernel.signatureRequired,
    odaMethod: kernel.odaMethod,
    ...(kernel.cvmResults ? { cvmResult: kernel.cvmResults.toString('hex').toUpperCase() } : {}),
    ...(kernel.responseCode !== undefined ? { responseCode: kernel.responseCode } : {}),
    ...(kernel.receipt && card
      ? {
          receipt: {
            panLast4: card.pan.slice(-4),
            aid: kernel.receipt.aid,
            ...(kernel.receipt.label ? { label: kernel.receipt.label } : {}),
            tvr: kernel.receipt.tvr,
            tsi: kernel.receipt.tsi,
          },
        }
      : {}),
  };
  const issuerApproved = approval?.outcome === 'approved';

  if (kernel.outcome === 'not-accepted' && CHIP_FAILURE_REASONS.has(kernel.reason) && onlineRow === undefined)
    return { ...chipFailed(kernel.reason, card), ...base };
  if (kernel.outcome === 'approved' && issuerApproved && onlineRow) {
    try {
      // The card completed it: the held reversal is retired with the final chip data kept.
      deps.client.complete(approval!, { finalIccData: kernel.finalIccData });
    } catch (error) {
      // Not journaled as completed: the approval is reversed (now, or by the next start's recovery).
      const reason = `the card approved but its completion could not be journaled (${(error as Error).message}): the approval is reversed`;
      deps.log?.error({ err: error, journalId: onlineRow.id }, reason);
      await reverseApproval(deps, approval!, onlineRow.id, reason, 'terminal-failure', kernel.finalIccData).catch(
        () => undefined,
      );
      return { ...base, ...none, outcome: 'failed', reason, journalId: onlineRow.id };
    }
    const approvedAmount = approval!.approvedAmount ?? request.amount;
    return {
      ...base,
      outcome: 'approved',
      reason:
        approvedAmount < request.amount
          ? `${kernel.reason}: partially approved, ${approvedAmount} of ${request.amount}`
          : kernel.reason,
      journalId: onlineRow.id,
      approvedOffline: false,
      approvedAmount,
      ...(approval!.responseCode === '08' ? { identificationRequired: true } : {}),
      ...(approval?.authCode ? { authCode: approval.authCode } : {}),
    };
  }
  if (kernel.outcome === 'approved' && card) {
    // The card approved offline: below the floor limit (Y1), or with the host away (Y3).
    return recordOfflineApproval(deps, request, card, kernel, base, clock());
  }
  if (issuerApproved && onlineRow) {
    // The issuer said yes, the card said no (or the kernel ended the transaction): undo the approval.
    await reverseApproval(
      deps,
      approval!,
      onlineRow.id,
      `card ${kernel.outcome} after the issuer approved (${kernel.reason})`,
      'card-declined',
      kernel.finalIccData,
    );
    return {
      ...base,
      outcome: 'declined',
      reason: `${kernel.reason}: the issuer's approval is reversed`,
      journalId: onlineRow.id,
      approvedOffline: false,
    };
  }
  return {
    ...base,
    outcome: kernel.outcome === 'approved' ? 'failed' : 'declined',
    reason: kernel.reason,
    ...(onlineRow ? { journalId: onlineRow.id } : {}),
    approvedOffline: false,
  };
}

/** A chip failure: the payment failed, and the same card's stripe may be swiped as a fallback. */
function chipFailed(reason: string, card: CardIdentity | undefined): CardPaymentResult {
  return {
    outcome: 'failed',
    reason: `the chip failed (${reason}): swipe the same card`,
    approvedOffline: false,
    signatureRequired: false,
    chipFailure: { reason, ...(card ? { cardKey: cardKeyOf(card.pan) } : {}) },
  };
}

/** `work` (the PIN entry), or PaymentCancelled when `signal` aborts first (`onAbort` ends the work). */
function withAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, stop: () => void): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    stop();
    return Promise.reject(new PaymentCancelled(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      stop();
      reject(new PaymentCancelled(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function recordOfflineApproval(
  deps: CardPaymentDeps,
  request: CardPaymentRequest,
  card: CardIdentity,
  kernel: KernelResult,
  base: Omit<CardPaymentResult, 'outcome' | 'reason' | 'approvedOffline'>,
  approvedAt: Date,
): Promise<CardPaymentResult> {
  const code = kernel.responseCode ?? 'Y1';
  let row;
  try {
    row = deps.journal.begin({
      amount: request.amount,
      currency: deps.currency,
      pan: card.pan,
      offline: true,
      ...(request.waybill !== undefined ? { waybill: request.waybill } : {}),
    });
  } catch (error) {
    if (isPosError(error) && error.area === 'SPOOL') {
      // Past the offline caps (or the spool refuses it): the card's approval is never advised, so no money moves.
      return {
        ...base,
        outcome: 'declined',
        reason: `approved offline by the card, refused by the terminal: ${error.message}; take cash`,
        approvedOffline: false,
      };
    }
    throw error;
  }
  await deps.client.recordOfflineApproval(row.id, {
    amount: request.amount,
    card: {
      pan: card.pan,
      ...(card.expiry ? { expiry: card.expiry.slice(0, 4) } : {}),
      ...(card.panSequenceNumber ? { panSequenceNumber: card.panSequenceNumber.padStart(3, '0') } : {}),
    },
    posEntryMode: '051',
    approvedAt,
    authCode: code,
    iccData: kernel.de55,
  });
  return {
    ...base,
    outcome: 'approved',
    reason: kernel.reason,
    journalId: row.id,
    approvedOffline: true,
    responseCode: code,
    authCode: code,
  };
}

async function reverseApproval(
  deps: CardPaymentDeps,
  approval: PurchaseResult,
  journalId: string,
  reason: string,
  why: ReversalReason,
  finalIccData?: Buffer,
): Promise<void> {
  await deps.client.reverse(approval, {
    journal: { id: journalId },
    reason,
    why,
    ...(finalIccData ? { finalIccData } : {}),
  });
}
