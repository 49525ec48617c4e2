/** Small helpers shared by the message builders and readers. */
import { PosError } from '../../../config/errors.js';
import { encodeTlv, type Tlv } from '../../tlv/index.js';
import { ISO8583_ERRORS } from '../errors.js';
import type { FieldValue, IsoFields, IsoMessage } from '../message.js';

/** Data elements a builder sets, by number, for readability at the call sites. */
export const DE = {
  PAN: 2,
  PROCESSING_CODE: 3,
  AMOUNT: 4,
  TRANSMISSION: 7,
  STAN: 11,
  LOCAL_TIME: 12,
  LOCAL_DATE: 13,
  EXPIRY: 14,
  MERCHANT_TYPE: 18,
  POS_ENTRY_MODE: 22,
  PAN_SEQUENCE: 23,
  NII: 24,
  POS_CONDITION: 25,
  TRACK2: 35,
  RRN: 37,
  AUTH_CODE: 38,
  RESPONSE_CODE: 39,
  TERMINAL_ID: 41,
  MERCHANT_ID: 42,
  CURRENCY: 49,
  PIN_BLOCK: 52,
  ICC_DATA: 55,
  BATCH_NUMBER: 60,
  NETWORK_CODE: 70,
  CREDITS_NUMBER: 74,
  CREDITS_REVERSAL_NUMBER: 75,
  DEBITS_NUMBER: 76,
  DEBITS_REVERSAL_NUMBER: 77,
  CREDITS_AMOUNT: 86,
  CREDITS_REVERSAL_AMOUNT: 87,
  DEBITS_AMOUNT: 88,
  DEBITS_REVERSAL_AMOUNT: 89,
  ORIGINAL_DATA: 90,
} as const;

/** DE55 from raw bytes or, more conveniently, a list of EMV TLV objects (encoded with emv/tlv). */
export function iccDataField(data: Buffer | Tlv[]): Buffer {
  return Buffer.isBuffer(data) ? data : encodeTlv(data);
}

/** Copies the named fields that are present in `from` into `to`. */
export function copyFields(from: IsoFields, to: IsoFields, numbers: readonly number[]): void {
  for (const n of numbers) {
    const value = from[n];
    if (value !== undefined) to[n] = value;
  }
}

/** A text or numeric field's value, or undefined. */
export function textField(message: IsoMessage, field: number): string | undefined {
  const value: FieldValue | undefined = message.fields[field];
  return typeof value === 'string' ? value : undefined;
}

/** A field the message type requires; PosError CODPOS_ISO8583_MISSING_FIELD naming it otherwise. */
export function requiredText(message: IsoMessage, field: number, what: string): string {
  const value = textField(message, field);
  if (value === undefined) {
    throw new PosError(
      ISO8583_ERRORS.MISSING_FIELD,
      `ISO 8583 ${message.mti}: field ${field} (${what}) is required and absent`,
      { details: { field: String(field), mti: message.mti } },
    );
  }
  return value;
}

/**
 * DE90, original data elements (n42): the original MTI, STAN and transmission date-time,
 * then the acquiring and forwarding institution codes (zeros from a terminal).
 */
export function originalDataElements(original: IsoMessage): string {
  const stan = requiredText(original, DE.STAN, 'STAN');
  const transmission = requiredText(original, DE.TRANSMISSION, 'transmission date and time');
  return original.mti + stan + transmission + '0'.repeat(22);
}
