/**
 * The ESC t code pages the printer driver can encode text for, as data: the config accepts
 * only these (an unknown page would print `?` for every accented letter, silently), and the
 * driver's builder (drivers/printer/code-pages.ts) encodes each text in the page selected.
 * In config/ because the schema names the allowed values and config imports no other layer.
 */
export const PRINTER_CODE_PAGES = {
  /** PC437: only its ASCII half is encoded; anything else prints as `?`. */
  0: 'PC437',
  /** WPC1252: its 0xA0..0xFF half is Latin-1, so Western European text prints whole. */
  16: 'WPC1252',
} as const;

export type PrinterCodePage = keyof typeof PRINTER_CODE_PAGES;

export function isPrinterCodePage(n: unknown): n is PrinterCodePage {
  return typeof n === 'number' && Object.hasOwn(PRINTER_CODE_PAGES, n);
}

/** "0 (PC437) or 16 (WPC1252)": for messages that name the allowed values. */
export function describePrinterCodePages(): string {
  const names = Object.entries(PRINTER_CODE_PAGES).map(([n, name]) => `${n} (${name})`);
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}
