/**
 * What the acquirer simulator records of each exchange: what a certification engineer reads
 * in a terminal's traffic, and never card data. The PAN, track 2, the PIN block and the
 * cryptograms stay out; only that they were there (`hasTrack2`, ...), and the chip's
 * verdicts (TVR, TSI, cryptogram type, issuer script results) which are not secrets.
 */
import { decodeTlv, findTag, type Tlv } from '../../emv/tlv/index.js';
import { DE, type IsoMessage } from '../../emv/iso8583/index.js';
import type { SimFault } from './sim-faults.js';

/** DE18, the merchant category code (not in the builders' DE table). */
export const MERCHANT_CATEGORY_FIELD = 18;

export type CryptogramType = 'AAC' | 'TC' | 'ARQC' | 'AAR';

/** What the simulator saw, without card data: for tests, the audit and the CLI. */
export interface SimExchange {
  mti: string;
  stan?: string;
  terminalId?: string;
  /** The answer's response code, or what happened instead ('no answer', 'dropped the connection'). */
  answer: string;
  /** DE90's original MTI + STAN for voids, reversals and advices. */
  original?: string;
  /** DE22, the POS entry mode (051 chip, 901 stripe, 801 chip fallback, ...). */
  entryMode?: string;
  /** Set when a rule or fault held the answer back this long. */
  delayMs?: number;
  /** DE4 as asked, minor units. */
  amount?: number;
  /** DE4 of the answer when it approved less than asked (10, partial approval). */
  approvedAmount?: number;
  /** DE25, the POS condition code (a reversal's reason). */
  posConditionCode?: string;
  /** DE38 carried by the request: a reversal or void naming the approval it undoes, an advice's code. */
  authCode?: string;
  /** DE18, when present. */
  merchantCategoryCode?: string;
  hasTrack2: boolean;
  hasPinBlock: boolean;
  hasIcc: boolean;
  /** From DE55: TVR (95), TSI (9B), hex. */
  tvr?: string;
  tsi?: string;
  /** From DE55 9F27, the cryptogram information data. */
  cryptogramType?: CryptogramType;
  /** From DE55 9F5B, hex. */
  issuerScriptResults?: string;
  /** From DE55 9F1E, the IFD (terminal) serial number. */
  ifdSerialNumber?: string;
  /** A purchase's ARQC (DE55 9F26), checked with the issuer's keys for the card: verified or failed. */
  arqc?: 'verified' | 'failed';
  /** Why the simulator refused the request (strictness, unknown card, wrong PIN, ARQC): with a masked PAN at most. */
  refusal?: string;
  /** The random fault drawn for this request (the `faults` option), if any. */
  fault?: SimFault;
  /** What the issuer decided when the answer was then withheld (silent, drop): the host booked it if approved. */
  withheldAnswer?: string;
  /** A 0220/0221 naming an authorization (DE90): the card's completion, not a new sale. */
  completion?: boolean;
}

/** The exchange's record of what arrived; `answer` is filled in when decided. */
export function recordArrival(request: IsoMessage): SimExchange {
  const text = (field: number): string | undefined => {
    const value = request.fields[field];
    return typeof value === 'string' ? value : undefined;
  };
  const exchange: SimExchange = {
    mti: request.mti,
    answer: '',
    hasTrack2: request.fields[DE.TRACK2] !== undefined,
    hasPinBlock: request.fields[DE.PIN_BLOCK] !== undefined,
    hasIcc: request.fields[DE.ICC_DATA] !== undefined,
  };
  const put = <K extends keyof SimExchange>(key: K, value: SimExchange[K] | undefined) => {
    if (value !== undefined) exchange[key] = value;
  };
  put('stan', text(DE.STAN));
  put('terminalId', text(DE.TERMINAL_ID));
  put('original', text(DE.ORIGINAL_DATA)?.slice(0, 10));
  put('entryMode', text(DE.POS_ENTRY_MODE));
  const amount = text(DE.AMOUNT);
  if (amount !== undefined && /^[0-9]+$/.test(amount)) exchange.amount = Number(amount);
  put('posConditionCode', text(DE.POS_CONDITION));
  put('authCode', text(DE.AUTH_CODE));
  put('merchantCategoryCode', text(MERCHANT_CATEGORY_FIELD));
  const icc = request.fields[DE.ICC_DATA];
  if (Buffer.isBuffer(icc)) {
    let tlvs: Tlv[] | undefined;
    try {
      tlvs = decodeTlv(icc);
    } catch {
      tlvs = undefined; // the issuer's check answers a DE55 that does not decode; the record just lacks its tags
    }
    if (tlvs) {
      const hex = (tag: number) => findTag(tlvs, tag)?.value.toString('hex').toUpperCase();
      put('tvr', hex(0x95));
      put('tsi', hex(0x9b));
      put('issuerScriptResults', hex(0x9f5b));
      const cid = findTag(tlvs, 0x9f27)?.value[0];
      if (cid !== undefined) exchange.cryptogramType = cryptogramTypeOf(cid);
      const ifd = findTag(tlvs, 0x9f1e)?.value;
      if (ifd !== undefined) exchange.ifdSerialNumber = ifd.toString('latin1');
    }
  }
  return exchange;
}

/** 9F27 bits 8-7 (EMV Book 3, table 15): 00 AAC, 01 TC, 10 ARQC, 11 AAR. */
export function cryptogramTypeOf(cid: number): CryptogramType {
  return (['AAC', 'TC', 'ARQC', 'AAR'] as const)[(cid >> 6) & 3]!;
}
