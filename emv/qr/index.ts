/** EMV QR payment payloads: merchant-presented (MPM), consumer-presented (CPM), wallet codes. */
export { crc16Ccitt, crc16Hex } from './crc16.js';
export { currencyExponent } from './currency-exponent.js';
export {
  parseMpm,
  serializeMpm,
  buildMpm,
  minorToMpmAmount,
  mpmAmountToMinor,
  type MpmPayload,
  type MpmInput,
  type MpmDataObject,
  type MpmAccountTemplate,
  type MpmAdditionalData,
  type MpmLanguageTemplate,
  type MpmTipIndicator,
} from './mpm.js';
export { mpmTagName, mpmInnerTagName } from './mpm-tags.js';
export {
  parseCpm,
  buildCpm,
  CPM_PAYLOAD_FORMAT_INDICATOR,
  CPM_TAG_NAMES,
  type CpmPayload,
  type CpmCardData,
  type CpmInput,
  type CpmCardDataInput,
} from './cpm.js';
export {
  parseConsumerCode,
  WALLET_TOKEN_MIN_LENGTH,
  WALLET_TOKEN_MAX_LENGTH,
  type ConsumerCode,
} from './consumer-code.js';
