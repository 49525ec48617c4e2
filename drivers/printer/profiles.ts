/**
 * Printer capabilities as data (python-escpos keeps them in a profile file):
 * paper width in dots and the text columns of font A (12 dots wide).
 */
import { PosError } from '../../config/errors.js';

export interface PrinterProfile {
  name: '58mm' | '80mm';
  /** Printable width in dots (203 dpi heads). */
  dots: number;
  /** Characters per line in font A at normal width. */
  columns: number;
  /**
   * The code page (ESC t) that init() selects and text is encoded in: set by the driver
   * from `devices.printer.codePage`; absent, init() leaves the printer's own default.
   */
  codePage?: number;
}

export const PRINTER_PROFILES: Record<PrinterProfile['name'], PrinterProfile> = {
  '58mm': { name: '58mm', dots: 384, columns: 32 },
  '80mm': { name: '80mm', dots: 576, columns: 48 },
};

export function printerProfile(name: string): PrinterProfile {
  const profile = PRINTER_PROFILES[name as PrinterProfile['name']];
  if (!profile)
    throw new PosError(
      'CODPOS_USAGE_PRINTER_PROFILE',
      `printer profile "${name}" is unknown: use ${Object.keys(PRINTER_PROFILES).join(' or ')}`,
    );
  return profile;
}
