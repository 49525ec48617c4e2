/**
 * The JSON form of a message, for the CLI and config: `{"mti":"0200","fields":{"2":"...",
 * "55":"9F02..."}}`. Numeric and text fields are strings, binary fields uppercase hex,
 * track 2 uses `=`, a field with subfields is an object of its subfields.
 */
import { PosError } from '../../config/errors.js';
import { HEX_PAIR, HEX_VALUE } from './charsets.js';
import { B, compileDialect, type CompiledFieldSet } from './compile.js';
import { ISO8583_ERRORS } from './errors.js';
import type { FieldValue, IsoFields, IsoMessage } from './message.js';
import type { Dialect } from './spec.js';

export interface IsoJsonFields {
  [field: string]: string | IsoJsonFields;
}

export interface IsoJson {
  mti: string;
  fields: IsoJsonFields;
}

export function messageToJson(message: IsoMessage): IsoJson {
  return { mti: message.mti, fields: fieldsToJson(message.fields) };
}

function fieldsToJson(fields: IsoFields): IsoJsonFields {
  const out: IsoJsonFields = {};
  for (const key in fields) {
    const value: FieldValue = fields[key as unknown as number]!;
    out[key] = typeof value === 'string' ? value : Buffer.isBuffer(value) ? bytesToHex(value) : fieldsToJson(value);
  }
  return out;
}

/** Reads the JSON form, turning binary fields' hex into Buffers; PosError naming the field on a bad shape. */
export function messageFromJson(json: unknown, dialect: Dialect): IsoMessage {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw badJson('input', 'must be an object {"mti": "0200", "fields": {...}}');
  const { mti, fields } = json as { mti?: unknown; fields?: unknown };
  if (typeof mti !== 'string' || !/^[0-9]{4}$/.test(mti))
    throw badJson('mti', 'must be a string of 4 digits, e.g. "0200"');
  return { mti, fields: fieldsFromJson(fields, compileDialect(dialect).body, '') };
}

function fieldsFromJson(fields: unknown, set: CompiledFieldSet, prefix: string): IsoFields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
    throw badJson(prefix ? prefix.slice(0, -1) : 'fields', 'must be an object of field number -> value');
  const out: IsoFields = {};
  for (const [key, value] of Object.entries(fields)) {
    const number = Number(key);
    const path = prefix + key;
    if (!/^[0-9]{1,3}$/.test(key)) throw badJson(path, 'field keys are field numbers, e.g. "2"');
    const spec = set.fields[number];
    if (spec?.sub !== undefined && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      out[number] = fieldsFromJson(value, spec.sub, path + '.');
    } else if (typeof value !== 'string') {
      throw badJson(path, `must be a string${spec?.content === B ? ' of hex digits' : ''}`);
    } else if (spec?.content === B) {
      out[number] = hexToBytes(value, path);
    } else {
      out[number] = value;
    }
  }
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += HEX_PAIR[bytes[i]!];
  return hex;
}

/** Strict hex (even length, 0-9 A-F either case) to bytes; PosError naming `field` (a field path or what the hex is) otherwise. */
export function hexToBytes(hex: string, field: string): Buffer {
  if (hex.length % 2 !== 0) throw badJson(field, 'hex must have an even number of digits');
  const out = Buffer.allocUnsafe(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VALUE[hex.charCodeAt(2 * i) & 0xff]!;
    const lo = HEX_VALUE[hex.charCodeAt(2 * i + 1) & 0xff]!;
    if (hi === 255 || lo === 255 || hex.charCodeAt(2 * i) > 0xff || hex.charCodeAt(2 * i + 1) > 0xff)
      throw badJson(field, `character ${2 * i + (hi === 255 ? 1 : 2)} is not a hex digit`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** `field` is a field path ("55", "127.2"), or a name for other input ("mti", "fields", "the HEX argument"). */
function badJson(field: string, problem: string): PosError {
  const where =
    /^[0-9.]+$/.test(field) || field === 'privateHeader'
      ? `ISO 8583 JSON field ${field}`
      : field === 'mti' || field === 'fields' || field === 'input'
        ? `ISO 8583 JSON ${field}`
        : field.startsWith('the ')
          ? `The ${field.slice(4)}`
          : `ISO 8583 JSON key ${field}`;
  return new PosError(ISO8583_ERRORS.BAD_VALUE, `${where}: ${problem}`, { details: { field } });
}
