/**
 * End of day: 0500 settlement with the batch's count and amount totals, and, when the
 * host answers that its totals differ, one 0320 batch upload per transaction followed
 * by a closing 0500 (processing code 960000 instead of 920000).
 */
import { PosError } from '../../../config/errors.js';
import { ISO8583_ERRORS } from '../errors.js';
import type { IsoFields, IsoMessage } from '../message.js';
import { amountField, messageTimes, nextStan, terminalFields, type MessageContext } from './context.js';
import { DE } from './fields.js';
import { MTI } from './mti.js';

/** A settled transaction as the journal keeps it (no track data, no PIN block). */
export interface BatchTransaction {
  /** MTI of the original request (0200, or 0220 for an offline approval). */
  mti: string;
  processingCode: string;
  amount: number | bigint;
  pan: string;
  expiry?: string;
  panSequenceNumber?: string;
  /** DE11, DE7, DE12 and DE13 of the original. */
  stan: string;
  transmission: string;
  localTime: string;
  localDate: string;
  posEntryMode: string;
  posConditionCode?: string;
  rrn: string;
  authCode: string;
  responseCode: string;
  iccData?: Buffer;
}

/** 0320 batch upload of one transaction; `last` marks the final one (DE3 last digit 0 vs 1, a common POS convention). */
export function buildBatchUpload(
  transaction: BatchTransaction,
  context: MessageContext,
  options: { last?: boolean } = {},
): IsoMessage {
  const times = messageTimes(context);
  const fields: IsoFields = {
    [DE.PAN]: transaction.pan,
    [DE.PROCESSING_CODE]: transaction.processingCode.slice(0, 5) + (options.last ? '0' : '1'),
    [DE.AMOUNT]: amountField(transaction.amount),
    ...terminalFields(context, times, nextStan(context), transaction),
    [DE.POS_ENTRY_MODE]: transaction.posEntryMode,
    [DE.POS_CONDITION]: transaction.posConditionCode ?? '00',
    [DE.RRN]: transaction.rrn,
    [DE.AUTH_CODE]: transaction.authCode,
    [DE.RESPONSE_CODE]: transaction.responseCode,
    [DE.ORIGINAL_DATA]: transaction.mti + transaction.stan + transaction.transmission + '0'.repeat(22),
  };
  if (transaction.expiry !== undefined) fields[DE.EXPIRY] = transaction.expiry;
  if (transaction.panSequenceNumber !== undefined) fields[DE.PAN_SEQUENCE] = transaction.panSequenceNumber;
  if (context.nii !== undefined) fields[DE.NII] = context.nii;
  if (transaction.iccData !== undefined) fields[DE.ICC_DATA] = transaction.iccData;
  return { mti: MTI.BATCH_UPLOAD, fields };
}

/** Counts and amounts (minor units) of a batch. Purchases are debits; refunds credits. */
export interface SettlementTotals {
  debitCount: number;
  debitAmount: number | bigint;
  creditCount: number;
  creditAmount: number | bigint;
  debitReversalCount?: number;
  debitReversalAmount?: number | bigint;
  creditReversalCount?: number;
  creditReversalAmount?: number | bigint;
}

export interface SettlementRequest {
  /** The batch number, 1..999999, sent in DE60 as 6 digits. */
  batchNumber: number;
  totals: SettlementTotals;
  /** True for the closing 0500 after a batch upload (DE3 960000); else 920000. */
  afterUpload?: boolean;
}

/** 0500 settlement: the totals in the ISO 8583 reconciliation fields DE74-77 (counts) and DE86-89 (amounts). */
export function buildSettlement(request: SettlementRequest, context: MessageContext): IsoMessage {
  const times = messageTimes(context);
  if (!Number.isInteger(request.batchNumber) || request.batchNumber < 1 || request.batchNumber > 999_999) {
    throw new PosError(
      ISO8583_ERRORS.BAD_VALUE,
      `ISO 8583 field 60: a batch number is 1 to 999999, not ${request.batchNumber}`,
      { details: { field: '60' } },
    );
  }
  const t = request.totals;
  const fields: IsoFields = {
    [DE.PROCESSING_CODE]: request.afterUpload ? '960000' : '920000',
    ...terminalFields(context, times, nextStan(context)),
    [DE.BATCH_NUMBER]: String(request.batchNumber).padStart(6, '0'),
    [DE.CREDITS_NUMBER]: count(t.creditCount, DE.CREDITS_NUMBER),
    [DE.CREDITS_REVERSAL_NUMBER]: count(t.creditReversalCount ?? 0, DE.CREDITS_REVERSAL_NUMBER),
    [DE.DEBITS_NUMBER]: count(t.debitCount, DE.DEBITS_NUMBER),
    [DE.DEBITS_REVERSAL_NUMBER]: count(t.debitReversalCount ?? 0, DE.DEBITS_REVERSAL_NUMBER),
    [DE.CREDITS_AMOUNT]: total(t.creditAmount, DE.CREDITS_AMOUNT),
    [DE.CREDITS_REVERSAL_AMOUNT]: total(t.creditReversalAmount ?? 0, DE.CREDITS_REVERSAL_AMOUNT),
    [DE.DEBITS_AMOUNT]: total(t.debitAmount, DE.DEBITS_AMOUNT),
    [DE.DEBITS_REVERSAL_AMOUNT]: total(t.debitReversalAmount ?? 0, DE.DEBITS_REVERSAL_AMOUNT),
  };
  if (context.nii !== undefined) fields[DE.NII] = context.nii;
  return { mti: MTI.SETTLEMENT, fields };
}

/** The totals a 0500 (or its 0510 echo) carries. */
export function readSettlementTotals(message: IsoMessage): SettlementTotals {
  const number = (field: number) => {
    const value = message.fields[field];
    return typeof value === 'string' ? Number(value) : 0;
  };
  const amount = (field: number) => {
    const value = message.fields[field];
    return typeof value === 'string' ? BigInt(value) : 0n;
  };
  return {
    debitCount: number(DE.DEBITS_NUMBER),
    debitAmount: amount(DE.DEBITS_AMOUNT),
    creditCount: number(DE.CREDITS_NUMBER),
    creditAmount: amount(DE.CREDITS_AMOUNT),
    debitReversalCount: number(DE.DEBITS_REVERSAL_NUMBER),
    debitReversalAmount: amount(DE.DEBITS_REVERSAL_AMOUNT),
    creditReversalCount: number(DE.CREDITS_REVERSAL_NUMBER),
    creditReversalAmount: amount(DE.CREDITS_REVERSAL_AMOUNT),
  };
}

function count(value: number, field: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 9_999_999_999) {
    throw new PosError(
      ISO8583_ERRORS.BAD_VALUE,
      `ISO 8583 field ${field}: a count is a whole number 0 to 9999999999, not ${value}`,
      { details: { field: String(field) } },
    );
  }
  return String(value).padStart(10, '0');
}

function total(value: number | bigint, field: number): string {
  const v = BigInt(value);
  if (v < 0n || v > 9_999_999_999_999_999n) {
    throw new PosError(
      ISO8583_ERRORS.BAD_VALUE,
      `ISO 8583 field ${field}: a total is 0 to 16 digits of minor units, not ${String(value)}`,
      { details: { field: String(field) } },
    );
  }
  return v.toString().padStart(16, '0');
}
