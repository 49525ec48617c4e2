/**
 * An approved payment's clearing record: what a void (0200 02xxxx) or a batch upload (0320)
 * re-sends of it long after the card left. One type, written here and read here; the
 * journal only stores it (the clear part as JSON, the card part sealed with the vault), so
 * the names below are the stored keys: renaming one strands the records on a terminal.
 */
import { DE, type IsoMessage } from '../../emv/iso8583/index.js';
import type { Spool } from '../../spool/index.js';

/** The fields kept in clear: nothing here identifies the card. */
export interface ClearingFields {
  mti: string;
  responseCode: string;
  authCode: string;
  processingCode?: string;
  /** DE11 of the approved request, 6 digits as sent. */
  stan?: string;
  /** DE7, MMDDhhmmss. */
  transmission?: string;
  localTime?: string;
  localDate?: string;
  posEntryMode?: string;
  posConditionCode?: string;
  panSequenceNumber?: string;
  rrn?: string;
}

/** The card data of the record, sealed under the journal row (the PAN is the row's own). */
export interface ClearingCardData {
  /** YYMM, from DE14 or track 2. */
  expiry?: string;
  /** DE55 as sent, or the card's final chip data once it completed (the TC and 9F5B). */
  iccData?: Buffer;
}

export interface ClearingRecord {
  fields: ClearingFields;
  card: ClearingCardData;
}

type Journal = Spool['journal'];

/** Where each clear field comes from in the approved request. */
const FROM_MESSAGE = [
  ['processingCode', DE.PROCESSING_CODE],
  ['stan', DE.STAN],
  ['transmission', DE.TRANSMISSION],
  ['localTime', DE.LOCAL_TIME],
  ['localDate', DE.LOCAL_DATE],
  ['posEntryMode', DE.POS_ENTRY_MODE],
  ['posConditionCode', DE.POS_CONDITION],
  ['panSequenceNumber', DE.PAN_SEQUENCE],
  ['rrn', DE.RRN],
] as const;

/** The clearing record of an approved request (or offline advice) and the answer it got. */
export function clearingOf(
  message: IsoMessage,
  answer: { responseCode: string; authCode: string; rrn?: string | undefined },
): ClearingRecord {
  const text = (field: number) => {
    const value = message.fields[field];
    return typeof value === 'string' ? value : undefined;
  };
  const fields: ClearingFields = { mti: message.mti, responseCode: answer.responseCode, authCode: answer.authCode };
  for (const [name, field] of FROM_MESSAGE) {
    const value = text(field);
    if (value !== undefined) fields[name] = value;
  }
  if (answer.rrn !== undefined) fields.rrn = answer.rrn;
  const card: ClearingCardData = {};
  const expiry = text(DE.EXPIRY) ?? text(DE.TRACK2)?.split('=')[1]?.slice(0, 4);
  if (expiry) card.expiry = expiry;
  const icc = message.fields[DE.ICC_DATA];
  if (Buffer.isBuffer(icc)) card.iccData = icc;
  return { fields, card };
}

/** Keeps `record` as the clearing record of journal row `journalId` (inside the caller's commit, if any). */
export function writeClearing(journal: Journal, journalId: string, record: ClearingRecord): void {
  const sealed: Record<string, string> = {};
  if (record.card.expiry !== undefined) sealed.expiry = record.card.expiry;
  if (record.card.iccData !== undefined) sealed.iccData = record.card.iccData.toString('hex');
  journal.recordClearing(journalId, { ...record.fields }, sealed);
}

/** The clearing record of journal row `journalId`, or undefined when none was kept. */
export function readClearing(journal: Journal, journalId: string): ClearingRecord | undefined {
  const stored = journal.clearingOf(journalId);
  if (stored === undefined) return undefined;
  const { mti, responseCode, authCode, ...rest } = stored.clear;
  const fields: ClearingFields = { mti: mti ?? '0200', responseCode: responseCode ?? '00', authCode: authCode ?? '' };
  for (const [name] of FROM_MESSAGE) {
    const value = rest[name];
    if (value !== undefined) fields[name] = value;
  }
  const card: ClearingCardData = {};
  if (stored.sealed.expiry) card.expiry = stored.sealed.expiry;
  if (stored.sealed.iccData) card.iccData = Buffer.from(stored.sealed.iccData, 'hex');
  return { fields, card };
}
