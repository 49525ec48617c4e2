/**
 * The slip of a cash handover, printed for the depot: who handed in (the courier) and who took
 * it (the depot clerk), the cash the terminal expected, what the clerk counted, the difference
 * and its reason, and a line for each of them to sign. Both keep a copy of what they signed for,
 * so the slip carries the handover's id, which the back-end knows it by.
 */
import { EscPosBuilder } from '../../drivers/printer/escpos.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import { formatAmount, labelledLine, localDateText, localTimeText } from '../payment/receipt.js';

export interface HandoverSlipInput {
  profile: PrinterProfile;
  merchant: { name: string; terminalId: string };
  at: Date;
  handoverId: string;
  /** The day handed over (YYYY-MM-DD, the terminal's local day). */
  day: string;
  courier: { id: string; name: string };
  clerkId: string;
  currency: string;
  expected: number;
  counted: number;
  /** Why the count differs from what was expected (present when it does). */
  reason?: string;
}

export function buildHandoverSlip(input: HandoverSlipInput): Buffer {
  const columns = input.profile.columns;
  const pair = (left: string, right: string) => labelledLine(columns, left, right);
  const money = (amount: number) => formatAmount(amount, input.currency);
  const b = new EscPosBuilder(input.profile)
    .init()
    .align('center')
    .bold()
    .wrap(input.merchant.name)
    .bold(false)
    .wrap(`TID ${input.merchant.terminalId}`);
  b.bold().doubleSize().line('CASH HANDOVER').doubleSize(false).bold(false).align('left');
  b.line(pair(localDateText(input.at), localTimeText(input.at)));
  b.line(pair('DAY', input.day));
  b.line(pair('COURIER', input.courier.id));
  b.wrap(input.courier.name);
  b.line(pair('DEPOT CLERK', input.clerkId));
  b.line(pair('EXPECTED', money(input.expected)));
  b.bold()
    .line(pair('COUNTED', money(input.counted)))
    .bold(false);
  b.line(pair('DIFFERENCE', money(input.counted - input.expected)));
  if (input.reason !== undefined) b.wrap(`REASON: ${input.reason}`);
  // A UUID is wider than a narrow roll: it wraps under its label.
  b.line('HANDOVER REF').wrap(input.handoverId);
  // Room above each line for a pen signature.
  const signatureLine = '_'.repeat(Math.min(columns, 32));
  b.feed(3).line(signatureLine).line('COURIER SIGNATURE');
  b.feed(3).line(signatureLine).line('DEPOT CLERK SIGNATURE');
  return b.feed(3).cut().build();
}
