/**
 * The delivery receipt the courier hands over (or keeps): the waybill, the consignee, the
 * cash-on-delivery collected and how (with the change for cash), the courier, and the
 * consignee's signature as drawn. Card details are on the card payment's own receipt.
 */
import { EscPosBuilder, type MonoImage } from '../../drivers/printer/escpos.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import { formatAmount } from '../payment/receipt.js';

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
  const pair = (left: string, right: string) => (left.length + 1 + right.length <= columns ? `${left}${' '.repeat(columns - left.length - right.length)}${right}` : `${left}\n${right.padStart(columns)}`);
  const b = new EscPosBuilder(input.profile).init().align('center').bold().wrap(input.merchant.name).bold(false).wrap(`TID ${input.merchant.terminalId}`).align('left');
  const at = input.at;
  const two = (n: number) => String(n).padStart(2, '0');
  b.line(pair(`${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`, `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`));
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
