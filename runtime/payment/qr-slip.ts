/**
 * The "scan to pay" slip, as ESC/POS bytes for the printer driver: the courier tears it off
 * and hands it over when the consignee's phone cannot see the screen. Merchant and terminal,
 * date and time, waybill, the amount, the merchant-presented QR payload as a symbol 30 to
 * 40 mm wide, "Scan with your wallet app" and the order reference the PSP knows the payment by.
 */
import { PosError } from '../../config/errors.js';
import { EscPosBuilder } from '../../drivers/printer/escpos.js';
import type { PrinterProfile } from '../../drivers/printer/profiles.js';
import { QR_QUIET_ZONE_MODULES, qrVersion, type QrErrorLevel } from '../../drivers/printer/qr-symbol.js';
import { formatAmount, labelledLine, localDateText, localTimeText } from './receipt.js';

export interface QrSlipInput {
  /** The EMV merchant-presented payload (emv/qr), printed as it is. */
  payload: string;
  /** Minor units. */
  amount: number;
  /** ISO 4217 numeric. */
  currency: string;
  waybill: string;
  merchantName: string;
  terminalLabel: string;
  /** The PSP order the payload pays. */
  orderRef: string;
  /** When the slip was printed (the terminal clock). */
  at: Date;
}

export interface QrSlipOptions {
  profile: PrinterProfile;
}

/**
 * Level M: the level wallet payment codes are printed at; it survives a crease or a smudge on
 * thermal paper and keeps a 512-character MPM payload at 3 dots a module on 58 mm paper.
 */
export const QR_SLIP_ERROR_LEVEL: QrErrorLevel = 'M';

/** The symbol's width bounds, in dots of a 203 dpi head (8 dots a millimetre): 30 and 40 mm. */
export const QR_SLIP_MIN_SYMBOL_DOTS = 240;
export const QR_SLIP_MAX_SYMBOL_DOTS = 320;

/**
 * Whole dots a module: the largest whose symbol stays within 40 mm, so the symbol does not
 * outgrow the slip; one more when that leaves it under 30 mm and the paper has room, because a
 * phone must still read it. A valid MPM payload (at most 512 characters) is version 18 or less
 * at level M, and lands within 30..40 mm; versions 23..25 and 36..40 come out up to 44 mm.
 */
export function slipModuleSize(version: number, profile: PrinterProfile): number {
  const modules = 17 + 4 * version;
  const fitsPaper = (size: number) => (modules + 2 * QR_QUIET_ZONE_MODULES) * size <= profile.dots;
  let size = Math.max(1, Math.min(16, Math.floor(QR_SLIP_MAX_SYMBOL_DOTS / modules)));
  while (size > 1 && !fitsPaper(size)) size--;
  if (size * modules < QR_SLIP_MIN_SYMBOL_DOTS && size < 16 && fitsPaper(size + 1)) size++;
  return size;
}

export function qrSlip(input: QrSlipInput, options: QrSlipOptions): Buffer {
  const { profile } = options;
  const version = qrVersion(Buffer.from(input.payload, 'utf8'), QR_SLIP_ERROR_LEVEL);
  if (version === undefined)
    throw new PosError(
      'CODPOS_USAGE_ESCPOS',
      `qrSlip: a payload of ${Buffer.byteLength(input.payload)} bytes does not fit a QR symbol at level ${QR_SLIP_ERROR_LEVEL}`,
    );
  const pair = (left: string, right: string) => labelledLine(profile.columns, left, right);
  const b = new EscPosBuilder(profile).init().align('center').bold().wrap(input.merchantName).bold(false);
  b.wrap(input.terminalLabel);
  b.bold().doubleSize().line('SCAN TO PAY').doubleSize(false).bold(false);
  b.align('left').line(pair(localDateText(input.at), localTimeText(input.at)));
  b.line(pair('WAYBILL', input.waybill));
  b.bold()
    .line(pair('AMOUNT', formatAmount(input.amount, input.currency)))
    .bold(false);
  b.align('center').qr(input.payload, {
    moduleSize: slipModuleSize(version, profile),
    errorLevel: QR_SLIP_ERROR_LEVEL,
  });
  b.wrap('Scan with your wallet app');
  b.align('left').line(pair('ORDER', input.orderRef));
  return b.feed(3).cut().build();
}
