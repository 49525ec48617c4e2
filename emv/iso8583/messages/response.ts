/**
 * The host's side of an exchange: matching a response to its request, reading it into
 * a typed result, and (for the acquirer simulator and tests) building one. A decline
 * is a result, not an error (jPOS IRC style); only a malformed or unmatched response
 * is a PosError.
 */
import { PosError } from '../../../config/errors.js';
import { ISO8583_ERRORS } from '../errors.js';
import type { IsoFields, IsoMessage } from '../message.js';
import { readSettlementTotals, type SettlementTotals } from './batch.js';
import { DE, copyFields, requiredText, textField } from './fields.js';
import { responseMti } from './mti.js';

/** What a response code means for the terminal. */
export type Outcome = 'approved' | 'declined' | 'refer' | 'retry';

/** Response codes (DE39, ISO 8583:1987) grouped by what the terminal does next; any other code is a decline. */
const OUTCOMES: Readonly<Record<string, Outcome>> = {
  '00': 'approved',
  '08': 'approved', // honour with identification
  '10': 'approved', // partial approval
  '11': 'approved', // VIP approval
  Y1: 'approved', // offline approved (EMV)
  Y3: 'approved', // unable to go online, approved
  '01': 'refer',
  '02': 'refer',
  '19': 'retry', // re-enter transaction
  '68': 'retry', // response received too late
  '90': 'retry', // cutoff in progress
  '91': 'retry', // issuer or switch inoperative
  '96': 'retry', // system malfunction
};

export function responseOutcome(responseCode: string): Outcome {
  return OUTCOMES[responseCode] ?? 'declined';
}

/**
 * The key the host link's mux matches a response to its request on: MTI class (second
 * digit), STAN (DE11) and terminal id (DE41).
 */
export function matchKey(message: IsoMessage): string {
  return `${message.mti[1]}|${textField(message, DE.STAN) ?? ''}|${textField(message, DE.TERMINAL_ID) ?? ''}`;
}

/** Throws unless `response` answers `request` (MTI, STAN, terminal id). */
export function checkResponseTo(response: IsoMessage, request: IsoMessage): void {
  const expected = responseMti(request.mti);
  if (response.mti !== expected) {
    throw new PosError(
      ISO8583_ERRORS.BAD_MTI,
      `ISO 8583: expected a ${expected} answering ${request.mti}, got ${response.mti}`,
      { details: { field: 'mti', expected, got: response.mti } },
    );
  }
  for (const field of [DE.STAN, DE.TERMINAL_ID]) {
    const sent = textField(request, field);
    const got = textField(response, field);
    if (sent !== undefined && got !== sent) {
      throw new PosError(
        ISO8583_ERRORS.RESPONSE_MISMATCH,
        `ISO 8583 ${response.mti}: field ${field} does not match the request's`,
        { details: { field: String(field) } },
      );
    }
  }
}

export interface HostResponse {
  mti: string;
  stan: string;
  responseCode: string;
  outcome: Outcome;
  /** DE38, when approved. */
  authCode?: string;
  /** DE37. */
  rrn?: string;
  /** DE55 from the issuer (ARPC, scripts). */
  iccData?: Buffer;
}

/** Reads a 0210, 0230, 0330, 0410 or 0810; checks it answers `request` when given. */
export function readResponse(response: IsoMessage, request?: IsoMessage): HostResponse {
  if (request !== undefined) checkResponseTo(response, request);
  const responseCode = requiredText(response, DE.RESPONSE_CODE, 'response code');
  const result: HostResponse = {
    mti: response.mti,
    stan: requiredText(response, DE.STAN, 'STAN'),
    responseCode,
    outcome: responseOutcome(responseCode),
  };
  const authCode = textField(response, DE.AUTH_CODE);
  if (authCode !== undefined) result.authCode = authCode;
  const rrn = textField(response, DE.RRN);
  if (rrn !== undefined) result.rrn = rrn;
  const icc = response.fields[DE.ICC_DATA];
  if (Buffer.isBuffer(icc)) result.iccData = icc;
  return result;
}

export interface SettlementResponse extends HostResponse {
  /** True when the host's totals agree (00); false means: upload the batch (0320s), then settle again. */
  inBalance: boolean;
  totals: SettlementTotals;
}

/** Reads a 0510: response code 95 (reconcile error) means the host's totals differ. */
export function readSettlementResponse(response: IsoMessage, request?: IsoMessage): SettlementResponse {
  const base = readResponse(response, request);
  return { ...base, inBalance: base.responseCode === '00', totals: readSettlementTotals(response) };
}

/** Fields a response echoes from its request. Card data other than the PAN is never echoed. */
const ECHOED = [
  DE.PAN,
  DE.PROCESSING_CODE,
  DE.AMOUNT,
  DE.TRANSMISSION,
  DE.STAN,
  DE.LOCAL_TIME,
  DE.LOCAL_DATE,
  DE.NII,
  DE.POS_CONDITION,
  DE.RRN,
  DE.TERMINAL_ID,
  DE.MERCHANT_ID,
  DE.CURRENCY,
  DE.BATCH_NUMBER,
  DE.NETWORK_CODE,
  74,
  75,
  76,
  77,
  86,
  87,
  88,
  89,
  DE.ORIGINAL_DATA,
];

/** A response to `request` with its echo fields and `fields` (at least DE39) — for the acquirer simulator and tests. */
export function buildResponse(request: IsoMessage, fields: IsoFields): IsoMessage {
  const out: IsoFields = {};
  copyFields(request.fields, out, ECHOED);
  for (const key in fields) out[Number(key)] = fields[Number(key)]!;
  return { mti: responseMti(request.mti), fields: out };
}
