/** BER-TLV codec for EMV data (DE55, card records, templates). See tlv.ts. */
export {
  decodeTlv,
  encodeTlv,
  findTag,
  tagToHex,
  tagFromHex,
  tagToBytes,
  isConstructedTag,
  MAX_DEPTH,
  type Tlv,
} from './tlv.js';
