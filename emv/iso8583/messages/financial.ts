/**
 * Financial messages a courier terminal sends: 0200 purchase, void (0200 with
 * processing code 02), 0400/0401 reversal, 0220/0221 advice of an offline approval.
 * Builders return IsoMessages for the terminal's 1987 layout (pos87b / iso87b); the
 * STAN and date-times come from the injected context. Track data (DE35) and the PIN
 * block (DE52) appear only in the live request, never in messages built later from
 * stored records (reversal, advice): PCI DSS forbids keeping them.
 */
import type { Tlv } from '../../tlv/index.js';
import type { IsoFields, IsoMessage } from '../message.js';
import { amountField, messageTimes, nextStan, retrievalReference, type MessageContext } from './context.js';
import { DE, copyFields, iccDataField, originalDataElements, requiredText } from './fields.js';
import { MTI, repeatMti } from './mti.js';

export interface CardData {
  /** DE2, for chip and keyed entry (with track 2, the PAN travels inside DE35 instead). */
  pan?: string;
  /** DE14, YYMM. */
  expiry?: string;
  /** DE35, track 2 equivalent data with `=` as the separator. */
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
    [DE.TRANSMISSION]: times.transmission,
    [DE.STAN]: stan,
    [DE.LOCAL_TIME]: times.localTime,
    [DE.LOCAL_DATE]: times.localDate,
    [DE.POS_ENTRY_MODE]: request.posEntryMode,
    [DE.POS_CONDITION]: request.posConditionCode ?? '00',
    [DE.RRN]: retrievalReference(times, stan, context.utcOffsetMinutes),
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.CURRENCY]: context.currency,
  };
  addCard(fields, request.card);
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
    [DE.TRANSMISSION]: times.transmission,
    [DE.STAN]: nextStan(context),
    [DE.LOCAL_TIME]: times.localTime,
    [DE.LOCAL_DATE]: times.localDate,
    [DE.RRN]: original.rrn,
    [DE.AUTH_CODE]: original.authCode,
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.CURRENCY]: context.currency,
    [DE.ORIGINAL_DATA]: originalDataElements(original.request),
  };
  copyFields(original.request.fields, fields, [DE.PAN, DE.EXPIRY, DE.POS_ENTRY_MODE, DE.PAN_SEQUENCE, DE.NII, DE.POS_CONDITION]);
  panFromTrack(original.request, fields);
  return { mti: MTI.FINANCIAL_REQUEST, fields };
}

/**
 * 0400 reversal of a request that timed out or was not completed (reason in DE39 is
 * not used in 1987 POS layouts; DE90 names the original). It keeps the original STAN
 * and local date-time; a host that wants a new STAN for the reversal gets it from the
 * caller (runtime/host/client.ts, `host.reversalStan`). DE7 is this transmission.
 */
export function buildReversal(original: IsoMessage, context: MessageContext): IsoMessage {
  const times = messageTimes(context);
  const fields: IsoFields = {
    [DE.TRANSMISSION]: times.transmission,
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.ORIGINAL_DATA]: originalDataElements(original),
  };
  copyFields(original.fields, fields, [
    DE.PAN,
    DE.PROCESSING_CODE,
    DE.AMOUNT,
    DE.STAN,
    DE.LOCAL_TIME,
    DE.LOCAL_DATE,
    DE.EXPIRY,
    DE.POS_ENTRY_MODE,
    DE.PAN_SEQUENCE,
    DE.NII,
    DE.POS_CONDITION,
    DE.RRN,
    DE.CURRENCY,
    DE.ICC_DATA,
  ]);
  panFromTrack(original, fields);
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
    [DE.TRANSMISSION]: times.transmission,
    [DE.STAN]: stan,
    [DE.LOCAL_TIME]: original.localTime,
    [DE.LOCAL_DATE]: original.localDate,
    [DE.POS_ENTRY_MODE]: approval.posEntryMode,
    [DE.POS_CONDITION]: '00',
    [DE.RRN]: retrievalReference(original, stan, context.utcOffsetMinutes),
    [DE.AUTH_CODE]: approval.authCode,
    [DE.RESPONSE_CODE]: approval.responseCode ?? '00',
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.CURRENCY]: context.currency,
  };
  addCard(fields, approval.card);
  if (context.nii !== undefined) fields[DE.NII] = context.nii;
  if (approval.iccData !== undefined) fields[DE.ICC_DATA] = iccDataField(approval.iccData);
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

/** A message built from a swiped original carries the PAN (and expiry) taken from its track 2, not the track. */
function panFromTrack(original: IsoMessage, fields: IsoFields): void {
  const track2 = original.fields[DE.TRACK2];
  if (typeof track2 !== 'string' || fields[DE.PAN] !== undefined) return;
  const [pan, rest] = track2.split('=');
  if (pan) fields[DE.PAN] = pan;
  if (rest && rest.length >= 4 && fields[DE.EXPIRY] === undefined) fields[DE.EXPIRY] = rest.slice(0, 4);
}
