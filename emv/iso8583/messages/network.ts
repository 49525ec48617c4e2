/** 0800 network management: sign-on, sign-off, echo test and key exchange (DE70). */
import type { IsoFields, IsoMessage } from '../message.js';
import { messageTimes, nextStan, type MessageContext } from './context.js';
import { DE } from './fields.js';
import { MTI } from './mti.js';

/** DE70 network management information codes (ISO 8583:1987). */
export const NETWORK_CODES = {
  'sign-on': '001',
  'sign-off': '002',
  'key-exchange': '101',
  echo: '301',
} as const;

export type NetworkAction = keyof typeof NETWORK_CODES;

export function buildNetworkRequest(action: NetworkAction, context: MessageContext): IsoMessage {
  const times = messageTimes(context);
  const fields: IsoFields = {
    [DE.TRANSMISSION]: times.transmission,
    [DE.STAN]: nextStan(context),
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.NETWORK_CODE]: NETWORK_CODES[action],
  };
  if (context.nii !== undefined) fields[DE.NII] = context.nii;
  return { mti: MTI.NETWORK, fields };
}
