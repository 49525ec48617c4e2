/** Typed POS messages over the codec: builders for what the terminal sends, readers for what the host answers. */
export {
  stanCounter,
  messageTimes,
  localClock,
  nextStan,
  retrievalReference,
  amountField,
  type MessageContext,
  type MessageTimes,
} from './context.js';
export { MTI, parseMti, responseMti, repeatMti, isResponseTo, type MtiParts } from './mti.js';
export { DE, iccDataField, originalDataElements } from './fields.js';
export {
  buildPurchase,
  buildVoid,
  buildReversal,
  buildAdvice,
  buildCompletionAdvice,
  repeatOf,
  type CardData,
  type PurchaseRequest,
  type ApprovedTransaction,
  type ReversalOptions,
  type OfflineApproval,
  type CardCompletion,
} from './financial.js';
export { REVERSAL_REASON_CODES, REVERSAL_REASONS, reversalReasonCode, type ReversalReason } from './reversal-reason.js';
export {
  buildBatchUpload,
  buildSettlement,
  readSettlementTotals,
  type BatchTransaction,
  type SettlementTotals,
  type SettlementRequest,
} from './batch.js';
export { buildNetworkRequest, NETWORK_CODES, type NetworkAction } from './network.js';
export {
  responseOutcome,
  matchKey,
  checkResponseTo,
  readResponse,
  readSettlementResponse,
  buildResponse,
  type Outcome,
  type HostResponse,
  type SettlementResponse,
} from './response.js';
