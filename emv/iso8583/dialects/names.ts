/** Data element names (ISO 8583:1987 and the 1993 changes), shown by the decoder and in errors. */

export const ISO87_NAMES: Readonly<Record<number, string>> = {
  2: 'Primary account number (PAN)', 3: 'Processing code', 4: 'Amount, transaction', 5: 'Amount, settlement',
  6: 'Amount, cardholder billing', 7: 'Transmission date and time', 8: 'Amount, cardholder billing fee',
  9: 'Conversion rate, settlement', 10: 'Conversion rate, cardholder billing', 11: 'System trace audit number (STAN)',
  12: 'Time, local transaction', 13: 'Date, local transaction', 14: 'Date, expiration', 15: 'Date, settlement',
  16: 'Date, conversion', 17: 'Date, capture', 18: 'Merchant type', 19: 'Acquiring institution country code',
  20: 'PAN extended country code', 21: 'Forwarding institution country code', 22: 'POS entry mode',
  23: 'Card sequence number', 24: 'Network international identifier (NII)', 25: 'POS condition code',
  26: 'POS PIN capture code', 27: 'Authorization identification response length', 28: 'Amount, transaction fee',
  29: 'Amount, settlement fee', 30: 'Amount, transaction processing fee', 31: 'Amount, settlement processing fee',
  32: 'Acquiring institution identification code', 33: 'Forwarding institution identification code',
  34: 'PAN, extended', 35: 'Track 2 data', 36: 'Track 3 data', 37: 'Retrieval reference number (RRN)',
  38: 'Authorization identification response', 39: 'Response code', 40: 'Service restriction code',
  41: 'Card acceptor terminal identification', 42: 'Card acceptor identification code',
  43: 'Card acceptor name/location', 44: 'Additional response data', 45: 'Track 1 data',
  46: 'Additional data, ISO', 47: 'Additional data, national', 48: 'Additional data, private',
  49: 'Currency code, transaction', 50: 'Currency code, settlement', 51: 'Currency code, cardholder billing',
  52: 'PIN data', 53: 'Security related control information', 54: 'Additional amounts', 55: 'ICC data',
  56: 'Reserved ISO', 57: 'Reserved national', 58: 'Reserved national', 59: 'Reserved national',
  60: 'Reserved private', 61: 'Reserved private', 62: 'Reserved private', 63: 'Reserved private',
  64: 'Message authentication code (MAC)', 65: 'Bitmap, extended', 66: 'Settlement code',
  67: 'Extended payment code', 68: 'Receiving institution country code', 69: 'Settlement institution country code',
  70: 'Network management information code', 71: 'Message number', 72: 'Message number, last', 73: 'Date, action',
  74: 'Credits, number', 75: 'Credits, reversal number', 76: 'Debits, number', 77: 'Debits, reversal number',
  78: 'Transfer, number', 79: 'Transfer, reversal number', 80: 'Inquiries, number', 81: 'Authorizations, number',
  82: 'Credits, processing fee amount', 83: 'Credits, transaction fee amount', 84: 'Debits, processing fee amount',
  85: 'Debits, transaction fee amount', 86: 'Credits, amount', 87: 'Credits, reversal amount', 88: 'Debits, amount',
  89: 'Debits, reversal amount', 90: 'Original data elements', 91: 'File update code', 92: 'File security code',
  93: 'Response indicator', 94: 'Service indicator', 95: 'Replacement amounts', 96: 'Message security code',
  97: 'Amount, net settlement', 98: 'Payee', 99: 'Settlement institution identification code',
  100: 'Receiving institution identification code', 101: 'File name', 102: 'Account identification 1',
  103: 'Account identification 2', 104: 'Transaction description', 128: 'Message authentication code (MAC 2)',
};

/** Name of a 1987 field, including the reserved ranges. */
export function iso87Name(field: number): string {
  return ISO87_NAMES[field] ?? (field <= 111 ? 'Reserved ISO' : field <= 119 ? 'Reserved national' : 'Reserved private');
}

/** Where ISO 8583:1993 renamed or redefined a field. */
const ISO93_CHANGES: Readonly<Record<number, string>> = {
  5: 'Amount, reconciliation', 9: 'Conversion rate, reconciliation', 12: 'Date and time, local transaction',
  13: 'Date, effective', 16: 'Date, conversion', 22: 'Point of service data code', 24: 'Function code',
  25: 'Message reason code', 26: 'Card acceptor business code', 27: 'Approval code length', 28: 'Date, reconciliation',
  29: 'Reconciliation indicator', 30: 'Amounts, original', 31: 'Acquirer reference data', 38: 'Approval code',
  39: 'Action code', 40: 'Service code', 46: 'Amounts, fees', 53: 'Security related control information',
  56: 'Original data elements', 57: 'Authorization life cycle code', 58: 'Authorizing agent institution identification code',
  59: 'Transport data', 65: 'Reserved ISO', 66: 'Amounts, original fees', 67: 'Extended payment data',
  70: 'Country code, authorizing agent institution', 71: 'Message number', 72: 'Data record', 74: 'Credits, number',
  82: 'Inquiries, reversal number', 83: 'Payments, number', 84: 'Payments, reversal number', 85: 'Fee collections, number',
  90: 'Authorizations, reversal number', 91: 'Country code, transaction destination institution',
  92: 'Country code, transaction originator institution', 93: 'Transaction destination institution identification code',
  94: 'Transaction originator institution identification code', 95: 'Card issuer reference data', 96: 'Key management data',
  97: 'Amount, net reconciliation', 99: 'Settlement institution identification code', 105: 'Credits, chargeback amount',
  106: 'Debits, chargeback amount', 107: 'Credits, chargeback number', 108: 'Debits, chargeback number',
  109: 'Credits, fee amounts', 110: 'Debits, fee amounts',
};

export function iso93Name(field: number): string {
  return ISO93_CHANGES[field] ?? iso87Name(field);
}
