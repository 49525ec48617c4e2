/**
 * Service code (ISO/IEC 7813, three digits) meaning and the chip-first rule.
 *
 * Chip first: a service code starting 2 or 6 says the card carries a chip, so a swipe
 * is refused and the courier is told to insert the card; the swipe is accepted only
 * after a chip read of that same card failed (technical fallback), and the transaction
 * then carries POS entry mode 80 instead of 90.
 */

export interface ServiceCodeMeaning {
  interchange: string;
  authorization: string;
  services: string;
  /** First digit 2 or 6: an integrated circuit (chip) is present and must be used. */
  chipCard: boolean;
  /** Third digit 0, 3 or 5: PIN required. */
  pinRequired: boolean;
  /** Second digit 2: the issuer wants every transaction online. */
  onlineRequired: boolean;
}

const INTERCHANGE: Record<string, string> = {
  '1': 'international interchange OK',
  '2': 'international interchange, use IC (chip) where feasible',
  '5': 'national interchange only',
  '6': 'national interchange only, use IC (chip) where feasible',
  '7': 'no interchange except under bilateral agreement',
  '9': 'test card',
};
const AUTHORIZATION: Record<string, string> = {
  '0': 'normal authorization',
  '2': 'contact issuer via online means',
  '4': 'contact issuer via online means except under bilateral agreement',
};
const SERVICES: Record<string, string> = {
  '0': 'no restrictions, PIN required',
  '1': 'no restrictions',
  '2': 'goods and services only',
  '3': 'ATM only, PIN required',
  '4': 'cash only',
  '5': 'goods and services only, PIN required',
  '6': 'no restrictions, prompt for PIN if PED present',
  '7': 'goods and services only, prompt for PIN if PED present',
};

export function explainServiceCode(code: string): ServiceCodeMeaning {
  const [d1 = '', d2 = '', d3 = ''] = code.split('');
  return {
    interchange: INTERCHANGE[d1] ?? `reserved (${d1})`,
    authorization: AUTHORIZATION[d2] ?? `reserved (${d2})`,
    services: SERVICES[d3] ?? `reserved (${d3})`,
    chipCard: d1 === '2' || d1 === '6',
    pinRequired: d3 === '0' || d3 === '3' || d3 === '5',
    onlineRequired: d2 === '2',
  };
}

export type SwipeDecision =
  { accept: true; posEntryMode: '90' | '80'; fallback: boolean } | { accept: false; reason: 'insert-chip' };

/**
 * Whether a swipe may proceed. `chipFailedOnThisCard` must be true only when a chip
 * read of the same card (same PAN) failed just before.
 */
export function decideSwipe(serviceCode: string, chipFailedOnThisCard: boolean): SwipeDecision {
  if (!explainServiceCode(serviceCode).chipCard) return { accept: true, posEntryMode: '90', fallback: false };
  if (chipFailedOnThisCard) return { accept: true, posEntryMode: '80', fallback: true };
  return { accept: false, reason: 'insert-chip' };
}
