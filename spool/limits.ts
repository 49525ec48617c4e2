/**
 * Back-pressure. When the box has been offline too long, holds too much unpaid
 * card exposure, or its spool grows past its budget, new OFFLINE card payments
 * are refused (the courier is told to take cash) while waybill events keep
 * going in: a refused card costs a retry, a lost delivery record costs a parcel.
 */
import type { Database } from 'better-sqlite3';
import { PosError, type ErrorCode } from '../config/errors.js';
import { diskUseBytes } from './database.js';

export interface SpoolLimits {
  /** Minor units; an offline card payment above it is refused. */
  maxOfflineAmountPerTransaction: number;
  /** Minor units; offline card payments not yet advised to the acquirer, this one included. */
  maxOfflineTotalAmount: number;
  /** Records still to forward (all streams) at which offline card payments stop. */
  maxRecords: number;
  /** Age of the oldest record still to forward at which offline card payments stop. */
  maxAgeMs: number;
  /** Size of the spool on disk at which offline card payments stop. */
  maxDiskBytes: number;
}

export const DEFAULT_LIMITS: SpoolLimits = {
  maxOfflineAmountPerTransaction: 50_000,
  maxOfflineTotalAmount: 200_000,
  maxRecords: 100_000,
  maxAgeMs: 72 * 3_600_000,
  maxDiskBytes: 512 * 1024 * 1024,
};

export interface OfflineExposure {
  /** Offline card payments not yet answered by the acquirer (pending offline, offline approved). */
  count: number;
  amount: number;
}

export function offlineExposure(db: Database): OfflineExposure {
  const row = db
    .prepare(
      `SELECT count(*) AS count, coalesce(sum(amount), 0) AS amount FROM card_txn WHERE offline = 1 AND state IN ('pending', 'offline_approved')`,
    )
    .get() as OfflineExposure;
  return row;
}

/** Throws the PosError naming the cap a new offline card payment of `amount` would pass. */
export function assertOfflineAllowed(db: Database, limits: SpoolLimits, amount: number, now: number): void {
  if (amount > limits.maxOfflineAmountPerTransaction) {
    throw refuse(
      'CODPOS_SPOOL_OFFLINE_LIMIT',
      'amountPerTransaction',
      `offline card payment of ${amount} is above the offline limit of ${limits.maxOfflineAmountPerTransaction} per transaction`,
      {
        amount,
        limit: limits.maxOfflineAmountPerTransaction,
      },
    );
  }
  const exposure = offlineExposure(db);
  if (exposure.amount + amount > limits.maxOfflineTotalAmount) {
    throw refuse(
      'CODPOS_SPOOL_OFFLINE_LIMIT',
      'totalAmount',
      `offline card payments would total ${exposure.amount + amount}, above the offline total limit of ${limits.maxOfflineTotalAmount} until the acquirer is reached`,
      { outstanding: exposure.amount, amount, limit: limits.maxOfflineTotalAmount },
    );
  }
  const unfinished = db
    .prepare(`SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE state IN ('ready', 'leased')`)
    .get() as { n: number; oldest: number | null };
  if (unfinished.n >= limits.maxRecords) {
    throw refuse(
      'CODPOS_SPOOL_OFFLINE_BACKLOG',
      'records',
      `${unfinished.n} records are waiting to be forwarded (limit ${limits.maxRecords}); no offline card payments until the uplink catches up`,
      {
        records: unfinished.n,
        limit: limits.maxRecords,
      },
    );
  }
  if (unfinished.oldest !== null && now - unfinished.oldest >= limits.maxAgeMs) {
    const hours = Math.floor((now - unfinished.oldest) / 3_600_000);
    throw refuse(
      'CODPOS_SPOOL_OFFLINE_BACKLOG',
      'age',
      `the oldest record waiting to be forwarded is ${hours} h old (limit ${limits.maxAgeMs / 3_600_000} h); no offline card payments until it is forwarded`,
      {
        ageMs: now - unfinished.oldest,
        limitMs: limits.maxAgeMs,
      },
    );
  }
  const bytes = diskUseBytes(db);
  if (bytes >= limits.maxDiskBytes) {
    throw refuse(
      'CODPOS_SPOOL_DISK_LIMIT',
      'disk',
      `the spool uses ${mb(bytes)} MB of its ${mb(limits.maxDiskBytes)} MB budget; no offline card payments until records are forwarded and purged`,
      {
        bytes,
        limit: limits.maxDiskBytes,
      },
    );
  }
}

function refuse(
  code: Extract<ErrorCode, `CODPOS_SPOOL_${string}`>,
  cap: string,
  message: string,
  details: Record<string, unknown>,
): PosError {
  return new PosError(code, `${message} (take cash or go online)`, { details: { cap, ...details } });
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
