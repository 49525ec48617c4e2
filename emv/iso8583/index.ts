/**
 * ISO 8583 for codpos: a spec-driven codec (dialects are data), framing for the host
 * link, masking for display, and typed POS messages. Synchronous, no I/O.
 * See docs/iso8583.md.
 */
export type {
  ContentType,
  LengthType,
  DataEncoding,
  LengthEncoding,
  FieldSpec,
  FieldTable,
  SubfieldsSpec,
  BitmapEncoding,
  Dialect,
} from './spec.js';
export { withFields, fixed, variable } from './spec.js';
export type { FieldValue, IsoFields, IsoMessage } from './message.js';
export { encodeIso8583 } from './encode.js';
export { decodeIso8583 } from './decode.js';
export { compileDialect } from './compile.js';
export {
  DIALECTS,
  DEFAULT_DIALECT,
  dialectNames,
  getDialect,
  iso87a,
  iso87b,
  iso93b,
  pos87b,
} from './dialects/index.js';
export { ISO8583_ERRORS, type Iso8583ErrorCode } from './errors.js';
export {
  FRAMING_PRESETS,
  framingPreset,
  frameMessage,
  unframeMessage,
  makeTpdu,
  replyTpdu,
  resolveFraming,
} from './framing.js';
export type { Frame, FramingOptions, LengthHeader, Tpdu } from './framing.js';
export { IsoStreamFramer } from './stream-framer.js';
export { messageToJson, messageFromJson, bytesToHex, hexToBytes, type IsoJson, type IsoJsonFields } from './json.js';
export { maskedMessageJson } from './mask.js';
export * from './messages/index.js';
