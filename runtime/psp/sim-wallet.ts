/**
 * The consignee's wallet, as the PSP simulator plays it: it scans the merchant-presented code
 * the terminal shows and pays or declines that order, or it makes a consumer-presented code for
 * the terminal's scanner and says, when the terminal presents it, whether the consignee pays.
 *
 * A wallet checks what it scans: the order the payload names (additional data, tag 62 sub-tag
 * 05, the reference label = the orderRef) must exist and carry the payload's amount and currency,
 * or it refuses to pay (a terminal showing one amount and charging another is the fraud this stops).
 */
import { buildCpm, parseMpm } from '../../emv/qr/index.js';
import type { PspOrder } from './types.js';
import type { SimBook, SimOrder } from './sim-book.js';

export type WalletChoice = 'pay' | 'decline' | 'ignore';

/** What a wallet action came to: data, not an error (a refusal is an outcome). */
export interface WalletResult {
  outcome: 'paid' | 'declined' | 'waiting' | 'refused';
  order?: PspOrder;
  /** Why the wallet refused or the PSP declined. */
  reason?: string;
}

/** What the wallet reads from a merchant-presented payload (emv/qr's parse, adapted). */
export interface ScannedMpm {
  orderRef?: string;
  /** Minor units. */
  amount?: number;
  currency?: string;
}

export type MpmReader = (payload: string) => ScannedMpm;

/** The wallet's reading of a payload: emv/qr's parse (CRC, lengths, the amount by the currency's exponent). */
export function readMpmPayload(payload: string): ScannedMpm {
  const parsed = parseMpm(payload);
  return {
    ...(parsed.additionalData?.referenceLabel !== undefined ? { orderRef: parsed.additionalData.referenceLabel } : {}),
    ...(parsed.amountMinor !== undefined ? { amount: parsed.amountMinor } : {}),
    currency: parsed.currency,
  };
}

/** The simulator's side of a wallet action: the PSP applies the order's behaviour. */
export type WalletSettle = (entry: SimOrder, choice: WalletChoice) => WalletResult;

/** A consumer code the wallet issued, and what the consignee will do when the terminal presents it. */
interface IssuedCode {
  choice: WalletChoice;
  used: boolean;
}

export const SIM_WALLET_NAME = 'simwallet';
/** The simulated wallet's application id in its CPM codes (a proprietary RID, not a card scheme's). */
export const SIM_WALLET_AID = 'F0000000535744';

export class SimWallet {
  private readonly issued = new Map<string, IssuedCode>();

  constructor(
    private readonly book: SimBook,
    private readonly settle: WalletSettle,
    private readonly random: () => number,
    private readonly readMpm: MpmReader = readMpmPayload,
  ) {}

  /** Scans the terminal's MPM payload and pays, declines or ignores the order it names. */
  scan(payload: string, options: { outcome: WalletChoice }): WalletResult {
    let scanned: ScannedMpm;
    try {
      scanned = this.readMpm(payload);
    } catch (error) {
      return { outcome: 'refused', reason: `not an EMV merchant-presented code (${(error as Error).message})` };
    }
    if (scanned.orderRef === undefined)
      return { outcome: 'refused', reason: 'the code has no reference label (tag 62 sub-tag 05)' };
    const entry = this.book.get(scanned.orderRef);
    if (!entry) return { outcome: 'refused', reason: `the PSP has no order ${scanned.orderRef}` };
    if (scanned.amount !== entry.order.amount)
      return {
        outcome: 'refused',
        order: entry.order,
        reason: `the code says amount ${scanned.amount ?? 'none'}, the order ${entry.order.amount}`,
      };
    if (scanned.currency !== entry.order.currency)
      return {
        outcome: 'refused',
        order: entry.order,
        reason: `the code says currency ${scanned.currency ?? 'none'}, the order ${entry.order.currency}`,
      };
    return this.payOrder(scanned.orderRef, options);
  }

  /** The wallet pays, declines or ignores an order it found by its orderRef (as if scanned). */
  payOrder(orderRef: string, options: { outcome: WalletChoice }): WalletResult {
    const entry = this.book.get(orderRef);
    if (!entry) return { outcome: 'refused', reason: `the PSP has no order ${orderRef}` };
    if (entry.order.mode !== 'merchant')
      return { outcome: 'refused', order: entry.order, reason: 'a consumer-presented order is paid by its code' };
    if (entry.order.status !== 'created' && entry.order.status !== 'waiting')
      return { outcome: 'refused', order: entry.order, reason: `the order is ${entry.order.status}` };
    return this.settle(entry, options.outcome);
  }

  /**
   * A code for the terminal's scanner, drawn from the simulator's seeded PRNG. `token`: a wallet
   * token, `SIMWALLET` and 20 digits (letters and digits only, as emv/qr's parseConsumerCode
   * takes a token). `cpm`: an EMV consumer-presented payload (base64 BER-TLV, emv/qr's buildCpm)
   * with one application: the wallet's AID and label and a cryptogram and counter, no PAN or
   * track data (a tokenised wallet; the code is printed on the simulator's console). What the
   * consignee does when the terminal presents it is `outcome`; a code pays once.
   */
  consumerCode(options: { kind: 'token' | 'cpm'; outcome: WalletChoice }): string {
    let code: string;
    do code = options.kind === 'cpm' ? this.cpmCode() : `SIMWALLET${this.digits(20)}`;
    while (this.issued.has(code));
    this.issued.set(code, { choice: options.outcome, used: false });
    return code;
  }

  private digits(count: number): string {
    return Array.from({ length: count }, () => Math.floor(this.random() * 10)).join('');
  }

  private hexBytes(count: number): string {
    return Array.from({ length: count }, () =>
      Math.floor(this.random() * 256)
        .toString(16)
        .padStart(2, '0'),
    )
      .join('')
      .toUpperCase();
  }

  private cpmCode(): string {
    return buildCpm({
      applications: [
        {
          aid: SIM_WALLET_AID,
          label: 'SIMWALLET',
          transparent: { '9F26': this.hexBytes(8), '9F36': this.hexBytes(2), '9F37': this.hexBytes(4) },
        },
      ],
    });
  }

  /** The terminal presented a consumer code: what the consignee does, or why it cannot pay. */
  present(code: string): { choice: WalletChoice } | { refused: string } {
    const issued = this.issued.get(code);
    if (!issued) return { refused: 'unknown consumer code' };
    if (issued.used) return { refused: 'consumer code already used' };
    issued.used = true;
    return { choice: issued.choice };
  }
}
