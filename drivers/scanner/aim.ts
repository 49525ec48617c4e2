/**
 * AIM symbology identifiers (ISO/IEC 15424): `]` + code character + modifier,
 * sent by scanners before the data. The table maps the code character to a
 * symbology name; a few modifiers refine it (E4 = EAN-8, Q1..Q6 = QR).
 */
export type Symbology =
  | 'EAN-13'
  | 'EAN-8'
  | 'UPC-E'
  | 'Code 128'
  | 'GS1-128'
  | 'Code 39'
  | 'Code 93'
  | 'Codabar'
  | 'Interleaved 2 of 5'
  | 'QR Code'
  | 'Data Matrix'
  | 'PDF417'
  | 'Aztec'
  | 'GS1 DataBar'
  | 'unknown';

const BY_CODE: Record<string, Symbology> = {
  E: 'EAN-13',
  C: 'Code 128',
  A: 'Code 39',
  G: 'Code 93',
  F: 'Codabar',
  I: 'Interleaved 2 of 5',
  Q: 'QR Code',
  d: 'Data Matrix',
  L: 'PDF417',
  z: 'Aztec',
  e: 'GS1 DataBar',
};

export function symbologyOfAim(id: string): Symbology {
  if (id.length !== 3 || id[0] !== ']') return 'unknown';
  const code = id[1]!;
  const modifier = id[2]!;
  if (code === 'E' && modifier === '4') return 'EAN-8';
  if (code === 'E' && modifier === '1') return 'UPC-E';
  if (code === 'C' && modifier === '1') return 'GS1-128';
  return BY_CODE[code] ?? 'unknown';
}

export function aimOfSymbology(symbology: Symbology): string {
  switch (symbology) {
    case 'EAN-8':
      return ']E4';
    case 'UPC-E':
      return ']E1';
    case 'GS1-128':
      return ']C1';
    case 'QR Code':
      return ']Q1';
    case 'Data Matrix':
      return ']d2';
    case 'PDF417':
      return ']L2';
    default: {
      const code = Object.entries(BY_CODE).find(([, name]) => name === symbology)?.[0];
      return code ? `]${code}0` : ']X0';
    }
  }
}

/** Splits `]E04006381333931` into its symbology and data; without a valid AIM prefix, all of it is data. */
export function splitAim(text: string): { symbology: Symbology; aimId?: string; data: string } {
  if (/^\][A-Za-z][0-9A-Za-z]/.test(text)) {
    const aimId = text.slice(0, 3);
    return { symbology: symbologyOfAim(aimId), aimId, data: text.slice(3) };
  }
  return { symbology: 'unknown', data: text };
}
