/**
 * The receipt of a QR payment, as ESC/POS bytes for the printer driver, in the card receipt's
 * style (receipt.ts): merchant and terminal, date and time, waybill, what was paid (or, after a
 * refund, what was given back), "PAID BY QR" with the wallet that paid, the PSP's order id and
 * the terminal's journal id (what the PSP's helpdesk and the depot ask for), and the outcome.
 * A QR payment carries no card data: nothing of a card is printed.
 *
 * Only a payment whose outcome is known and moved money has a receipt: paid, or refunded
 * (the refund receipt). A pending or unknown payment may still go either way, and a declined or
 * cancelled one paid nothing; the screen says so, the printer does not.
 */
import { PosError } from '../../config/errors.js';
import { EscPosBuilder } from '../../drivers/printer/escpos.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import type { QrTransaction } from '../../spool/index.js';
import { formatAmount, labelledLine, localDateText, localTimeText } from './receipt.js';

export interface QrReceiptOptions {
  profile: PrinterProfile;
  /** From the config (terminal.merchantName, terminal.id, terminal.merchantId), as the card receipt's. */
  /** `header`: a parameter package's lines, printed in place of the name. */
  merchant: { name: string; terminalId: string; merchantId: string; header?: string[] };
  /** The time printed; default when the payment was last moved (paid, or refunded). */
  at?: Date;
  /** The receipt was printed before: this copy says REPRINT. */
  reprint?: boolean;
}

export function qrReceipt(txn: QrTransaction, options: QrReceiptOptions): Buffer {
  if (txn.state !== 'paid' && txn.state !== 'refunded')
    throw new PosError(
      'CODPOS_USAGE_NO_RECEIPT',
      `QR payment ${txn.id} is ${txn.state}: only a paid or refunded QR payment has a receipt`,
      { details: { qrPaymentId: txn.id, state: txn.state } },
    );
  const refund = txn.state === 'refunded';
  const columns = options.profile.columns;
  const pair = (left: string, right: string) => labelledLine(columns, left, right);
  const money = (amount: number) => formatAmount(amount, txn.currency);
  const at = options.at ?? new Date(txn.updatedAt);
  const b = new EscPosBuilder(options.profile).init().align('center').bold();
  for (const line of options.merchant.header ?? [options.merchant.name]) b.wrap(line);
  b.bold(false);
  b.wrap(`TID ${options.merchant.terminalId} MID ${options.merchant.merchantId}`);
  if (options.reprint) b.bold().line('*** REPRINT ***').bold(false);
  b.align('left');
  b.line(pair(localDateText(at), localTimeText(at)));
  b.line(pair('WAYBILL', txn.waybill));
  if (refund) {
    b.line('REFUND (CASH ON DELIVERY)');
    b.line(pair('PAID', money(txn.amount)));
    b.bold()
      .line(pair('REFUNDED', money(txn.refundedAmount)))
      .bold(false);
  } else {
    b.line('SALE (CASH ON DELIVERY)');
    b.bold()
      .line(pair('AMOUNT', money(txn.amount)))
      .bold(false);
  }
  b.line(pair('PAID BY QR', txn.wallet ? txn.wallet.toUpperCase() : 'WALLET'));
  // Ids are wider than a narrow roll: each wraps under its label.
  if (txn.pspOrderId) b.line('PSP ORDER').wrap(txn.pspOrderId);
  b.line('TERMINAL REF').wrap(txn.id);
  b.align('center')
    .bold()
    .doubleSize()
    .line(refund ? 'REFUNDED' : 'PAID')
    .doubleSize(false)
    .bold(false);
  return b.feed(3).cut().build();
}
