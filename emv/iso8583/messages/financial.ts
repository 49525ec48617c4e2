/**
 * Financial messages a courier terminal sends: 0200 purchase, void (0200 with
 * processing code 02), 0400/0401 reversal, 0220/0221 advice of an offline approval, and
 * the 0220 completion advice that brings the card's final cryptogram (TC) of an online
 * approval to the acquirer. Builders return IsoMessages for the terminal's 1987 layout
 * (pos87b / iso87b); the STAN and date-times come from the injected context. Track data
 * (DE35) and the PIN block (DE52) appear only in the live request, never in messages built
 * later (reversal, advices): PCI DSS forbids keeping them.
 */
import type { Tlv } from '../../tlv/index.js';
import type { IsoFields, IsoMessage } from '../message.js';
import {
  amountField,
  messageTimes,
  nextStan,
  retrievalReference,
  terminalFields,
  type MessageContext,
} from './context.js';
import { DE, copyFields, iccDataField, originalDataElements, requiredText } from './fields.js';
import { MTI, repeatMti } from './mti.js';
import { reversalReasonCode, type ReversalReason } from './reversal-reason.js';

export interface CardData {
  /** DE2, for chip and keyed entry (a swiped card's PAN travels inside DE35 instead; a chip card sends both). */
  pan?: string;
  /** DE14, YYMM. */
  expiry?: string;
  /** DE35: the stripe's track 2, or a chip card's track 2 equivalent data (tag 57), `=` as the separator. */
  track2?: string;
  /** DE23, the card sequence number (3 digits). */
  panSequenceNumber?: string;
}

export interface PurchaseRequest {
  /** Minor units (cents). */
  amount: number | bigint;
  card: CardData;
  /** DE22, e.g. 051 chip + PIN, 021 magstripe, 071 contactless, 801 fallback. */
  posEntryMode: string;
  /** DE25, default 00 (normal). */
  posConditionCode?: string;
  /** DE52, an 8-byte encrypted PIN block. */
  pinBlock?: Buffer;
  /** DE55, ICC data as bytes or as EMV TLV objects. */
  iccData?: Buffer | Tlv[];
  /** DE3, default 000000 (purchase, default accounts). */
  processingCode?: string;
}

/** 0200 purchase. */
export function buildPurchase(request: PurchaseRequest, context: MessageContext): IsoMessage {
  const times = messageTimes(context);
  const stan = nextStan(context);
  const fields: IsoFields = {
    [DE.PROCESSING_CODE]: request.processingCode ?? '000000',
    [DE.AMOUNT]: amountField(request.amount),
    ...terminalFields(context, times, stan),
    [DE.POS_ENTRY_MODE]: request.posEntryMode,
    [DE.POS_CONDITION]: request.posConditionCode ?? '00',
    [DE.RRN]: retrievalReference(times, stan),
  };
  addCard(fields, request.card);
  addMerchantType(fields, context);
  if (context.nii !== undefined) fields[DE.NII] = context.nii;
  if (request.pinBlock !== undefined) fields[DE.PIN_BLOCK] = request.pinBlock;
  if (request.iccData !== undefined) fields[DE.ICC_DATA] = iccDataField(request.iccData);
  return { mti: MTI.FINANCIAL_REQUEST, fields };
}

/** What a void needs from the approved purchase: its request and the approval it got. */
export interface ApprovedTransaction {
  request: IsoMessage;
  /** DE37 and DE38 of the approval. */
  rrn: string;
  authCode: string;
}

/**
 * Void of an approved purchase: 0200 with processing code 02xxxx, the original amount,
 * RRN and approval code, and DE90 naming the original. The card need not be present.
 */
export function buildVoid(original: ApprovedTransaction, context: MessageContext): IsoMessage {
  const times = messageTimes(context);
  const processingCode = requiredText(original.request, DE.PROCESSING_CODE, 'processing code');
  const fields: IsoFields = {
    [DE.PROCESSING_CODE]: '02' + processingCode.slice(2),
    [DE.AMOUNT]: requiredText(original.request, DE.AMOUNT, 'amount'),
    ...terminalFields(context, times, nextStan(context)),
    [DE.RRN]: original.rrn,
    [DE.AUTH_CODE]: original.authCode,
    [DE.ORIGINAL_DATA]: originalDataElements(original.request),
  };
  addCardOfOriginal(original.request, fields, context);
  return { mti: MTI.FINANCIAL_REQUEST, fields };
}

/**
 * What a reversal says beyond the original request. Without any, the 0400 is today's timeout
 * reversal: the original's fields (DE25 and DE55 as they were), no DE38.
 */
export interface ReversalOptions {
  /** Why: DE25 gets the reason's code (`REVERSAL_REASON_CODES`) instead of the original's POS condition. */
  reason?: ReversalReason;
  /** DE38: the approval code, when the reversal undoes an approval the host gave. */
  authCode?: string;
  /**
   * DE55 replaced by the card's final chip data (`KernelResult.finalIccData`: the TVR after
   * issuer authentication, the AAC or TC of the second GENERATE AC, 9F5B) when the card has
   * answered; otherwise the request's DE55 is kept.
   */
  iccData?: Buffer | Tlv[];
}

/**
 * 0400 reversal of a request that timed out, was not completed by the card, or was
 * cancelled (DE90 names the original; the reason in DE25 when given). It keeps the original
 * STAN and local date-time; a host that wants a new STAN for the reversal gets it from the
 * caller (runtime/host/client.ts, `host.reversalStan`). DE7 is this transmission.
 */
export function buildReversal(
  original: IsoMessage,
  context: MessageContext,
  options: ReversalOptions = {},
): IsoMessage {
  const times = messageTimes(context);
  const fields: IsoFields = {
    [DE.TRANSMISSION]: times.transmission,
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.ORIGINAL_DATA]: originalDataElements(original),
  };
  copyFields(original.fields, fields, [
    ...CARD_OF_ORIGINAL,
    DE.PROCESSING_CODE,
    DE.AMOUNT,
    DE.STAN,
    DE.LOCAL_TIME,
    DE.LOCAL_DATE,
    DE.RRN,
    DE.CURRENCY,
    DE.ICC_DATA,
  ]);
  addMerchantType(fields, context);
  panFromTrack(original, fields);
  if (options.reason !== undefined)
    fields[DE.POS_CONDITION] = reversalReasonCode(options.reason, context.reversalReasonLayout);
  if (options.authCode !== undefined) fields[DE.AUTH_CODE] = options.authCode;
  if (options.iccData !== undefined) fields[DE.ICC_DATA] = iccDataField(options.iccData);
  return { mti: MTI.REVERSAL, fields };
}

/** What an advice reports: a transaction approved offline by the card and terminal. */
export interface OfflineApproval {
  amount: number | bigint;
  /** PAN and expiry only: track data is not kept after the transaction. */
  card: Pick<CardData, 'pan' | 'expiry' | 'panSequenceNumber'>;
  posEntryMode: string;
  /** The date-time of the offline approval (DE12/13 come from it). */
  approvedAt: Date;
  /** DE38, e.g. "Y1" for an offline approval by the card. */
  authCode: string;
  /** DE39, default 00. */
  responseCode?: string;
  /** DE55 with the transaction certificate. */
  iccData?: Buffer | Tlv[];
  processingCode?: string;
}

/** 0220 advice of an offline approval; new STAN and DE7, DE12/13 from the approval time. */
export function buildAdvice(approval: OfflineApproval, context: MessageContext): IsoMessage {
  const times = messageTimes(context);
  const original = messageTimes({ ...context, clock: () => approval.approvedAt });
  const stan = nextStan(context);
  const fields: IsoFields = {
    [DE.PROCESSING_CODE]: approval.processingCode ?? '000000',
    [DE.AMOUNT]: amountField(approval.amount),
    ...terminalFields(context, times, stan, original),
    [DE.POS_ENTRY_MODE]: approval.posEntryMode,
    [DE.POS_CONDITION]: '00',
    [DE.RRN]: retrievalReference(original, stan),
    [DE.AUTH_CODE]: approval.authCode,
    [DE.RESPONSE_CODE]: approval.responseCode ?? '00',
  };
  addCard(fields, approval.card);
  addMerchantType(fields, context);
  if (context.nii !== undefined) fields[DE.NII] = context.nii;
  if (approval.iccData !== undefined) fields[DE.ICC_DATA] = iccDataField(approval.iccData);
  return { mti: MTI.ADVICE, fields };
}

/** What the card and the host made of an online approval, for its completion advice. */
export interface CardCompletion {
  /** DE55: the card's final chip data (`KernelResult.finalIccData`): the TC, the final TVR and TSI, 9F5B. */
  finalIccData: Buffer | Tlv[];
  /** DE38 of the approval. */
  authCode: string;
  /** DE39 of the approval (00, or 08/10/11). */
  responseCode: string;
  /** DE37 of the approval. */
  rrn: string;
  /** DE4 when the host approved less than was asked (DE4 of its answer); default the request's amount. */
  approvedAmount?: number | bigint;
}

/**
 * 0220 completion advice of an online approval: the card's final cryptogram (the TC after
 * the second GENERATE AC) and the issuer script results (9F5B) to the acquirer, which the
 * 0200 could not carry (it left with the ARQC). DE90 names the approved 0200; the amount,
 * processing code, entry mode and the local date-time are the 0200's; a new STAN and DE7.
 * PAN and expiry only: no track data, no PIN block. Sent when `host.tcDelivery` is `advice`.
 */
export function buildCompletionAdvice(
  approvedRequest: IsoMessage,
  completion: CardCompletion,
  context: MessageContext,
): IsoMessage {
  const times = messageTimes(context);
  const fields: IsoFields = {
    [DE.PROCESSING_CODE]: requiredText(approvedRequest, DE.PROCESSING_CODE, 'processing code'),
    [DE.AMOUNT]:
      completion.approvedAmount !== undefined
        ? amountField(completion.approvedAmount)
        : requiredText(approvedRequest, DE.AMOUNT, 'amount'),
    ...terminalFields(context, times, nextStan(context), {
      localTime: requiredText(approvedRequest, DE.LOCAL_TIME, 'local time'),
      localDate: requiredText(approvedRequest, DE.LOCAL_DATE, 'local date'),
    }),
    [DE.RRN]: completion.rrn,
    [DE.AUTH_CODE]: completion.authCode,
    [DE.RESPONSE_CODE]: completion.responseCode,
    [DE.ICC_DATA]: iccDataField(completion.finalIccData),
    [DE.ORIGINAL_DATA]: originalDataElements(approvedRequest),
  };
  addCardOfOriginal(approvedRequest, fields, context);
  return { mti: MTI.ADVICE, fields };
}

/**
 * The repeat of a reversal or advice (0401, 0221): the same message under the repeat
 * MTI, sent when the first got no response.
 */
export function repeatOf(message: IsoMessage): IsoMessage {
  return { mti: repeatMti(message.mti), fields: message.fields };
}

function addCard(fields: IsoFields, card: CardData): void {
  if (card.pan !== undefined) fields[DE.PAN] = card.pan;
  if (card.expiry !== undefined) fields[DE.EXPIRY] = card.expiry;
  if (card.track2 !== undefined) fields[DE.TRACK2] = card.track2;
  if (card.panSequenceNumber !== undefined) fields[DE.PAN_SEQUENCE] = card.panSequenceNumber;
}

/** The card and where it was read: what every message about an earlier request copies from it. */
const CARD_OF_ORIGINAL: readonly number[] = [
  DE.PAN,
  DE.EXPIRY,
  DE.MERCHANT_TYPE,
  DE.POS_ENTRY_MODE,
  DE.PAN_SEQUENCE,
  DE.NII,
  DE.POS_CONDITION,
];

/**
 * What a message about an earlier request (a void, a completion advice) takes from it: the card
 * as PAN and expiry (from its track 2 when it was swiped: never the track itself), its entry
 * mode, sequence number, NII and POS condition, and DE18.
 */
function addCardOfOriginal(original: IsoMessage, fields: IsoFields, context: MessageContext): void {
  copyFields(original.fields, fields, CARD_OF_ORIGINAL);
  addMerchantType(fields, context);
  panFromTrack(original, fields);
}

/** DE18 from the context, unless the message already has the original's. */
function addMerchantType(fields: IsoFields, context: MessageContext): void {
  if (context.merchantCategoryCode !== undefined && fields[DE.MERCHANT_TYPE] === undefined)
    fields[DE.MERCHANT_TYPE] = context.merchantCategoryCode;
}

/** A message built from a swiped original carries the PAN (and expiry) taken from its track 2, not the track. */
function panFromTrack(original: IsoMessage, fields: IsoFields): void {
  const track2 = original.fields[DE.TRACK2];
  if (typeof track2 !== 'string' || fields[DE.PAN] !== undefined) return;
  const [pan, rest] = track2.split('=');
  if (pan) fields[DE.PAN] = pan;
  if (rest && rest.length >= 4 && fields[DE.EXPIRY] === undefined) fields[DE.EXPIRY] = rest.slice(0, 4);
}
