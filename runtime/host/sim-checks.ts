/**
 * What the acquirer simulator requires of a 0200 purchase before its issuer looks at the
 * card, as a real acquirer does:
 *
 * - chip entry (DE22 05x contact, 07x contactless; 80x fallback is a stripe read) carries its
 *   ICC data (DE55): without it, or with DE55 that is not BER-TLV, the request is a format
 *   error (30);
 * - track 2 (DE35), when present, is readable and names the same card as DE2 (PAN) and DE14
 *   (expiry): otherwise 30 — the request contradicts itself, which no issuer rule can judge;
 * - an online PIN is required (DE52, else 55) when the card's CVM results (9F34 in DE55) say
 *   online enciphered PIN, or, for a stripe read, when the service code's third digit is 0, 3
 *   or 5 (ISO/IEC 7813: PIN required), or 6 or 7 (prompt for PIN if a PIN pad is present) and
 *   the terminal says it has one (DE22's third digit 1). A terminal that asks for the PIN
 *   and then loses the block on the way is caught here, as certification would catch it.
 *
 * Pure functions over the decoded request; they never quote card data in a reason.
 */
import { DE, type IsoMessage } from '../../emv/iso8583/index.js';
import { decodeTlv, findTag, type Tlv } from '../../emv/tlv/index.js';
import { explainServiceCode, parseTrack2, type TrackData } from '../../emv/magstripe/index.js';

/** A refusal: the response code answered and why (no card data). */
export interface Refusal {
  code: string;
  reason: string;
}

/** A purchase as the simulator reads it. */
export interface PurchaseReading {
  entryMode: string;
  chip: boolean;
  /** DE55's objects, when present and readable. */
  icc?: Tlv[];
  /** DE35, when present and readable. */
  track?: TrackData;
  /** Set when the request is refused before the issuer sees it (format error 30). */
  refusal?: Refusal;
}

/** CVM code 02 (EMV Book 3, annex C3): enciphered PIN verified online; bits 7-8 are flags. */
const CVM_ONLINE_PIN = 0x02;
/** Service code third digits 6 and 7 (ISO/IEC 7813): prompt for the PIN if a PIN pad is present. */
const PIN_IF_PIN_PAD = new Set(['6', '7']);
/** DE22's third digit 1: the terminal can take a PIN (ISO 8583:1987 POS entry mode). */
const PIN_CAPABLE = '1';

/** DE22 05x (contact chip) and 07x (contactless chip) are chip reads; 80x is the stripe after a chip failed. */
export function isChipEntry(entryMode: string): boolean {
  return entryMode.startsWith('05') || entryMode.startsWith('07');
}

/** Reads a 0200 purchase's entry mode, DE55 and DE35, refusing one that is malformed or contradicts itself. */
export function readPurchase(request: IsoMessage): PurchaseReading {
  const entryMode =
    typeof request.fields[DE.POS_ENTRY_MODE] === 'string' ? (request.fields[DE.POS_ENTRY_MODE] as string) : '';
  const reading: PurchaseReading = { entryMode, chip: isChipEntry(entryMode) };
  const icc = request.fields[DE.ICC_DATA];
  if (reading.chip && !Buffer.isBuffer(icc))
    return refuse(reading, '30', `chip entry (DE22 ${entryMode}) without ICC data (DE55)`);
  if (Buffer.isBuffer(icc)) {
    try {
      reading.icc = decodeTlv(icc);
    } catch {
      return refuse(reading, '30', 'ICC data (DE55) is not BER-TLV');
    }
  }
  const track2 = request.fields[DE.TRACK2];
  if (typeof track2 === 'string') {
    try {
      reading.track = parseTrack2(track2);
    } catch {
      return refuse(reading, '30', 'track 2 data (DE35) cannot be read');
    }
    const pan = request.fields[DE.PAN];
    if (typeof pan === 'string' && pan !== reading.track.pan)
      return refuse(reading, '30', 'the PAN in track 2 (DE35) is not the PAN in DE2');
    const expiry = request.fields[DE.EXPIRY];
    if (typeof expiry === 'string' && expiry !== reading.track.expiry)
      return refuse(reading, '30', 'the expiry in track 2 (DE35) is not the expiry in DE14');
  }
  return reading;
}

/** Why this purchase must carry an online PIN (DE52), or undefined when it need not. */
export function onlinePinRequirement(reading: PurchaseReading): string | undefined {
  if (reading.chip) {
    const cvmResults = reading.icc === undefined ? undefined : findTag(reading.icc, 0x9f34)?.value;
    if (cvmResults !== undefined && cvmResults.length >= 1 && (cvmResults[0]! & 0x3f) === CVM_ONLINE_PIN)
      return "the card's CVM results (9F34) name online PIN";
    return undefined;
  }
  if (reading.track === undefined) return undefined;
  const { serviceCode } = reading.track;
  if (explainServiceCode(serviceCode).pinRequired) return `service code ${serviceCode} requires a PIN`;
  if (PIN_IF_PIN_PAD.has(serviceCode[2] ?? '') && reading.entryMode[2] === PIN_CAPABLE) {
    return `service code ${serviceCode} asks for a PIN where there is a PIN pad, and DE22 ${reading.entryMode} says there is one`;
  }
  return undefined;
}

function refuse(reading: PurchaseReading, code: string, reason: string): PurchaseReading {
  reading.refusal = { code, reason };
  return reading;
}
