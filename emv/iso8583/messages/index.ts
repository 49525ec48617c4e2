/** Typed POS messages over the codec: builders for what the terminal sends, readers for what the host answers. */
export { stanCounter, messageTimes, nextStan, retrievalReference, amountField, type MessageContext, type MessageTimes } from './context.js';
export { MTI, parseMti, responseMti, repeatMti, isResponseTo, type MtiParts } from './mti.js';
export { DE, iccDataField, originalDataElements } from './fields.js';
export { buildPurchase, buildVoid, buildReversal, buildAdvice, repeatOf, type CardData, type PurchaseRequest, type ApprovedTransaction, type OfflineApproval } from './financial.js';
export { buildBatchUpload, buildSettlement, readSettlementTotals, type BatchTransaction, type SettlementTotals, type SettlementRequest } from './batch.js';
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
