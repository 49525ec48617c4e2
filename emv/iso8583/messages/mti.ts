/**
 * Message type indicators: version (0 = 1987, 1 = 1993, 2 = 2003), class, function,
 * origin. A response's function digit is the request's plus one, origin 0 (a response
 * to a repeat 0401 is 0410).
 */
import { PosError } from '../../../config/errors.js';
import { ISO8583_ERRORS } from '../errors.js';

export const MTI = {
  AUTHORIZATION_REQUEST: '0100',
  FINANCIAL_REQUEST: '0200',
  FINANCIAL_RESPONSE: '0210',
  ADVICE: '0220',
  ADVICE_REPEAT: '0221',
  ADVICE_RESPONSE: '0230',
  BATCH_UPLOAD: '0320',
  BATCH_UPLOAD_RESPONSE: '0330',
  REVERSAL: '0400',
  REVERSAL_REPEAT: '0401',
  REVERSAL_RESPONSE: '0410',
  SETTLEMENT: '0500',
  SETTLEMENT_RESPONSE: '0510',
  NETWORK: '0800',
  NETWORK_RESPONSE: '0810',
} as const;

export interface MtiParts {
  version: '1987' | '1993' | '2003' | 'private';
  /** Second digit: 1 authorization, 2 financial, 3 file actions, 4 reversal, 5 reconciliation, 6 administrative, 8 network. */
  messageClass: number;
  /** Third digit: 0 request, 1 request response, 2 advice, 3 advice response, 4 notification. */
  messageFunction: number;
  /** Fourth digit: 0 acquirer, 1 acquirer repeat, 2 issuer, 3 issuer repeat, ... */
  origin: number;
}

export function parseMti(mti: string): MtiParts {
  if (!/^[0-9]{4}$/.test(mti))
    throw new PosError(ISO8583_ERRORS.BAD_MTI, `ISO 8583 MTI ${JSON.stringify(mti)}: must be 4 digits`, {
      details: { field: 'mti' },
    });
  const version = ({ '0': '1987', '1': '1993', '2': '2003' } as const)[mti[0] as '0' | '1' | '2'] ?? 'private';
  return { version, messageClass: Number(mti[1]), messageFunction: Number(mti[2]), origin: Number(mti[3]) };
}

/** The MTI of the response to `request` (0200 -> 0210, 0401 -> 0410, 0221 -> 0230). */
export function responseMti(request: string): string {
  const { messageFunction } = parseMti(request);
  if (messageFunction % 2 !== 0)
    throw new PosError(ISO8583_ERRORS.BAD_MTI, `ISO 8583 MTI ${request} is a response; it has no response`, {
      details: { field: 'mti' },
    });
  return request.slice(0, 2) + String(messageFunction + 1) + '0';
}

/** The repeat of `mti` (0400 -> 0401, 0220 -> 0221): sent when no response came to the first. */
export function repeatMti(mti: string): string {
  const { origin } = parseMti(mti);
  if (origin % 2 !== 0) return mti;
  return mti.slice(0, 3) + String(origin + 1);
}

/** True when `response` answers `request` by MTI. */
export function isResponseTo(response: string, request: string): boolean {
  return responseMti(request) === response;
}
