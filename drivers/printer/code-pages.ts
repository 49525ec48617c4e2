/**
 * Text as the bytes of ESC t code page `page`; a character the page cannot show becomes `?`.
 * The pages the driver knows are listed in config/printer-code-pages.ts (the schema reads them).
 */
export function encodeForCodePage(text: string, page: number): Buffer {
  const latin1 = page === 16;
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes.push(
      code === 0x0a || (code >= 0x20 && code < 0x7f) || (latin1 && code >= 0xa0 && code <= 0xff) ? code : 0x3f,
    );
  }
  return Buffer.from(bytes);
}
