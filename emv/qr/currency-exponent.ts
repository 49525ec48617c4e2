/**
 * The minor-unit exponent of an ISO 4217 currency by its numeric code: how many decimals an
 * amount of it has (EMVCo MPM tag 54 may not carry more). Most currencies have 2; the table
 * lists the ones that differ (ISO 4217 list one, as published by the maintenance agency).
 */
const EXPONENT_BY_NUMERIC: Readonly<Record<string, number>> = {
  // no minor unit
  '108': 0, // BIF
  '152': 0, // CLP
  '174': 0, // KMF
  '262': 0, // DJF
  '324': 0, // GNF
  '352': 0, // ISK
  '392': 0, // JPY
  '410': 0, // KRW
  '548': 0, // VUV
  '600': 0, // PYG
  '646': 0, // RWF
  '704': 0, // VND
  '800': 0, // UGX
  '940': 0, // UYI
  '950': 0, // XAF
  '952': 0, // XOF
  '953': 0, // XPF
  // thousandths
  '048': 3, // BHD
  '368': 3, // IQD
  '400': 3, // JOD
  '414': 3, // KWD
  '434': 3, // LYD
  '512': 3, // OMR
  '788': 3, // TND
  // ten-thousandths (units of account)
  '927': 4, // UYW
  '990': 4, // CLF
};

/** Decimals of the currency with this ISO 4217 numeric code ("840" -> 2, "392" -> 0, "048" -> 3). */
export function currencyExponent(numericCode: string): number {
  return Object.hasOwn(EXPONENT_BY_NUMERIC, numericCode) ? EXPONENT_BY_NUMERIC[numericCode]! : 2;
}
