/**
 * The EMV data element dictionary (EMV Book 3 annex A, Book 4 annex A): what a tag is
 * called, how its value is formatted, who supplies it and which template carries it.
 * The DOL builder uses `format` for padding rules; the pretty-printer uses the name and
 * `sensitivity` to mask card data.
 */

/** Value formats of EMV Book 3 section 4.3. */
export type TagFormat = 'a' | 'an' | 'ans' | 'b' | 'cn' | 'n';
/** Who supplies the element. */
export type TagSource = 'icc' | 'terminal' | 'issuer';
/** Card data the masking rules care about. */
export type TagSensitivity = 'pan' | 'track' | 'name' | 'secret';

export interface TagInfo {
  tag: number;
  name: string;
  format: TagFormat;
  source: TagSource;
  /** Templates the element appears in ('70/77', 'A5', ...); empty for terminal data. */
  template?: string;
  /** Fixed length in bytes, or [min, max]. */
  length?: number | [number, number];
  sensitivity?: TagSensitivity;
}

const T = (
  tag: number,
  name: string,
  format: TagFormat,
  source: TagSource,
  template?: string,
  length?: number | [number, number],
  sensitivity?: TagSensitivity,
): TagInfo => ({
  tag,
  name,
  format,
  source,
  ...(template ? { template } : {}),
  ...(length !== undefined ? { length } : {}),
  ...(sensitivity ? { sensitivity } : {}),
});

const ENTRIES: TagInfo[] = [
  T(0x42, 'Issuer Identification Number (IIN)', 'n', 'icc', 'BF0C', 3),
  T(0x4f, 'Application Identifier (AID) - card', 'b', 'icc', '61', [5, 16]),
  T(0x50, 'Application Label', 'ans', 'icc', '61/A5', [1, 16]),
  // Track data of contactless magstripe-mode cards (EMV Book C-2): masked like tag 57 if it ever shows up.
  T(0x56, 'Track 1 Data', 'ans', 'icc', '70/77', [0, 76], 'track'),
  T(0x57, 'Track 2 Equivalent Data', 'b', 'icc', '70/77', [0, 19], 'track'),
  T(0x5a, 'Application Primary Account Number (PAN)', 'cn', 'icc', '70/77', [0, 10], 'pan'),
  T(0x61, 'Application Template', 'b', 'icc', '70'),
  T(0x6f, 'File Control Information (FCI) Template', 'b', 'icc'),
  T(0x70, 'READ RECORD Response Message Template', 'b', 'icc'),
  T(0x71, 'Issuer Script Template 1', 'b', 'issuer'),
  T(0x72, 'Issuer Script Template 2', 'b', 'issuer'),
  T(0x73, 'Directory Discretionary Template', 'b', 'icc', '61'),
  T(0x77, 'Response Message Template Format 2', 'b', 'icc'),
  T(0x80, 'Response Message Template Format 1', 'b', 'icc'),
  T(0x81, 'Amount, Authorised (Binary)', 'b', 'terminal', undefined, 4),
  T(0x82, 'Application Interchange Profile (AIP)', 'b', 'icc', '77/80', 2),
  T(0x83, 'Command Template', 'b', 'terminal'),
  T(0x84, 'Dedicated File (DF) Name', 'b', 'icc', '6F', [5, 16]),
  T(0x86, 'Issuer Script Command', 'b', 'issuer', '71/72'),
  T(0x87, 'Application Priority Indicator', 'b', 'icc', '61/A5', 1),
  T(0x88, 'Short File Identifier (SFI)', 'b', 'icc', 'A5', 1),
  T(0x89, 'Authorisation Code', 'ans', 'issuer', undefined, 6),
  T(0x8a, 'Authorisation Response Code', 'an', 'issuer', undefined, 2),
  T(0x8c, 'Card Risk Management Data Object List 1 (CDOL1)', 'b', 'icc', '70/77'),
  T(0x8d, 'Card Risk Management Data Object List 2 (CDOL2)', 'b', 'icc', '70/77'),
  T(0x8e, 'Cardholder Verification Method (CVM) List', 'b', 'icc', '70/77'),
  T(0x8f, 'Certification Authority Public Key Index', 'b', 'icc', '70/77', 1),
  T(0x90, 'Issuer Public Key Certificate', 'b', 'icc', '70/77'),
  T(0x91, 'Issuer Authentication Data', 'b', 'issuer', undefined, [8, 16]),
  T(0x92, 'Issuer Public Key Remainder', 'b', 'icc', '70/77'),
  T(0x93, 'Signed Static Application Data', 'b', 'icc', '70/77'),
  T(0x94, 'Application File Locator (AFL)', 'b', 'icc', '77/80'),
  T(0x95, 'Terminal Verification Results (TVR)', 'b', 'terminal', undefined, 5),
  T(0x97, 'Transaction Certificate Data Object List (TDOL)', 'b', 'icc', '70/77'),
  T(0x98, 'Transaction Certificate (TC) Hash Value', 'b', 'terminal', undefined, 20),
  T(0x99, 'Transaction Personal Identification Number (PIN) Data', 'b', 'terminal', undefined, undefined, 'secret'),
  T(0x9a, 'Transaction Date', 'n', 'terminal', undefined, 3),
  T(0x9b, 'Transaction Status Information (TSI)', 'b', 'terminal', undefined, 2),
  T(0x9c, 'Transaction Type', 'n', 'terminal', undefined, 1),
  T(0x9d, 'Directory Definition File (DDF) Name', 'b', 'icc', '61', [5, 16]),
  T(0xa5, 'File Control Information (FCI) Proprietary Template', 'b', 'icc', '6F'),
  T(0x5f20, 'Cardholder Name', 'ans', 'icc', '70/77', [2, 26], 'name'),
  T(0x5f24, 'Application Expiration Date', 'n', 'icc', '70/77', 3),
  T(0x5f25, 'Application Effective Date', 'n', 'icc', '70/77', 3),
  T(0x5f28, 'Issuer Country Code', 'n', 'icc', '70/77', 2),
  T(0x5f2a, 'Transaction Currency Code', 'n', 'terminal', undefined, 2),
  T(0x5f2d, 'Language Preference', 'an', 'icc', 'A5', [2, 8]),
  T(0x5f30, 'Service Code', 'n', 'icc', '70/77', 2),
  T(0x5f34, 'Application PAN Sequence Number', 'n', 'icc', '70/77', 1),
  T(0x5f36, 'Transaction Currency Exponent', 'n', 'terminal', undefined, 1),
  T(0x5f50, 'Issuer URL', 'ans', 'icc', 'BF0C'),
  T(0x5f53, 'International Bank Account Number (IBAN)', 'b', 'icc', 'BF0C'),
  T(0x5f54, 'Bank Identifier Code (BIC)', 'b', 'icc', 'BF0C'),
  T(0x5f55, 'Issuer Country Code (alpha2 format)', 'a', 'icc', 'BF0C', 2),
  T(0x5f56, 'Issuer Country Code (alpha3 format)', 'a', 'icc', 'BF0C', 3),
  T(0x9f01, 'Acquirer Identifier', 'n', 'terminal', undefined, 6),
  T(0x9f02, 'Amount, Authorised (Numeric)', 'n', 'terminal', undefined, 6),
  T(0x9f03, 'Amount, Other (Numeric)', 'n', 'terminal', undefined, 6),
  T(0x9f05, 'Application Discretionary Data', 'b', 'icc', '70/77'),
  T(0x9f06, 'Application Identifier (AID) - terminal', 'b', 'terminal', undefined, [5, 16]),
  T(0x9f07, 'Application Usage Control', 'b', 'icc', '70/77', 2),
  T(0x9f08, 'Application Version Number - card', 'b', 'icc', '70/77', 2),
  T(0x9f09, 'Application Version Number - terminal', 'b', 'terminal', undefined, 2),
  T(0x9f0b, 'Cardholder Name Extended', 'ans', 'icc', '70/77', undefined, 'name'),
  T(0x9f0d, 'Issuer Action Code - Default', 'b', 'icc', '70/77', 5),
  T(0x9f0e, 'Issuer Action Code - Denial', 'b', 'icc', '70/77', 5),
  T(0x9f0f, 'Issuer Action Code - Online', 'b', 'icc', '70/77', 5),
  T(0x9f10, 'Issuer Application Data', 'b', 'icc', '77/80', [0, 32]),
  T(0x9f11, 'Issuer Code Table Index', 'n', 'icc', 'A5', 1),
  T(0x9f12, 'Application Preferred Name', 'ans', 'icc', '61/A5', [1, 16]),
  T(0x9f13, 'Last Online Application Transaction Counter (ATC) Register', 'b', 'icc', undefined, 2),
  T(0x9f14, 'Lower Consecutive Offline Limit', 'b', 'icc', '70/77', 1),
  T(0x9f15, 'Merchant Category Code', 'n', 'terminal', undefined, 2),
  T(0x9f16, 'Merchant Identifier', 'ans', 'terminal', undefined, 15),
  T(0x9f17, 'Personal Identification Number (PIN) Try Counter', 'b', 'icc', undefined, 1),
  T(0x9f18, 'Issuer Script Identifier', 'b', 'issuer', '71/72', 4),
  T(0x9f1a, 'Terminal Country Code', 'n', 'terminal', undefined, 2),
  T(0x9f1b, 'Terminal Floor Limit', 'b', 'terminal', undefined, 4),
  T(0x9f1c, 'Terminal Identification', 'an', 'terminal', undefined, 8),
  T(0x9f1d, 'Terminal Risk Management Data', 'b', 'terminal', undefined, [1, 8]),
  T(0x9f1e, 'Interface Device (IFD) Serial Number', 'an', 'terminal', undefined, 8),
  T(0x9f1f, 'Track 1 Discretionary Data', 'ans', 'icc', '70/77', undefined, 'track'),
  T(0x9f20, 'Track 2 Discretionary Data', 'cn', 'icc', '70/77', undefined, 'track'),
  T(0x9f21, 'Transaction Time', 'n', 'terminal', undefined, 3),
  T(0x9f22, 'Certification Authority Public Key Index - terminal', 'b', 'terminal', undefined, 1),
  T(0x9f23, 'Upper Consecutive Offline Limit', 'b', 'icc', '70/77', 1),
  T(0x9f26, 'Application Cryptogram', 'b', 'icc', '77/80', 8),
  T(0x9f27, 'Cryptogram Information Data', 'b', 'icc', '77/80', 1),
  T(0x9f2d, 'ICC PIN Encipherment Public Key Certificate', 'b', 'icc', '70/77'),
  T(0x9f2e, 'ICC PIN Encipherment Public Key Exponent', 'b', 'icc', '70/77'),
  T(0x9f2f, 'ICC PIN Encipherment Public Key Remainder', 'b', 'icc', '70/77'),
  T(0x9f32, 'Issuer Public Key Exponent', 'b', 'icc', '70/77', [1, 3]),
  T(0x9f33, 'Terminal Capabilities', 'b', 'terminal', undefined, 3),
  T(0x9f34, 'Cardholder Verification Method (CVM) Results', 'b', 'terminal', undefined, 3),
  T(0x9f35, 'Terminal Type', 'n', 'terminal', undefined, 1),
  T(0x9f36, 'Application Transaction Counter (ATC)', 'b', 'icc', '77/80', 2),
  T(0x9f37, 'Unpredictable Number', 'b', 'terminal', undefined, 4),
  T(0x9f38, 'Processing Options Data Object List (PDOL)', 'b', 'icc', 'A5'),
  T(0x9f39, 'Point-of-Service (POS) Entry Mode', 'n', 'terminal', undefined, 1),
  T(0x9f3a, 'Amount, Reference Currency', 'b', 'terminal', undefined, 4),
  T(0x9f3b, 'Application Reference Currency', 'n', 'icc', '70/77', [2, 8]),
  T(0x9f3c, 'Transaction Reference Currency Code', 'n', 'terminal', undefined, 2),
  T(0x9f3d, 'Transaction Reference Currency Exponent', 'n', 'terminal', undefined, 1),
  T(0x9f40, 'Additional Terminal Capabilities', 'b', 'terminal', undefined, 5),
  T(0x9f41, 'Transaction Sequence Counter', 'n', 'terminal', undefined, [2, 4]),
  T(0x9f42, 'Application Currency Code', 'n', 'icc', '70/77', 2),
  T(0x9f43, 'Application Reference Currency Exponent', 'n', 'icc', '70/77', [1, 4]),
  T(0x9f44, 'Application Currency Exponent', 'n', 'icc', '70/77', 1),
  T(0x9f45, 'Data Authentication Code', 'b', 'icc', undefined, 2),
  T(0x9f46, 'ICC Public Key Certificate', 'b', 'icc', '70/77'),
  T(0x9f47, 'ICC Public Key Exponent', 'b', 'icc', '70/77', [1, 3]),
  T(0x9f48, 'ICC Public Key Remainder', 'b', 'icc', '70/77'),
  T(0x9f49, 'Dynamic Data Authentication Data Object List (DDOL)', 'b', 'icc', '70/77'),
  T(0x9f4a, 'Static Data Authentication Tag List', 'b', 'icc', '70/77'),
  T(0x9f4b, 'Signed Dynamic Application Data', 'b', 'icc', '77/80'),
  T(0x9f4c, 'ICC Dynamic Number', 'b', 'icc', undefined, [2, 8]),
  T(0x9f4d, 'Log Entry', 'b', 'icc', 'BF0C', 2),
  T(0x9f4e, 'Merchant Name and Location', 'ans', 'terminal'),
  T(0x9f4f, 'Log Format', 'b', 'icc'),
  T(0x9f53, 'Consecutive Transaction Limit (International) / Transaction Category Code', 'b', 'icc', undefined, 1),
  T(0x9f6b, 'Track 2 Data', 'b', 'icc', '70/77', [0, 19], 'track'),
  T(0x9f6e, 'Form Factor Indicator / Third Party Data', 'b', 'icc'),
  T(0xbf0c, 'File Control Information (FCI) Issuer Discretionary Data', 'b', 'icc', 'A5'),
];

export const TAG_DICTIONARY: ReadonlyMap<number, TagInfo> = new Map(ENTRIES.map((e) => [e.tag, e]));

/** The dictionary entry for a tag, or undefined for proprietary / unknown tags. */
export function tagInfo(tag: number): TagInfo | undefined {
  return TAG_DICTIONARY.get(tag);
}

/** A tag's name, or "Unknown tag" for tags the dictionary does not know. */
export function tagName(tag: number): string {
  return TAG_DICTIONARY.get(tag)?.name ?? 'Unknown tag';
}
