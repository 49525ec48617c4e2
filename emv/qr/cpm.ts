/**
 * EMVCo QR Code Specification for Payment Systems, Consumer-Presented Mode (CPM): the code a
 * consignee's wallet shows and the terminal's scanner reads. The QR text is base64 of BER-TLV:
 * 85 payload format indicator "CPV01" first, then one or more application templates (61: AID,
 * label, PAN, track 2 equivalent, cryptogram data, an application specific transparent template
 * 63), and an optional common data template (62, with its transparent template 64) holding data
 * shared by all the applications.
 *
 * The payload carries card data (PAN, track 2 equivalent, cardholder name): it stays in the
 * returned object for the PSP request, and anything that shows it goes through
 * config/masking.ts (emv/tags describeTlv does). No error message here repeats a value.
 */
import { PosError } from '../../config/errors.js';
import { decodeTlv, encodeTlv, tagToHex, type Tlv } from '../tlv/index.js';

export const CPM_PAYLOAD_FORMAT_INDICATOR = 'CPV01';

const TAG_PAYLOAD_FORMAT_INDICATOR = 0x85;
const TAG_APPLICATION_TEMPLATE = 0x61;
const TAG_COMMON_DATA_TEMPLATE = 0x62;
const TAG_APPLICATION_TRANSPARENT_TEMPLATE = 0x63;
const TAG_COMMON_TRANSPARENT_TEMPLATE = 0x64;

/** The data of one application template (61) or of the common data template (62), typed where EMV names it. */
export interface CpmCardData {
  /** 4F Application Definition File name (AID), hex. */
  aid?: string;
  /** 50 Application Label. */
  label?: string;
  /** 5A Application PAN, digits (BCD padding F removed). Card data: mask before showing. */
  pan?: string;
  /** 57 Track 2 Equivalent Data, hex (D separates PAN and expiry). Card data: never show. */
  track2Equivalent?: string;
  /** 5F20 Cardholder Name. */
  cardholderName?: string;
  /** 5F2D Language Preference. */
  languagePreference?: string;
  /** 9F26 Application Cryptogram, hex. */
  applicationCryptogram?: string;
  /** 9F36 Application Transaction Counter, hex. */
  applicationTransactionCounter?: string;
  /** Every data object of the template, in order, transparent template (63/64) included. */
  elements: Tlv[];
}

export interface CpmPayload {
  payloadFormatIndicator: string;
  applications: CpmCardData[];
  /** The common data template (62), when present. */
  commonData?: CpmCardData;
  /** The whole decoded TLV, in order. */
  tlv: Tlv[];
}

/** What buildCpm puts in an application or the common data template. */
export interface CpmCardDataInput {
  aid?: string;
  label?: string;
  pan?: string;
  track2Equivalent?: string;
  cardholderName?: string;
  languagePreference?: string;
  /** Data objects for the transparent template (63 in an application, 64 in common data): tag hex -> value hex. */
  transparent?: Record<string, string>;
}

export interface CpmInput {
  applications: CpmCardDataInput[];
  commonData?: CpmCardDataInput;
}

function cpmError(message: string, details: Record<string, unknown> = {}, cause?: unknown): PosError {
  return new PosError('CODPOS_QR_CPM', `QR: consumer-presented code ${message}`, {
    details,
    ...(cause === undefined ? {} : { cause }),
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer {
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0)
    throw cpmError(`is not base64: a character outside the base64 alphabet at position ${bad}`, { offset: bad });
  if (!BASE64.test(text) || text.length % 4 !== 0) {
    throw cpmError('is not base64: padding misplaced or length not a multiple of 4', { length: text.length });
  }
  const bytes = Buffer.from(text, 'base64');
  // Node ignores stray bits in the last character: a code that does not round-trip is not canonical base64.
  if (bytes.toString('base64') !== text) throw cpmError('is not canonical base64 (its last character has stray bits)');
  return bytes;
}

function text(value: Buffer): string {
  return value.toString('latin1');
}

function hex(value: Buffer): string {
  return value.toString('hex').toUpperCase();
}

/** Reads the typed fields of a template, looking into its transparent template too. */
function cardData(template: Tlv, transparentTag: number): CpmCardData {
  const elements = template.children ?? [];
  const data: CpmCardData = { elements };
  const transparent = elements.find((e) => e.tag === transparentTag)?.children ?? [];
  for (const element of [...elements, ...transparent]) {
    switch (element.tag) {
      case 0x4f:
        data.aid = hex(element.value);
        break;
      case 0x50:
        data.label = text(element.value);
        break;
      case 0x5a:
        data.pan = hex(element.value).replace(/F+$/, '');
        break;
      case 0x57:
        data.track2Equivalent = hex(element.value);
        break;
      case 0x5f20:
        data.cardholderName = text(element.value);
        break;
      case 0x5f2d:
        data.languagePreference = text(element.value);
        break;
      case 0x9f26:
        data.applicationCryptogram = hex(element.value);
        break;
      case 0x9f36:
        data.applicationTransactionCounter = hex(element.value);
        break;
      default:
        break;
    }
  }
  return data;
}

/** Parses a CPM QR text; a fault is CODPOS_QR_CPM naming it (never the text itself). */
export function parseCpm(qrText: string): CpmPayload {
  if (typeof qrText !== 'string' || qrText.length === 0) throw cpmError('is empty');
  const bytes = decodeBase64(qrText);
  let tlv: Tlv[];
  try {
    tlv = decodeTlv(bytes);
  } catch (error) {
    if (error instanceof PosError) {
      throw cpmError(`is not BER-TLV: ${error.message}`, { ...(error.details ?? {}), tlvCode: error.code }, error);
    }
    throw error;
  }
  const first = tlv[0];
  if (first?.tag !== TAG_PAYLOAD_FORMAT_INDICATOR) {
    const found = tlv.findIndex((t) => t.tag === TAG_PAYLOAD_FORMAT_INDICATOR);
    throw cpmError(
      found < 0
        ? 'lacks the payload format indicator (tag 85)'
        : 'does not start with the payload format indicator (tag 85)',
      { tag: '85' },
    );
  }
  const indicator = text(first.value);
  if (indicator !== CPM_PAYLOAD_FORMAT_INDICATOR) {
    throw cpmError(`has payload format indicator (tag 85) of ${first.value.length} bytes that is not "CPV01"`, {
      tag: '85',
    });
  }
  const applications = tlv.filter((t) => t.tag === TAG_APPLICATION_TEMPLATE);
  if (applications.length === 0) throw cpmError('has no application template (tag 61)', { tag: '61' });
  const common = tlv.filter((t) => t.tag === TAG_COMMON_DATA_TEMPLATE);
  if (common.length > 1) throw cpmError('has more than one common data template (tag 62)', { tag: '62' });
  const payload: CpmPayload = {
    payloadFormatIndicator: indicator,
    applications: applications.map((a) => cardData(a, TAG_APPLICATION_TRANSPARENT_TEMPLATE)),
    tlv,
  };
  if (common[0] !== undefined) payload.commonData = cardData(common[0], TAG_COMMON_TRANSPARENT_TEMPLATE);
  return payload;
}

function hexValue(what: string, value: string): Buffer {
  if (!/^(?:[0-9A-Fa-f]{2})+$/.test(value)) {
    throw cpmError(`to build has a ${what} that is not whole bytes of hex`, { field: what });
  }
  return Buffer.from(value, 'hex');
}

function templateChildren(input: CpmCardDataInput, transparentTag: number): Tlv[] {
  const children: Tlv[] = [];
  if (input.aid !== undefined) children.push({ tag: 0x4f, value: hexValue('aid', input.aid) });
  if (input.label !== undefined) children.push({ tag: 0x50, value: Buffer.from(input.label, 'latin1') });
  if (input.track2Equivalent !== undefined) {
    children.push({ tag: 0x57, value: hexValue('track2Equivalent', input.track2Equivalent) });
  }
  if (input.pan !== undefined) {
    if (!/^\d{8,19}$/.test(input.pan))
      throw cpmError('to build has a PAN that is not 8 to 19 digits', { field: 'pan' });
    children.push({ tag: 0x5a, value: Buffer.from(input.pan.length % 2 ? `${input.pan}F` : input.pan, 'hex') });
  }
  if (input.cardholderName !== undefined) {
    children.push({ tag: 0x5f20, value: Buffer.from(input.cardholderName, 'latin1') });
  }
  if (input.languagePreference !== undefined) {
    children.push({ tag: 0x5f2d, value: Buffer.from(input.languagePreference, 'latin1') });
  }
  if (input.transparent !== undefined) {
    const inner: Tlv[] = Object.entries(input.transparent).map(([tag, value]) => ({
      tag: Number.parseInt(hexValue('transparent tag', tag).toString('hex'), 16),
      value: hexValue(`transparent ${tag} value`, value),
    }));
    children.push({ tag: transparentTag, value: Buffer.alloc(0), children: inner });
  }
  return children;
}

/** Builds a CPM QR text (base64 of the TLV), as a wallet shows it; parseCpm reads it back. */
export function buildCpm(input: CpmInput): string {
  if (input.applications.length === 0) throw cpmError('to build has no application', { tag: '61' });
  const items: Tlv[] = [
    { tag: TAG_PAYLOAD_FORMAT_INDICATOR, value: Buffer.from(CPM_PAYLOAD_FORMAT_INDICATOR, 'latin1') },
  ];
  for (const application of input.applications) {
    items.push({
      tag: TAG_APPLICATION_TEMPLATE,
      value: Buffer.alloc(0),
      children: templateChildren(application, TAG_APPLICATION_TRANSPARENT_TEMPLATE),
    });
  }
  if (input.commonData !== undefined) {
    items.push({
      tag: TAG_COMMON_DATA_TEMPLATE,
      value: Buffer.alloc(0),
      children: templateChildren(input.commonData, TAG_COMMON_TRANSPARENT_TEMPLATE),
    });
  }
  let encoded: Buffer;
  try {
    encoded = encodeTlv(items);
  } catch (error) {
    if (error instanceof PosError)
      throw cpmError(`to build does not encode: ${error.message}`, error.details ?? {}, error);
    throw error;
  }
  return encoded.toString('base64');
}

/** Names of the CPM-specific tags, which mean other things elsewhere in EMV. */
export const CPM_TAG_NAMES: Readonly<Record<string, string>> = {
  [tagToHex(TAG_PAYLOAD_FORMAT_INDICATOR)]: 'Payload Format Indicator',
  [tagToHex(TAG_APPLICATION_TEMPLATE)]: 'Application Template',
  [tagToHex(TAG_COMMON_DATA_TEMPLATE)]: 'Common Data Template',
  [tagToHex(TAG_APPLICATION_TRANSPARENT_TEMPLATE)]: 'Application Specific Transparent Template',
  [tagToHex(TAG_COMMON_TRANSPARENT_TEMPLATE)]: 'Common Data Transparent Template',
};
