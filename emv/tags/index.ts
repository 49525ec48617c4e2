/** The EMV tag dictionary and the TLV pretty-printer. */
export {
  TAG_DICTIONARY,
  tagInfo,
  tagName,
  type TagInfo,
  type TagFormat,
  type TagSource,
  type TagSensitivity,
} from './dictionary.js';
export { describeTlv, formatDescribed, type DescribedTlv, type DescribeOptions } from './describe.js';
