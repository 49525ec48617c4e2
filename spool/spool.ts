/**
 * The spool: one SQLite database holding the outbox, the card transaction
 * journal and its counters, with the vault that seals card data. This is what
 * the daemon opens at boot and what `codpos spool` inspects.
 */
import { TaskCache } from './tasks.js';
import { FleetInbox } from './fleet-inbox.js';
import { WaybillEvents } from './waybill-events.js';
import { ParamsStore } from './params-store.js';
import { resolve, isAbsolute } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Config } from '../config/schema.js';
import { PosError } from '../config/errors.js';
import {
  systemClock,
  cryptoRandomBytes,
  cryptoRandomFraction,
  type Clock,
  type RandomBytes,
  type RandomFraction,
} from './clock.js';
import { IdGenerator } from './ids.js';
import { openDatabase, backupDatabase, diskUseBytes, integrityProblems, type OpenDatabaseOptions } from './database.js';
import { Outbox, type StreamStatus } from './outbox.js';
import { Journal } from './journal.js';
import { QrJournal } from './qr-journal.js';
import { DEFAULT_LIMITS, offlineExposure, type SpoolLimits, type OfflineExposure } from './limits.js';
import type { StreamPolicy } from './streams.js';
import type { Vault } from './vault.js';
import { SCHEMA_VERSION } from './migrations.js';

const DAY = 86_400_000;

export interface SpoolOptions {
  file: string;
  /** Seals and opens card data; without it the spool can store and forward but refuses card data. */
  vault?: Vault;
  create?: boolean;
  check?: OpenDatabaseOptions['check'];
  clock?: Clock;
  randomBytes?: RandomBytes;
  randomFraction?: RandomFraction;
  limits?: Partial<SpoolLimits>;
  policies?: Record<string, Partial<StreamPolicy>>;
  /** Durability of sender bookkeeping (lease, ack, fail, release); FULL by default (see OutboxOptions). */
  bookkeepingSync?: 'NORMAL' | 'FULL';
  /** Caps of one group commit (see OutboxOptions): records, and payload plus sealed bytes. */
  maxGroupRecords?: number;
  maxGroupBytes?: number;
  /** How long forwarded records and finished transactions are kept. */
  retentionMs?: number;
}

export interface SpoolStatus {
  file: string;
  schemaVersion: number;
  streams: StreamStatus[];
  /** Records still to forward, all streams. */
  depth: number;
  dead: number;
  oldestPendingAt: number | null;
  /** Age in ms of the oldest record still to forward. */
  oldestPendingAgeMs: number | null;
  diskBytes: number;
  offline: OfflineExposure;
  transactions: Record<string, number>;
}

export class Spool {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly journal: Journal;
  /** The QR payments through the payment service provider (qr-journal.ts). */
  readonly qrJournal: QrJournal;
  /** The task list and couriers cached from the back-end. */
  readonly tasks: TaskCache;
  /** The waybill events by waybill and time (waybill-events.ts). */
  readonly waybillEvents: WaybillEvents;
  /** The ids of fleet messages already acted on (fleet-inbox.ts). */
  readonly fleetInbox: FleetInbox;
  /** The running and previous parameter packages (params-store.ts). */
  readonly params: ParamsStore;
  readonly limits: SpoolLimits;
  readonly retentionMs: number;
  readonly file: string;
  private readonly clock: Clock;

  private constructor(db: Database, options: SpoolOptions) {
    this.db = db;
    this.file = options.file;
    this.clock = options.clock ?? systemClock;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.retentionMs = options.retentionMs ?? 45 * DAY;
    const ids = new IdGenerator(this.clock, options.randomBytes ?? cryptoRandomBytes);
    this.outbox = new Outbox(db, {
      clock: this.clock,
      ids,
      random: options.randomFraction ?? cryptoRandomFraction,
      ...(options.policies ? { policies: options.policies } : {}),
      ...(options.vault ? { vault: options.vault } : {}),
      ...(options.bookkeepingSync ? { bookkeepingSync: options.bookkeepingSync } : {}),
      ...(options.maxGroupRecords !== undefined ? { maxGroupRecords: options.maxGroupRecords } : {}),
      ...(options.maxGroupBytes !== undefined ? { maxGroupBytes: options.maxGroupBytes } : {}),
    });
    this.journal = new Journal(db, {
      clock: this.clock,
      ids,
      outbox: this.outbox,
      limits: this.limits,
      ...(options.vault ? { vault: options.vault } : {}),
    });
    this.qrJournal = new QrJournal(db, { clock: this.clock, ids, outbox: this.outbox });
    this.tasks = new TaskCache(db, this.clock);
    this.waybillEvents = new WaybillEvents(db, this.outbox);
    this.fleetInbox = new FleetInbox(db, this.clock);
    this.params = new ParamsStore(db, this.clock);
  }

  /** Opens (creating when allowed), checks and migrates the database. */
  static open(options: SpoolOptions): Spool {
    const db = openDatabase(options.file, {
      create: options.create ?? true,
      check: options.check ?? 'quick',
      ...(options.clock ? { clock: options.clock } : {}),
    });
    try {
      if (options.vault) checkKey(db, options.vault, options.file);
      return new Spool(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  status(): SpoolStatus {
    const now = this.clock.now();
    const streams = this.outbox.status();
    const oldest = streams.reduce<number | null>(
      (min, s) => (s.oldestPendingAt !== null && (min === null || s.oldestPendingAt < min) ? s.oldestPendingAt : min),
      null,
    );
    const transactions: Record<string, number> = {};
    for (const row of this.db.prepare('SELECT state, count(*) AS n FROM card_txn GROUP BY state').all() as Array<{
      state: string;
      n: number;
    }>)
      transactions[row.state] = row.n;
    return {
      file: this.file,
      schemaVersion: SCHEMA_VERSION,
      streams,
      depth: streams.reduce((n, s) => n + s.depth, 0),
      dead: streams.reduce((n, s) => n + s.dead, 0),
      oldestPendingAt: oldest,
      oldestPendingAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      diskBytes: diskUseBytes(this.db),
      offline: offlineExposure(this.db),
      transactions,
    };
  }

  /**
   * Retention: forwarded records, and transactions in a final state, older than
   * `before` (default: now minus the retention time) are deleted, and so are the ids of fleet
   * messages received before it.
   */
  purge(before: number = this.clock.now() - this.retentionMs): {
    records: number;
    transactions: number;
    qrPayments: number;
  } {
    return this.db.transaction(() => {
      // Far past any redelivery (the broker's session expiry is days, retention weeks).
      this.fleetInbox.prune(before);
      return {
        records: this.outbox.purgeForwarded(before),
        transactions: this.journal.purgeFinished(before),
        qrPayments: this.qrJournal.purgeFinished(before),
      };
    })();
  }

  /** A consistent copy through SQLite's online backup API. */
  backup(destination: string): Promise<{ file: string; bytes: number }> {
    this.outbox.flushNow();
    return backupDatabase(this.db, destination);
  }

  integrityProblems(): string[] {
    return integrityProblems(this.db, 'full');
  }

  /** Writes what waits for the group commit, then closes (checkpointing the WAL). */
  close(): void {
    if (!this.db.open) return;
    this.outbox.flushNow();
    this.db.close();
  }
}

/** The key check value in `meta` ties the database to its data key without holding the key. */
function checkKey(db: Database, vault: Vault, file: string): void {
  const kcv = vault.keyCheckValue();
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'vault.kcv'`).get() as { value: string } | undefined;
  if (row === undefined) {
    db.prepare(`INSERT INTO meta (key, value) VALUES ('vault.kcv', ?)`).run(kcv);
  } else if (row.value !== kcv) {
    throw new PosError(
      'CODPOS_SPOOL_KEY_MISMATCH',
      `the vault key does not belong to spool database ${file} (key check value differs); sealed card data could not be opened with it`,
      {
        details: { file },
      },
    );
  }
}

/** Where the config puts the spool, and its limits (paths resolved against data.dir). */
export function spoolSettings(config: Config): {
  file: string;
  keyFile: string;
  limits: SpoolLimits;
  retentionMs: number;
} {
  const dataDir = resolve(config.data.dir);
  const inData = (file: string) => (isAbsolute(file) ? file : resolve(dataDir, file));
  return {
    file: inData(config.spool.file),
    keyFile: inData(config.spool.keyFile),
    limits: {
      maxOfflineAmountPerTransaction: config.offline.maxAmountPerTransaction,
      maxOfflineTotalAmount: config.offline.maxTotalAmount,
      maxRecords: config.offline.maxRecords,
      maxAgeMs: config.offline.maxAgeHours * 3_600_000,
      maxDiskBytes: config.spool.maxDiskMb * 1024 * 1024,
    },
    retentionMs: config.spool.retentionDays * DAY,
  };
}
