/**
 * The delivery receipt the courier hands over (or keeps): the waybill, the consignee, the
 * cash-on-delivery collected and each part of it (a card as its last four digits and the amount
 * its issuer approved; a QR payment as "QR" and the wallet that paid; cash with what was
 * tendered and the change), the courier, and the consignee's signature as drawn. The rest of a
 * card's or a QR payment's details is on its own payment receipt.
 */
import { EscPosBuilder, type MonoImage } from '../../drivers/printer/escpos.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import { formatAmount, labelledLine, localDateText, localTimeText } from '../payment/receipt.js';

export interface DeliveryReceiptInput {
  profile: PrinterProfile;
  merchant: { name: string; terminalId: string };
  at: Date;
  waybill: string;
  consignee?: string | null;
  courierId?: string;
  currency: string;
  /** The COD due and the parts that brought it in. */
  cod?: { due: number; parts: DeliveryReceiptPart[] };
  signature?: MonoImage;
}

export type DeliveryReceiptPart =
  | { method: 'cash'; amount: number; tendered: number; change: number }
  | { method: 'card'; amount: number; panLast4: string | null }
  /** `wallet`: the wallet that paid, as the PSP named it (null when it did not). */
  | { method: 'qr'; amount: number; wallet: string | null };

export function buildDeliveryReceipt(input: DeliveryReceiptInput): Buffer {
  const columns = input.profile.columns;
  const pair = (left: string, right: string) => labelledLine(columns, left, right);
  const b = new EscPosBuilder(input.profile)
    .init()
    .align('center')
    .bold()
    .wrap(input.merchant.name)
    .bold(false)
    .wrap(`TID ${input.merchant.terminalId}`)
    .align('left');
  b.line(pair(localDateText(input.at), localTimeText(input.at)));
  b.line(pair('WAYBILL', input.waybill));
  if (input.consignee) b.line(pair('CONSIGNEE', input.consignee));
  if (input.courierId) b.line(pair('COURIER', input.courierId));
  if (input.cod) {
    const { parts } = input.cod;
    // One part is the COD line itself; several are listed under the total.
    const single = parts.length === 1;
    if (!single)
      b.bold()
        .line(pair('COD', formatAmount(input.cod.due, input.currency)))
        .bold(false);
    for (const part of parts) {
      const label = `${single ? 'COD ' : ''}${partLabel(part)}`;
      if (single) b.bold();
      b.line(pair(label, formatAmount(part.amount, input.currency)));
      if (single) b.bold(false);
      if (part.method === 'cash') {
        b.line(pair('TENDERED', formatAmount(part.tendered, input.currency)));
        b.line(pair('CHANGE', formatAmount(part.change, input.currency)));
      }
    }
  } else {
    b.line('NOTHING TO COLLECT');
  }
  b.align('center').bold().doubleSize().line('DELIVERED').doubleSize(false).bold(false);
  if (input.signature) b.raster(input.signature).line('CONSIGNEE SIGNATURE');
  return b.feed(3).cut().build();
}

function partLabel(part: DeliveryReceiptPart): string {
  if (part.method === 'card') return `CARD${part.panLast4 ? ` **** ${part.panLast4}` : ''}`;
  if (part.method === 'qr') return `QR${part.wallet ? ` ${part.wallet.toUpperCase()}` : ''}`;
  return 'CASH';
}
