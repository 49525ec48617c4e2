/**
 * The outbox's named streams and how each is delivered. Records of one stream
 * go out in the order they were made; a stream may wait for others (a timed-out
 * authorization must be reversed at the acquirer before any new traffic).
 */
import { PosError } from '../config/errors.js';

export const STREAMS = {
  /** Waybill events (pickup, dispatch, delivery, exceptions) for the logistics back-end. */
  waybillEvent: 'waybill-event',
  /** Card transaction records for the back-end's COD reconciliation. */
  transaction: 'transaction',
  /** 0220 advices of offline approvals for the acquirer. */
  advice: 'advice',
  /** 0400 reversals for the acquirer. */
  reversal: 'reversal',
  /**
   * The reversal of each authorization in flight, written before the request leaves and
   * retired with its answer. Never sent from here: what a power cut leaves in it is moved
   * to `reversal` at the next start (HostClient.recoverInterrupted).
   */
  reversalStandby: 'reversal-standby',
  /** 0320 batch upload messages for the acquirer (after a settlement disagreement). */
  batchUpload: 'batch-upload',
  /** The courier's cash handovers to the depot, for the logistics back-end. */
  handover: 'handover',
  /**
   * For the fleet link (runtime/fleet/): business events and command results published to the
   * operator's MQTT broker, in order, each with its id (the consumer dedupes on it).
   */
  fleet: 'fleet',
  /**
   * Parameter package reports (applied, refused and why) for terminal management: sent by the
   * fleet link when it is configured, else by the HTTP uplink.
   */
  paramsReport: 'params-report',
} as const;

export type StreamName = (typeof STREAMS)[keyof typeof STREAMS];

export interface BackoffPolicy {
  /** Delay before the second attempt. */
  initialMs: number;
  /** Ceiling of the delay. */
  maxMs: number;
  factor: number;
  /** Share of the delay that is random, 0..1: 0.5 means a delay between 50% and 100% of the exponential value. */
  jitter: number;
}

export interface StreamPolicy {
  /**
   * Strict order: one leased batch at a time per stream, and a record waiting for its
   * retry holds back the records behind it.
   */
  ordered: boolean;
  /** Not leased while any of these streams has records still to forward (reversal first). */
  blockedBy: readonly string[];
  /** After this many failed attempts the record is dead-lettered with its last reason. */
  maxAttempts: number;
  /** A record still failing this long after it was made is dead-lettered (0: no limit). */
  maxAgeMs: number;
  backoff: BackoffPolicy;
}

const HOUR = 3_600_000;
/** A stream whose records are never dead-lettered for their number of attempts. */
export const UNLIMITED_ATTEMPTS = Number.MAX_SAFE_INTEGER;
const backoff: BackoffPolicy = { initialMs: 1_000, maxMs: 5 * 60_000, factor: 2, jitter: 0.5 };

export const DEFAULT_STREAM_POLICIES: Readonly<Record<StreamName, StreamPolicy>> = {
  'waybill-event': { ordered: true, blockedBy: [], maxAttempts: 1000, maxAgeMs: 0, backoff },
  transaction: { ordered: true, blockedBy: [], maxAttempts: 1000, maxAgeMs: 0, backoff },
  // A reversal is repeated until the acquirer acknowledges it, however long that takes: giving
  // up would let new purchases leave while the issuer may still hold the customer's money.
  reversal: { ordered: true, blockedBy: [], maxAttempts: UNLIMITED_ATTEMPTS, maxAgeMs: 0, backoff },
  'reversal-standby': { ordered: false, blockedBy: [], maxAttempts: 1000, maxAgeMs: 0, backoff },
  advice: { ordered: true, blockedBy: ['reversal'], maxAttempts: 50, maxAgeMs: 7 * 24 * HOUR, backoff },
  'batch-upload': { ordered: true, blockedBy: ['reversal', 'advice'], maxAttempts: 20, maxAgeMs: 0, backoff },
  // After the day's waybill events: the back-end matches the cash handed in with the deliveries.
  handover: { ordered: true, blockedBy: ['waybill-event'], maxAttempts: 1000, maxAgeMs: 0, backoff },
  fleet: { ordered: true, blockedBy: [], maxAttempts: 1000, maxAgeMs: 0, backoff },
  'params-report': { ordered: true, blockedBy: [], maxAttempts: 1000, maxAgeMs: 0, backoff },
};

export type StreamPolicies = Record<string, StreamPolicy>;

/** Defaults with per-stream overrides; an override may also add a stream. */
export function resolvePolicies(overrides: Record<string, Partial<StreamPolicy>> = {}): StreamPolicies {
  const policies: StreamPolicies = {};
  for (const name of new Set([...Object.keys(DEFAULT_STREAM_POLICIES), ...Object.keys(overrides)])) {
    const base = (DEFAULT_STREAM_POLICIES as Record<string, StreamPolicy>)[name] ?? {
      ordered: true,
      blockedBy: [],
      maxAttempts: 100,
      maxAgeMs: 0,
      backoff,
    };
    const override = overrides[name] ?? {};
    const policy = { ...base, ...override, backoff: { ...base.backoff, ...override.backoff } };
    validatePolicy(name, policy);
    policies[name] = policy;
  }
  for (const [name, policy] of Object.entries(policies)) {
    for (const blocker of policy.blockedBy) {
      if (!(blocker in policies))
        throw new PosError('CODPOS_SPOOL_POLICY', `stream ${name}: blockedBy names unknown stream "${blocker}"`);
    }
  }
  return policies;
}

function validatePolicy(name: string, p: StreamPolicy): void {
  const bad = (option: string, expected: string) =>
    new PosError('CODPOS_SPOOL_POLICY', `stream ${name}: ${option} must be ${expected}`);
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) throw bad('maxAttempts', 'an integer of at least 1');
  if (!(p.maxAgeMs >= 0)) throw bad('maxAgeMs', 'zero or more');
  if (!(p.backoff.initialMs > 0)) throw bad('backoff.initialMs', 'more than 0');
  if (!(p.backoff.maxMs >= p.backoff.initialMs)) throw bad('backoff.maxMs', 'at least backoff.initialMs');
  if (!(p.backoff.factor >= 1)) throw bad('backoff.factor', 'at least 1');
  if (!(p.backoff.jitter >= 0 && p.backoff.jitter <= 1)) throw bad('backoff.jitter', 'between 0 and 1');
}

/**
 * Delay before the next attempt after `attempts` failed ones: exponential, capped,
 * with the top `jitter` share randomized so that many terminals coming back from
 * the same dead zone do not retry in lockstep.
 */
export function backoffDelay(policy: BackoffPolicy, attempts: number, random: number): number {
  const exponential = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempts - 1));
  return Math.round(exponential * (1 - policy.jitter + policy.jitter * random));
}
