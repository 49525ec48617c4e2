/**
 * The delivery receipt the courier hands over (or keeps): the waybill, the consignee, the
 * cash-on-delivery collected and how (with the change for cash), the courier, and the
 * consignee's signature as drawn. Card details are on the card payment's own receipt.
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
  cod?: { method: 'cash' | 'card'; amount: number; tendered?: number; change?: number };
  signature?: MonoImage;
}

export function buildDeliveryReceipt(input: DeliveryReceiptInput): Buffer {
  const columns = input.profile.columns;
  const pair = (left: string, right: string) => labelledLine(columns, left, right);
  const b = new EscPosBuilder(input.profile).init().align('center').bold().wrap(input.merchant.name).bold(false).wrap(`TID ${input.merchant.terminalId}`).align('left');
  b.line(pair(localDateText(input.at), localTimeText(input.at)));
  b.line(pair('WAYBILL', input.waybill));
  if (input.consignee) b.line(pair('CONSIGNEE', input.consignee));
  if (input.courierId) b.line(pair('COURIER', input.courierId));
  if (input.cod) {
    b.bold().line(pair(`COD ${input.cod.method.toUpperCase()}`, formatAmount(input.cod.amount, input.currency))).bold(false);
    if (input.cod.method === 'cash' && input.cod.tendered !== undefined) {
      b.line(pair('TENDERED', formatAmount(input.cod.tendered, input.currency)));
      b.line(pair('CHANGE', formatAmount(input.cod.change ?? 0, input.currency)));
    }
  } else {
    b.line('NOTHING TO COLLECT');
  }
  b.align('center').bold().doubleSize().line('DELIVERED').doubleSize(false).bold(false);
  if (input.signature) b.raster(input.signature).line('CONSIGNEE SIGNATURE');
  return b.feed(3).cut().build();
}
