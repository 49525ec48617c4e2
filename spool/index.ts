/** The spool's public surface: what runtime/ and scripts/ import. */
export { Spool, spoolSettings, type SpoolOptions, type SpoolStatus } from './spool.js';
export { SpoolService, type SpoolServiceOptions, type SpoolHealth } from './service.js';
export {
  Outbox,
  OUTBOX_STATES,
  type OutboxRecord,
  type OutboxState,
  type Enqueued,
  type EnqueueOptions,
  type LeaseOptions,
  type FailOutcome,
  type StreamStatus,
} from './outbox.js';
export {
  STREAMS,
  DEFAULT_STREAM_POLICIES,
  backoffDelay,
  type StreamName,
  type StreamPolicy,
  type BackoffPolicy,
} from './streams.js';
export {
  Journal,
  TRANSITIONS,
  TXN_STATES,
  retrievalReference,
  type CardTransaction,
  type TxnState,
  type TxnKind,
  type BeginInput,
  type TransitionInput,
  type SensitiveAuthData,
} from './journal.js';
export {
  QrJournal,
  type QrBeginInput,
  type QrTransitionInput,
  type QrDetails,
  type QrListOptions,
} from './qr-journal.js';
export { QR_STATES, QR_TRANSITIONS, QR_STANDING_STATES, type QrState, type QrTransaction } from './qr-transaction.js';
export { Counters, COUNTERS, type CounterName } from './counters.js';
export { Vault, FileKeyProvider, DATA_KEY_BYTES, type KeyProvider } from './vault.js';
export { DEFAULT_LIMITS, assertOfflineAllowed, type SpoolLimits } from './limits.js';
export { openDatabase, backupDatabase, integrityProblems, diskUseBytes, type Database } from './database.js';
export { migrate, MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export { IdGenerator, UUID_V7, uuidV7Time } from './ids.js';
export { systemClock, ManualClock, type Clock, type RandomBytes, type RandomFraction } from './clock.js';
export { TaskCache, type Task, type TaskChange, type CourierRecord, type CachedTariff } from './tasks.js';
export { FleetInbox } from './fleet-inbox.js';
export { WaybillEvents, type IndexedWaybillEvent } from './waybill-events.js';
export { ParamsStore, type StoredParamSet } from './params-store.js';
