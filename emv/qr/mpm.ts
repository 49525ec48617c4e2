/**
 * EMVCo QR Code Specification for Payment Systems, Merchant-Presented Mode (MPM v1.1): the
 * payload a merchant shows and a wallet scans. A payload is a list of data objects, each an ID
 * (2 digits), a length (2 digits) and a value of that many characters; templates carry more
 * data objects in their value. Tag 63, last, is the CRC-16/CCITT-FALSE of everything before
 * its value.
 *
 * Lengths count characters, not bytes: the spec's own example has a language template (64) in
 * Chinese whose length 20 counts each ideograph once, while the CRC runs over the UTF-8 bytes.
 * Characters here are Unicode code points (Array.from), so offsets in errors are too.
 *
 * parseMpm keeps every data object in order with its raw value, so serializeMpm gives the
 * scanned text back byte for byte; the typed fields are read from those objects. Any fault is a
 * PosError of area QR naming the first one found and where.
 */
import { PosError, type ErrorCode } from '../../config/errors.js';
import { crc16Hex } from './crc16.js';
import { currencyExponent } from './currency-exponent.js';
import {
  ADDITIONAL_DATA_FIELDS,
  isAdditionalDataTemplate,
  isMerchantAccountId,
  isTopLevelTemplate,
} from './mpm-tags.js';

/** One data object: ID, raw value, where it starts, and for a template its inner objects. */
export interface MpmDataObject {
  id: string;
  value: string;
  /** Character offset of the ID in the whole payload. */
  offset: number;
  children?: MpmDataObject[];
}

/** A merchant account (02-51) or an unreserved template (80-99). */
export interface MpmAccountTemplate {
  id: string;
  /** The raw value (for 02-25, the network's own primitive data). */
  value: string;
  /** Sub-ID 00 of a template: a reverse domain name or AID naming whose data this is. */
  globallyUniqueIdentifier?: string;
  /** The template's other sub-IDs (01-99) by ID. */
  fields: Record<string, string>;
}

/** Additional data field template (62), sub-IDs 01-09. */
export interface MpmAdditionalData {
  billNumber?: string;
  mobileNumber?: string;
  storeLabel?: string;
  loyaltyNumber?: string;
  referenceLabel?: string;
  customerLabel?: string;
  terminalLabel?: string;
  purposeOfTransaction?: string;
  additionalConsumerDataRequest?: string;
}

/** Merchant information, language template (64). */
export interface MpmLanguageTemplate {
  language: string;
  merchantName: string;
  merchantCity?: string;
}

export type MpmTipIndicator = 'prompt' | 'fixed' | 'percentage';

export interface MpmPayload {
  /** Every top-level data object in payload order, CRC included. */
  objects: MpmDataObject[];
  payloadFormatIndicator: string;
  /** 11 static (same code for every payment), 12 dynamic (one payment); absent = not said. */
  pointOfInitiation: 'static' | 'dynamic' | undefined;
  merchantAccounts: MpmAccountTemplate[];
  merchantCategoryCode: string;
  /** ISO 4217 numeric ("156"). */
  currency: string;
  /** Tag 54 as written ("23.72"); absent on a static code: the consumer keys the amount. */
  amount?: string;
  /** The amount in minor units of the currency (its ISO 4217 exponent). */
  amountMinor?: number;
  tipIndicator?: MpmTipIndicator;
  convenienceFeeFixed?: string;
  convenienceFeePercentage?: string;
  countryCode: string;
  merchantName: string;
  merchantCity: string;
  postalCode?: string;
  additionalData?: MpmAdditionalData;
  languageTemplate?: MpmLanguageTemplate;
  unreservedTemplates: MpmAccountTemplate[];
  /** Tag 63 as written: four upper-case hex digits. */
  crc: string;
}

/** What the terminal puts in a code it shows (a dynamic code for one COD amount, usually). */
export interface MpmInput {
  pointOfInitiation: 'static' | 'dynamic';
  merchantAccounts: { id: string; globallyUniqueIdentifier: string; fields: Record<string, string> }[];
  merchantCategoryCode: string;
  currency: string;
  /** Absent on a static code. */
  amountMinor?: number;
  countryCode: string;
  merchantName: string;
  merchantCity: string;
  postalCode?: string;
  additionalData?: MpmAdditionalData;
  languageTemplate?: MpmLanguageTemplate;
}

const MAX_AMOUNT_CHARS = 13;
const MAX_MERCHANT_NAME = 25;
const MAX_MERCHANT_CITY = 15;
const MAX_POSTAL_CODE = 10;
const MAX_ADDITIONAL_DATA_VALUE = 25;
const MAX_GLOBALLY_UNIQUE_IDENTIFIER = 32;

function qrError(code: ErrorCode, message: string, details: Record<string, unknown>): PosError {
  return new PosError(code, `QR: ${message}`, { details });
}

function charCount(text: string): number {
  return Array.from(text).length;
}

const TWO_DIGITS = /^\d\d$/;

/**
 * Reads data objects from chars[start, end). `where` names the enclosing template in messages
 * ("" at top level); `code` is the error for a malformed ID or length.
 */
function readObjects(chars: string[], start: number, end: number, where: string, code: ErrorCode): MpmDataObject[] {
  const objects: MpmDataObject[] = [];
  let pos = start;
  while (pos < end) {
    if (end - pos < 4) {
      throw qrError(code, `${where}data object at offset ${pos} has no room for its ID and length`, {
        offset: pos,
      });
    }
    const id = chars.slice(pos, pos + 2).join('');
    const lengthText = chars.slice(pos + 2, pos + 4).join('');
    if (!TWO_DIGITS.test(id)) {
      throw qrError(code, `${where}data object ID at offset ${pos} is not two digits`, { offset: pos });
    }
    if (!TWO_DIGITS.test(lengthText)) {
      throw qrError(code, `${where}tag ${id} at offset ${pos} has a length that is not two digits`, {
        offset: pos,
        tag: id,
      });
    }
    const length = Number(lengthText);
    if (length === 0) {
      throw qrError(code, `${where}tag ${id} at offset ${pos} has length 00 (a data object has a value)`, {
        offset: pos,
        tag: id,
      });
    }
    if (pos + 4 + length > end) {
      throw qrError(
        code,
        `${where}tag ${id} at offset ${pos} has length ${length} but only ${end - pos - 4} characters follow`,
        { offset: pos, tag: id },
      );
    }
    objects.push({ id, value: chars.slice(pos + 4, pos + 4 + length).join(''), offset: pos });
    pos += 4 + length;
  }
  return objects;
}

function checkNoDuplicates(objects: MpmDataObject[], where: string): void {
  const seen = new Set<string>();
  for (const object of objects) {
    if (seen.has(object.id)) {
      throw qrError(
        'CODPOS_QR_DUPLICATE_TAG',
        `${where}tag ${object.id} appears twice (again at offset ${object.offset})`,
        {
          offset: object.offset,
          tag: object.id,
        },
      );
    }
    seen.add(object.id);
  }
}

/** Parses a template's value into its children (a fault inside is CODPOS_QR_TEMPLATE). */
function readTemplate(chars: string[], object: MpmDataObject, path: string): MpmDataObject[] {
  const start = object.offset + 4;
  const children = readObjects(
    chars,
    start,
    start + charCount(object.value),
    `template ${path}: `,
    'CODPOS_QR_TEMPLATE',
  );
  checkNoDuplicates(children, `template ${path}: `);
  return children;
}

function checkCrc(chars: string[], objects: MpmDataObject[]): string {
  const crcIndex = objects.findIndex((o) => o.id === '63');
  if (crcIndex < 0) throw qrError('CODPOS_QR_CRC', 'the CRC (tag 63) is missing', { tag: '63' });
  const crcObject = objects[crcIndex]!;
  if (crcIndex !== objects.length - 1) {
    throw qrError('CODPOS_QR_CRC', `the CRC (tag 63, offset ${crcObject.offset}) is not the last data object`, {
      offset: crcObject.offset,
      tag: '63',
    });
  }
  if (charCount(crcObject.value) !== 4) {
    throw qrError('CODPOS_QR_CRC', `the CRC (tag 63) has length ${charCount(crcObject.value)}, not 04`, {
      offset: crcObject.offset,
      tag: '63',
    });
  }
  const expected = crc16Hex(chars.slice(0, crcObject.offset + 4).join(''));
  if (crcObject.value !== expected) {
    throw qrError('CODPOS_QR_CRC', `the CRC (tag 63) is wrong: expected ${expected}, found ${crcObject.value}`, {
      offset: crcObject.offset,
      tag: '63',
      expected,
      found: crcObject.value,
    });
  }
  return crcObject.value;
}

function formatError(object: MpmDataObject, what: string, path = object.id): PosError {
  return qrError('CODPOS_QR_FORMAT', `tag ${path} (offset ${object.offset}) ${what}`, {
    offset: object.offset,
    tag: path,
  });
}

function checkMaxChars(object: MpmDataObject, max: number, path = object.id): void {
  const count = charCount(object.value);
  if (count > max) throw formatError(object, `is ${count} characters, more than ${max}`, path);
}

function missing(tag: string, what: string): PosError {
  return qrError('CODPOS_QR_MISSING_TAG', `the ${what} (tag ${tag}) is missing`, { tag });
}

/** Minor units -> tag 54 text with the currency's decimals: 2372, "156" -> "23.72"; 500, "392" -> "500". */
export function minorToMpmAmount(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor <= 0) {
    throw qrError('CODPOS_QR_AMOUNT', `amount ${String(minor)} is not a whole number of minor units above 0`, {
      tag: '54',
    });
  }
  const exponent = currencyExponent(currency);
  const digits = String(minor).padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  if (text.length > MAX_AMOUNT_CHARS) {
    throw qrError('CODPOS_QR_AMOUNT', `amount ${text} is longer than ${MAX_AMOUNT_CHARS} characters`, { tag: '54' });
  }
  return text;
}

const AMOUNT_TEXT = /^(\d*)(?:\.(\d*))?$/;

/**
 * Tag 54 (or 56) text -> minor units of the currency: up to 13 characters, digits with at most
 * one ".", no more decimals than the currency has, above zero. "23.7" in CNY -> 2370.
 */
export function mpmAmountToMinor(text: string, currency: string, tag = '54'): number {
  const match = AMOUNT_TEXT.exec(text);
  const whole = match?.[1] ?? '';
  const fraction = match?.[2] ?? '';
  if (match === null || whole.length + fraction.length === 0) {
    throw qrError('CODPOS_QR_AMOUNT', `amount (tag ${tag}) is not digits with at most one "."`, { tag });
  }
  if (text.length > MAX_AMOUNT_CHARS) {
    throw qrError(
      'CODPOS_QR_AMOUNT',
      `amount (tag ${tag}) is ${text.length} characters, more than ${MAX_AMOUNT_CHARS}`,
      {
        tag,
      },
    );
  }
  const exponent = currencyExponent(currency);
  if (fraction.length > exponent) {
    throw qrError(
      'CODPOS_QR_AMOUNT',
      `amount (tag ${tag}) has ${fraction.length} decimals; currency ${currency} has ${exponent}`,
      { tag },
    );
  }
  const minor = Number(whole + fraction.padEnd(exponent, '0'));
  if (minor === 0) throw qrError('CODPOS_QR_AMOUNT', `amount (tag ${tag}) is zero`, { tag });
  return minor;
}

function readAccountTemplate(object: MpmDataObject): MpmAccountTemplate {
  const account: MpmAccountTemplate = { id: object.id, value: object.value, fields: {} };
  for (const child of object.children ?? []) {
    if (child.id === '00') account.globallyUniqueIdentifier = child.value;
    else account.fields[child.id] = child.value;
  }
  return account;
}

function checkAccountTemplate(object: MpmDataObject): void {
  const guid = object.children?.find((c) => c.id === '00');
  if (guid === undefined) throw missing(`${object.id}.00`, `globally unique identifier of template ${object.id}`);
  checkMaxChars(guid, MAX_GLOBALLY_UNIQUE_IDENTIFIER, `${object.id}.00`);
}

function readAdditionalData(object: MpmDataObject): MpmAdditionalData {
  const data: MpmAdditionalData = {};
  const byId = new Map((object.children ?? []).map((c) => [c.id, c]));
  for (const [field, id] of Object.entries(ADDITIONAL_DATA_FIELDS) as [keyof MpmAdditionalData, string][]) {
    const child = byId.get(id);
    if (child === undefined) continue;
    checkMaxChars(child, id === '09' ? 3 : MAX_ADDITIONAL_DATA_VALUE, `62.${id}`);
    data[field] = child.value;
  }
  return data;
}

function readLanguageTemplate(object: MpmDataObject): MpmLanguageTemplate {
  const byId = new Map((object.children ?? []).map((c) => [c.id, c]));
  const language = byId.get('00');
  const name = byId.get('01');
  if (language === undefined) throw missing('64.00', 'language preference of the language template');
  if (name === undefined) throw missing('64.01', 'alternate merchant name of the language template');
  if (charCount(language.value) !== 2) throw formatError(language, 'is not a 2-letter language code', '64.00');
  checkMaxChars(name, MAX_MERCHANT_NAME, '64.01');
  const template: MpmLanguageTemplate = { language: language.value, merchantName: name.value };
  const city = byId.get('02');
  if (city !== undefined) {
    checkMaxChars(city, MAX_MERCHANT_CITY, '64.02');
    template.merchantCity = city.value;
  }
  return template;
}

const TIP_INDICATORS: Readonly<Record<string, MpmTipIndicator>> = { '01': 'prompt', '02': 'fixed', '03': 'percentage' };
const PERCENTAGE = /^\d{1,2}(\.\d{1,2})?$/;

/** Parses and validates an MPM payload; throws a PosError of area QR naming the first fault. */
export function parseMpm(payload: string): MpmPayload {
  if (typeof payload !== 'string' || payload.length === 0) {
    throw qrError('CODPOS_QR_LENGTH', 'the payload is empty', { offset: 0 });
  }
  const chars = Array.from(payload);
  const objects = readObjects(chars, 0, chars.length, '', 'CODPOS_QR_LENGTH');
  const crc = checkCrc(chars, objects);

  const first = objects[0]!;
  if (first.id !== '00') {
    throw qrError('CODPOS_QR_FORMAT', `the payload format indicator (tag 00) is not first (tag ${first.id} is)`, {
      offset: 0,
      tag: '00',
    });
  }
  if (first.value !== '01') throw formatError(first, 'is not "01"');
  checkNoDuplicates(objects, '');
  for (const object of objects) {
    if (isTopLevelTemplate(object.id)) object.children = readTemplate(chars, object, object.id);
    if (object.id === '62') {
      for (const child of object.children!) {
        if (isAdditionalDataTemplate(child.id)) child.children = readTemplate(chars, child, `62.${child.id}`);
      }
    }
  }

  const byId = new Map(objects.map((o) => [o.id, o]));
  const required = (id: string, what: string): MpmDataObject => {
    const object = byId.get(id);
    if (object === undefined) throw missing(id, what);
    return object;
  };
  const accountObjects = objects.filter((o) => isMerchantAccountId(o.id));
  if (accountObjects.length === 0) throw missing('02-51', 'merchant account information');
  const mcc = required('52', 'merchant category code');
  const currency = required('53', 'transaction currency');
  const country = required('58', 'country code');
  const name = required('59', 'merchant name');
  const city = required('60', 'merchant city');

  for (const account of accountObjects) if (account.children !== undefined) checkAccountTemplate(account);
  const unreserved = objects.filter((o) => Number(o.id) >= 80);
  for (const template of unreserved) checkAccountTemplate(template);

  const parsed: MpmPayload = {
    objects,
    payloadFormatIndicator: first.value,
    pointOfInitiation: undefined,
    merchantAccounts: accountObjects.map(readAccountTemplate),
    merchantCategoryCode: mcc.value,
    currency: currency.value,
    countryCode: country.value,
    merchantName: name.value,
    merchantCity: city.value,
    unreservedTemplates: unreserved.map(readAccountTemplate),
    crc,
  };

  const initiation = byId.get('01');
  if (initiation !== undefined) {
    if (initiation.value === '11') parsed.pointOfInitiation = 'static';
    else if (initiation.value === '12') parsed.pointOfInitiation = 'dynamic';
    else throw formatError(initiation, 'is not 11 (static) or 12 (dynamic)');
  }
  if (!/^\d{4}$/.test(mcc.value)) throw formatError(mcc, 'is not a 4-digit merchant category code');
  if (!/^\d{3}$/.test(currency.value)) throw formatError(currency, 'is not a 3-digit ISO 4217 numeric currency');
  const amount = byId.get('54');
  if (amount !== undefined) {
    parsed.amount = amount.value;
    parsed.amountMinor = mpmAmountToMinor(amount.value, currency.value);
  }
  readConvenienceFee(byId, parsed);
  if (!/^[A-Z]{2}$/.test(country.value)) throw formatError(country, 'is not a 2-letter ISO 3166-1 country code');
  checkMaxChars(name, MAX_MERCHANT_NAME);
  checkMaxChars(city, MAX_MERCHANT_CITY);
  const postal = byId.get('61');
  if (postal !== undefined) {
    checkMaxChars(postal, MAX_POSTAL_CODE);
    parsed.postalCode = postal.value;
  }
  const additional = byId.get('62');
  if (additional !== undefined) parsed.additionalData = readAdditionalData(additional);
  const language = byId.get('64');
  if (language !== undefined) parsed.languageTemplate = readLanguageTemplate(language);
  return parsed;
}

function readConvenienceFee(byId: Map<string, MpmDataObject>, parsed: MpmPayload): void {
  const indicator = byId.get('55');
  if (indicator === undefined) return;
  const tip = TIP_INDICATORS[indicator.value];
  if (tip === undefined) throw formatError(indicator, 'is not 01 (prompt), 02 (fixed fee) or 03 (percentage fee)');
  parsed.tipIndicator = tip;
  if (tip === 'fixed') {
    const fee = byId.get('56');
    if (fee === undefined) throw missing('56', 'fixed convenience fee');
    mpmAmountToMinor(fee.value, parsed.currency, '56');
    parsed.convenienceFeeFixed = fee.value;
  } else if (tip === 'percentage') {
    const fee = byId.get('57');
    if (fee === undefined) throw missing('57', 'convenience fee percentage');
    if (!PERCENTAGE.test(fee.value) || Number(fee.value) <= 0) {
      throw formatError(fee, 'is not a percentage from 00.01 to 99.99');
    }
    parsed.convenienceFeePercentage = fee.value;
  }
}

/** The payload text of parsed data objects: each object's ID, length and raw value, in order. */
export function serializeMpm(payload: Pick<MpmPayload, 'objects'>): string {
  return payload.objects.map((o) => encodeObject(o.id, o.value)).join('');
}

function encodeObject(id: string, value: string): string {
  const length = charCount(value);
  if (length < 1 || length > 99) {
    throw qrError('CODPOS_QR_LENGTH', `tag ${id} value is ${length} characters; a data object holds 1 to 99`, {
      tag: id,
    });
  }
  return `${id}${String(length).padStart(2, '0')}${value}`;
}

function encodeTemplate(id: string, entries: [string, string][]): string {
  return encodeObject(id, entries.map(([subId, value]) => encodeObject(subId, value)).join(''));
}

/**
 * Builds a payload from `input`: data objects in ID order, CRC appended. The result is parsed
 * back before it is returned, so a value the parser would refuse (a name over 25 characters, a
 * bad currency) is refused here with the same error.
 */
export function buildMpm(input: MpmInput): string {
  const parts: string[] = [
    encodeObject('00', '01'),
    encodeObject('01', input.pointOfInitiation === 'static' ? '11' : '12'),
  ];
  const accounts = [...input.merchantAccounts].sort((a, b) => Number(a.id) - Number(b.id));
  for (const account of accounts) {
    const n = TWO_DIGITS.test(account.id) ? Number(account.id) : NaN;
    if (!(n >= 26 && n <= 51)) {
      throw qrError('CODPOS_QR_FORMAT', `merchant account ID ${account.id} is not a template ID from 26 to 51`, {
        tag: account.id,
      });
    }
    parts.push(
      encodeTemplate(account.id, [['00', account.globallyUniqueIdentifier], ...subFields(account.id, account.fields)]),
    );
  }
  parts.push(encodeObject('52', input.merchantCategoryCode), encodeObject('53', input.currency));
  if (input.amountMinor !== undefined)
    parts.push(encodeObject('54', minorToMpmAmount(input.amountMinor, input.currency)));
  parts.push(
    encodeObject('58', input.countryCode),
    encodeObject('59', input.merchantName),
    encodeObject('60', input.merchantCity),
  );
  if (input.postalCode !== undefined) parts.push(encodeObject('61', input.postalCode));
  if (input.additionalData !== undefined) {
    const entries: [string, string][] = [];
    for (const [field, id] of Object.entries(ADDITIONAL_DATA_FIELDS) as [keyof MpmAdditionalData, string][]) {
      const value = input.additionalData[field];
      if (value !== undefined) entries.push([id, value]);
    }
    if (entries.length > 0) parts.push(encodeTemplate('62', entries));
  }
  if (input.languageTemplate !== undefined) {
    const lt = input.languageTemplate;
    const entries: [string, string][] = [
      ['00', lt.language],
      ['01', lt.merchantName],
    ];
    if (lt.merchantCity !== undefined) entries.push(['02', lt.merchantCity]);
    parts.push(encodeTemplate('64', entries));
  }
  const body = `${parts.join('')}6304`;
  const payload = body + crc16Hex(body);
  parseMpm(payload);
  return payload;
}

function subFields(templateId: string, fields: Record<string, string>): [string, string][] {
  const entries = Object.entries(fields).sort(([a], [b]) => Number(a) - Number(b));
  for (const [subId] of entries) {
    if (!TWO_DIGITS.test(subId) || subId === '00') {
      throw qrError('CODPOS_QR_FORMAT', `template ${templateId} field ID ${subId} is not two digits from 01 to 99`, {
        tag: `${templateId}.${subId}`,
      });
    }
  }
  return entries;
}
