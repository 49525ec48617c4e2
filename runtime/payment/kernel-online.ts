/**
 * The EMV kernel's `goOnline` over the host client: the card's online request becomes a
 * 0200 purchase, the acquirer's answer becomes what the kernel reads (tag 8A, the auth code,
 * tag 91, the 71/72 issuer scripts). It lives with the payment flow, which joins the kernel
 * and the host link; the host client knows nothing of the kernel.
 */
import { decodeTlv, encodeTlv, findTag } from '../../emv/tlv/index.js';
import type { HostAnswer, OnlineRequest } from '../../emv/kernel/index.js';
import type { HostClient, JournalEntry, PurchaseInput, PurchaseResult } from '../host/client.js';

/** What the EMV kernel needs for one payment, besides the card's OnlineRequest. */
export interface OnlinePaymentInput {
  amount: number | bigint;
  /** DE22; default 051 (chip, PIN capable). */
  posEntryMode?: string;
  /** The KSN of the PIN block the PIN pad returned. */
  ksn?: () => string | undefined;
  /** The journal row of this payment: its STAN goes in DE11 (see PurchaseInput.journal). */
  journal?: { id: string; stan: number };
  /** The journal row to begin with the held reversal, in one commit (see PurchaseInput.begin). */
  begin?: JournalEntry;
  onJournaled?: (row: { id: string; stan: number }) => void;
  beginRow?: PurchaseInput['beginRow'];
  /** An approval waits for the card's completion before its held reversal is retired (chip). */
  awaitCompletion?: boolean;
  /**
   * Called with the host's answer and the request as sent, before the kernel reads it:
   * keep it to `client.reverse()` an approval the card then declines.
   */
  onResult?: (result: PurchaseResult) => void;
}

/**
 * The kernel's `goOnline` callback over the host client: the kernel's request becomes a
 * 0200, the answer becomes tag 8A/89/91 and the issuer scripts. A host fault propagates
 * as a HOST PosError, which the kernel reads as 'unable to go online'.
 */
export function kernelGoOnline(
  client: HostClient,
  input: OnlinePaymentInput,
): (request: OnlineRequest) => Promise<HostAnswer> {
  return async (online) => {
    const ksn = input.ksn?.();
    const result = await client.purchase({
      amount: input.amount,
      posEntryMode: input.posEntryMode ?? '051',
      card: {
        pan: online.pan,
        ...(online.expiry !== undefined ? { expiry: online.expiry.slice(0, 4) } : {}),
        ...(online.panSequenceNumber !== undefined
          ? { panSequenceNumber: online.panSequenceNumber.padStart(3, '0') }
          : {}),
        ...(online.track2 !== undefined ? { track2: online.track2 } : {}),
      },
      iccData: online.de55,
      ...(online.pinBlock ? { pinBlock: online.pinBlock } : {}),
      ...(ksn !== undefined ? { ksn } : {}),
      ...(input.journal ? { journal: input.journal } : {}),
      ...(input.begin ? { begin: input.begin } : {}),
      ...(input.onJournaled ? { onJournaled: input.onJournaled } : {}),
      ...(input.beginRow ? { beginRow: input.beginRow } : {}),
      ...(input.awaitCompletion ? { awaitCompletion: true } : {}),
    });
    input.onResult?.(result);
    const answer: HostAnswer = {
      result: result.outcome === 'approved' ? 'approved' : 'declined',
      responseCode: result.responseCode,
    };
    if (result.authCode !== undefined) answer.authorisationCode = result.authCode;
    if (result.iccData !== undefined) {
      const tlvs = decodeTlv(result.iccData);
      const auth = findTag(tlvs, 0x91);
      if (auth) answer.issuerAuthenticationData = auth.value;
      const scripts = tlvs.filter((t) => t.tag === 0x71 || t.tag === 0x72);
      if (scripts.length > 0) answer.issuerScripts = encodeTlv(scripts);
    }
    return answer;
  };
}
