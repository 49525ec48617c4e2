/**
 * A message made safe to show (CLI, logs) through the one masking policy in
 * config/masking.ts: PAN 6+4, DE35/36/45/52/53/55 and key fields wiped.
 */
import { maskIso8583Field } from '../../config/masking.js';
import { messageToJson, type IsoJson, type IsoJsonFields } from './json.js';
import type { IsoMessage } from './message.js';

/** The JSON form of `message` with every field masked for display. */
export function maskedMessageJson(message: IsoMessage): IsoJson {
  const json = messageToJson(message);
  return { mti: json.mti, fields: maskFields(json.fields, undefined) };
}

function maskFields(fields: IsoJsonFields, parent: number | undefined): IsoJsonFields {
  const out: IsoJsonFields = {};
  for (const [key, value] of Object.entries(fields)) {
    // Subfields are masked by their parent's rule when the parent is sensitive as a whole.
    const number = parent ?? Number(key);
    out[key] = typeof value === 'string' ? maskIso8583Field(number, value) : maskFields(value, number);
  }
  return out;
}
