/**
 * The data object IDs of the EMVCo merchant-presented QR (MPM v1.1, section 4), their names for
 * display, and which of them are templates (their value is itself a list of data objects).
 */

/** Top-level IDs that are templates: merchant accounts 26-51, 62, 64 and unreserved 80-99. */
export function isTopLevelTemplate(id: string): boolean {
  const n = Number(id);
  return (n >= 26 && n <= 51) || n === 62 || n === 64 || n >= 80;
}

/** IDs inside the additional data template (62) that are templates: 50-99, payment system specific. */
export function isAdditionalDataTemplate(id: string): boolean {
  return Number(id) >= 50;
}

/** Merchant account information: 02-51 (02-25 primitive, reserved per network; 26-51 templates). */
export function isMerchantAccountId(id: string): boolean {
  const n = Number(id);
  return n >= 2 && n <= 51;
}

const TOP_LEVEL_NAMES: Readonly<Record<string, string>> = {
  '00': 'Payload Format Indicator',
  '01': 'Point of Initiation Method',
  '52': 'Merchant Category Code',
  '53': 'Transaction Currency',
  '54': 'Transaction Amount',
  '55': 'Tip or Convenience Indicator',
  '56': 'Value of Convenience Fee Fixed',
  '57': 'Value of Convenience Fee Percentage',
  '58': 'Country Code',
  '59': 'Merchant Name',
  '60': 'Merchant City',
  '61': 'Postal Code',
  '62': 'Additional Data Field Template',
  '63': 'CRC',
  '64': 'Merchant Information - Language Template',
};

const ADDITIONAL_DATA_NAMES: Readonly<Record<string, string>> = {
  '01': 'Bill Number',
  '02': 'Mobile Number',
  '03': 'Store Label',
  '04': 'Loyalty Number',
  '05': 'Reference Label',
  '06': 'Customer Label',
  '07': 'Terminal Label',
  '08': 'Purpose of Transaction',
  '09': 'Additional Consumer Data Request',
};

const LANGUAGE_TEMPLATE_NAMES: Readonly<Record<string, string>> = {
  '00': 'Language Preference',
  '01': 'Merchant Name - Alternate Language',
  '02': 'Merchant City - Alternate Language',
};

/** The name of a top-level data object ID. */
export function mpmTagName(id: string): string {
  const named = TOP_LEVEL_NAMES[id];
  if (named !== undefined) return named;
  const n = Number(id);
  if (n >= 2 && n <= 51) return 'Merchant Account Information';
  if (n >= 80) return 'Unreserved Template';
  return 'RFU for EMVCo';
}

/** The name of a data object ID inside the template `parentId`. */
export function mpmInnerTagName(parentId: string, id: string): string {
  if (parentId === '62') {
    const named = ADDITIONAL_DATA_NAMES[id];
    if (named !== undefined) return named;
    return Number(id) >= 50 ? 'Payment System specific template' : 'RFU for EMVCo';
  }
  if (parentId === '64') return LANGUAGE_TEMPLATE_NAMES[id] ?? 'RFU for EMVCo';
  if (id === '00') return 'Globally Unique Identifier';
  return 'Payment network specific';
}

/** The additional data (62) sub-IDs 01-09 by the field names of MpmAdditionalData. */
export const ADDITIONAL_DATA_FIELDS = {
  billNumber: '01',
  mobileNumber: '02',
  storeLabel: '03',
  loyaltyNumber: '04',
  referenceLabel: '05',
  customerLabel: '06',
  terminalLabel: '07',
  purposeOfTransaction: '08',
  additionalConsumerDataRequest: '09',
} as const;
