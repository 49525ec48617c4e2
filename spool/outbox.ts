/**
 * The outbox: store-and-forward of records in named streams.
 *
 * `enqueue` resolves only once the record's commit is on disk (synchronous=FULL).
 * Enqueues made while the event loop is busy are written together in one
 * transaction — group commit — so 32 producers cost about one fsync per round
 * instead of 32, and every producer's promise still resolves only after that
 * commit (or rejects if it failed; nothing is resolved early). A group is capped
 * (records and bytes): a burst larger than the cap is written in several commits,
 * one per turn of the event loop, so no single commit holds the thread long and
 * the requests that arrive meanwhile are served between them.
 *
 * A sender `lease`s a batch (its lease expires if the sender dies), then `ack`s
 * what the far end accepted, `fail`s what it refused (retried with exponential
 * backoff and jitter, dead-lettered with the reason after the stream's policy),
 * and `release`s what it did not try. Every record carries a terminal-made
 * UUIDv7 the receiver dedupes on forever, so a resend after a crash is harmless.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../config/errors.js';
import { isPanKeyName, isSecretKeyName, luhnValid } from '../config/masking.js';
import { systemClock, cryptoRandomFraction, type Clock, type RandomFraction } from './clock.js';
import { IdGenerator } from './ids.js';
import { toSpoolError } from './database.js';
import { backoffDelay, resolvePolicies, type StreamPolicies, type StreamPolicy } from './streams.js';
import type { Vault } from './vault.js';

export type OutboxState = 'ready' | 'leased' | 'forwarded' | 'dead';
export const OUTBOX_STATES: readonly OutboxState[] = ['ready', 'leased', 'forwarded', 'dead'];

export interface OutboxRecord<Payload = unknown> {
  id: string;
  seq: number;
  stream: string;
  payload: Payload;
  /** The opened sealed part, on lease only, when the record has one and the outbox has a vault. */
  sealed?: unknown;
  hasSealed: boolean;
  state: OutboxState;
  attempts: number;
  createdAt: number;
  /** Not leased before this time (retry backoff). */
  availableAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
  forwardedAt: number | null;
  deadAt: number | null;
}

export interface EnqueueOptions {
  /** A caller-made id (UUIDv7 or terminal id + sequence); enqueueing the same id twice stores it once. */
  id?: string;
  /** Card data for the receiver: sealed with the vault under the record id, opened only on lease. */
  sealed?: unknown;
}

export interface Enqueued {
  id: string;
  seq: number;
  /** False when the id was already stored (an idempotent repeat). */
  inserted: boolean;
}

export interface LeaseOptions {
  /** Most records returned. */
  limit?: number;
  /** How long the sender has before the records come back to others. */
  leaseMs?: number;
  /** Who holds the lease, for `codpos spool list`. */
  owner?: string;
  /**
   * Take records whose retry time has not come yet too: the sender has a reason to try now
   * (a payment needs the link and the host is answering), so the backoff must not make it wait.
   */
  ignoreBackoff?: boolean;
}

export interface FailOptions {
  /** The far end refused the record for good (format error): dead-letter it now. */
  permanent?: boolean;
}

export type FailOutcome =
  { state: 'ready'; retryAt: number; attempts: number } | { state: 'dead'; attempts: number; reason: string };

export interface StreamStatus {
  stream: string;
  /** Records still to forward: ready (including those waiting for a retry) plus leased. */
  depth: number;
  ready: number;
  /** Ready records whose retry time has not come. */
  waiting: number;
  leased: number;
  dead: number;
  forwarded: number;
  /** Creation time of the oldest record still to forward. */
  oldestPendingAt: number | null;
}

export interface ListOptions {
  stream?: string;
  state?: OutboxState;
  limit?: number;
  /** Records after this seq (paging). */
  afterSeq?: number;
  /** Only these records, by seq (as an index such as the waybill events' names them). */
  seqs?: readonly number[];
}

export interface OutboxOptions {
  /**
   * How sender bookkeeping (lease, ack, fail, release) is committed. FULL (the
   * default): each step waits for the disk like an enqueue does — every commit of
   * the spool is durable, and draining still runs well above its target.
   * NORMAL (opt-in): atomic and consistent through the WAL but without its own
   * fsync — a power cut may undo the last few steps, which only makes a record be
   * sent again (receivers dedupe on its id); the next FULL commit flushes them.
   */
  bookkeepingSync?: 'NORMAL' | 'FULL';
  clock?: Clock;
  ids?: IdGenerator;
  random?: RandomFraction;
  policies?: Record<string, Partial<StreamPolicy>>;
  vault?: Vault;
  /** Most records one group commit writes (default 64); the rest wait for the next turn. */
  maxGroupRecords?: number;
  /** Most payload characters and sealed bytes one group commit writes (default 256 KiB); a single bigger record still goes alone. */
  maxGroupBytes?: number;
}

/** 64 records of a few hundred bytes commit in a few ms here; a signature-laden delivery is tens of KB, hence the byte cap. */
export const DEFAULT_MAX_GROUP_RECORDS = 64;
export const DEFAULT_MAX_GROUP_BYTES = 256 * 1024;

interface Row {
  seq: number;
  id: string;
  stream: string;
  payload: string;
  sealed: Buffer | null;
  state: OutboxState;
  attempts: number;
  created_at: number;
  available_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  forwarded_at: number | null;
  dead_at: number | null;
}

interface PendingEnqueue {
  id: string;
  stream: string;
  payload: string;
  sealed: Buffer | null;
  createdAt: number;
  callerId: boolean;
  resolve: (value: Enqueued) => void;
  reject: (error: unknown) => void;
}

const SEALED_FIELD = 'outbox.sealed';
const MAX_REASON = 500;

export class Outbox {
  readonly policies: StreamPolicies;
  private readonly clock: Clock;
  private readonly ids: IdGenerator;
  private readonly random: RandomFraction;
  private readonly vault: Vault | undefined;
  private pending: PendingEnqueue[] = [];
  private flushScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly sql: Record<string, Statement>;
  private readonly insertBatch: (batch: PendingEnqueue[]) => Enqueued[];
  private readonly bookkeepingSync: 'NORMAL' | 'FULL';
  private commits = 0;
  private committedRecords = 0;
  private readonly maxGroupRecords: number;
  private readonly maxGroupBytes: number;

  constructor(
    private readonly db: Database,
    options: OutboxOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? new IdGenerator(this.clock);
    this.random = options.random ?? cryptoRandomFraction;
    this.vault = options.vault;
    this.bookkeepingSync = options.bookkeepingSync ?? 'FULL';
    this.policies = resolvePolicies(options.policies);
    this.maxGroupRecords = positiveInteger(options.maxGroupRecords ?? DEFAULT_MAX_GROUP_RECORDS, 'maxGroupRecords');
    this.maxGroupBytes = positiveInteger(options.maxGroupBytes ?? DEFAULT_MAX_GROUP_BYTES, 'maxGroupBytes');
    this.sql = {
      insert: db.prepare(
        `INSERT INTO outbox (id, stream, payload, sealed, state, attempts, created_at, available_at)
         VALUES (?, ?, ?, ?, 'ready', 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      seqOf: db.prepare('SELECT seq FROM outbox WHERE id = ?'),
      byId: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      expired: db.prepare(`SELECT * FROM outbox WHERE stream = ? AND state = 'leased' AND lease_until <= ?`),
      unlease: db.prepare(
        `UPDATE outbox SET state = 'ready', lease_owner = NULL, lease_until = NULL, available_at = ?, last_error = ? WHERE seq = ?`,
      ),
      kill: db.prepare(
        `UPDATE outbox SET state = 'dead', dead_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ? WHERE seq = ?`,
      ),
      hasUnfinished: db.prepare(`SELECT 1 FROM outbox WHERE stream = ? AND state IN ('ready', 'leased') LIMIT 1`),
      hasLeased: db.prepare(`SELECT 1 FROM outbox WHERE stream = ? AND state = 'leased' LIMIT 1`),
      headOrdered: db.prepare(
        `SELECT seq, available_at FROM outbox WHERE stream = ? AND state = 'ready' ORDER BY seq LIMIT ?`,
      ),
      headUnordered: db.prepare(
        `SELECT seq FROM outbox WHERE stream = ? AND state = 'ready' AND available_at <= ? ORDER BY seq LIMIT ?`,
      ),
      // Between the first and last seq found above, exactly the records found are ready and due.
      leaseRange: db.prepare(
        `UPDATE outbox SET state = 'leased', lease_owner = ?, lease_until = ?, attempts = attempts + 1
         WHERE stream = ? AND state = 'ready' AND seq BETWEEN ? AND ? AND available_at <= ? RETURNING *`,
      ),
      ack: db.prepare(
        `UPDATE outbox SET state = 'forwarded', forwarded_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('leased', 'ready')`,
      ),
      retryLater: db.prepare(
        `UPDATE outbox SET state = 'ready', lease_owner = NULL, lease_until = NULL, available_at = ?, last_error = ? WHERE seq = ?`,
      ),
      release: db.prepare(
        `UPDATE outbox SET state = 'ready', lease_owner = NULL, lease_until = NULL, attempts = max(attempts - 1, 0) WHERE id = ? AND state = 'leased'`,
      ),
      revive: db.prepare(
        `UPDATE outbox SET state = 'ready', attempts = 0, available_at = ?, dead_at = NULL WHERE id = ? AND state IN ('dead', 'ready')`,
      ),
      reviveAllDead: db.prepare(
        `UPDATE outbox SET state = 'ready', attempts = 0, available_at = ?, dead_at = NULL WHERE state = 'dead'`,
      ),
      reviveDeadOfStream: db.prepare(
        `UPDATE outbox SET state = 'ready', attempts = 0, available_at = ?, dead_at = NULL WHERE state = 'dead' AND stream = ?`,
      ),
      // Pending states only (an index range): the retry-time sum reads each row, and the forwarded
      // rows kept for retention can be many times the pending ones. Those are counted apart, from
      // the index alone (outbox_by_stream), so a status read stays cheap while a backlog drains.
      countByState: db.prepare(
        `SELECT state, count(*) AS n, sum(available_at > ?) AS waiting FROM outbox WHERE stream = ? AND state IN ('ready', 'leased', 'dead') GROUP BY state`,
      ),
      countForwarded: db.prepare(`SELECT count(*) AS n FROM outbox WHERE stream = ? AND state = 'forwarded'`),
      oldestPending: db.prepare(
        `SELECT min(created_at) AS at FROM outbox WHERE stream = ? AND state IN ('ready', 'leased')`,
      ),
      purge: db.prepare(`DELETE FROM outbox WHERE stream = ? AND state = 'forwarded' AND forwarded_at < ?`),
      unfinishedCount: db.prepare(`SELECT count(*) AS n FROM outbox WHERE state IN ('ready', 'leased')`),
    };
    this.insertBatch = db.transaction((batch: PendingEnqueue[]) => batch.map((record) => this.insert(record)));
  }

  /** Streams this outbox knows, in the order of their policies. */
  get streams(): string[] {
    return Object.keys(this.policies);
  }

  /**
   * Stores a record; resolves once its commit is durable. Enqueues arriving in the
   * same turn of the event loop share one commit.
   */
  enqueue<Payload>(stream: string, payload: Payload, options: EnqueueOptions = {}): Promise<Enqueued> {
    let pending: Omit<PendingEnqueue, 'resolve' | 'reject'>;
    try {
      if (!this.db.open) throw closedError();
      pending = this.prepare(stream, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Enqueued>((resolve, reject) => {
      // Completed in place rather than copied: this runs once per record on the group-commit path.
      const record = pending as PendingEnqueue;
      record.resolve = resolve;
      record.reject = reject;
      this.pending.push(record);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate, not a microtask: it runs after every producer woken by the
        // previous commit has had its turn, so they all land in the next commit.
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Stores a record now, inside the caller's transaction if there is one (the
   * journal uses it to write a reversal with the state change that needs it).
   */
  enqueueNow<Payload>(stream: string, payload: Payload, options: EnqueueOptions = {}): Enqueued {
    const record = this.prepare(stream, payload, options);
    try {
      return this.insert(record);
    } catch (error) {
      throw toSpoolError(error, `storing a ${stream} record`);
    }
  }

  /** Writes everything waiting for the group commit now, group after group (at shutdown, before a backup or a handover). */
  flushNow(): void {
    // Inside a caller's open transaction nothing is written: the flush already scheduled writes after its COMMIT.
    while (this.pending.length > 0 && !(this.db.open && this.db.inTransaction)) this.commitGroup(this.takeGroup());
    this.notifyIdle();
  }

  /** Resolves when no enqueue waits for its commit. */
  whenIdle(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private prepare(
    stream: string,
    payload: unknown,
    options: EnqueueOptions,
  ): Omit<PendingEnqueue, 'resolve' | 'reject'> {
    if (!(stream in this.policies)) {
      throw new PosError(
        'CODPOS_SPOOL_UNKNOWN_STREAM',
        `unknown outbox stream "${stream}"; streams are ${this.streams.join(', ')}`,
        { details: { stream } },
      );
    }
    refuseClearCardData(stream, payload, options.sealed);
    const text = JSON.stringify(payload);
    if (text === undefined)
      throw new PosError('CODPOS_SPOOL_BAD_RECORD', `the ${stream} record payload cannot be stored as JSON`);
    const id = options.id ?? this.ids.next();
    if (options.id !== undefined && !/^[0-9A-Za-z][0-9A-Za-z._:-]{0,63}$/.test(id)) {
      throw new PosError('CODPOS_SPOOL_BAD_RECORD', `record id "${id}" must be 1-64 letters, digits or . _ : -`, {
        details: { field: 'id' },
      });
    }
    let sealed: Buffer | null = null;
    if (options.sealed !== undefined) {
      if (!this.vault)
        throw new PosError(
          'CODPOS_SPOOL_NO_VAULT',
          `a ${stream} record has sealed data but the spool was opened without a vault key`,
        );
      sealed = this.vault.seal(id, SEALED_FIELD, JSON.stringify(options.sealed));
    }
    return { id, stream, payload: text, sealed, createdAt: this.clock.now(), callerId: options.id !== undefined };
  }

  private insert(record: Omit<PendingEnqueue, 'resolve' | 'reject'>): Enqueued {
    const result = this.sql.insert!.run(
      record.id,
      record.stream,
      record.payload,
      record.sealed,
      record.createdAt,
      record.createdAt,
    );
    if (result.changes === 1) return { id: record.id, seq: Number(result.lastInsertRowid), inserted: true };
    const existing = this.sql.seqOf!.get(record.id) as { seq: number };
    return { id: record.id, seq: existing.seq, inserted: false };
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.db.open && this.db.inTransaction) {
      // Someone holds a transaction open across an await: our transaction would only
      // be a savepoint inside theirs, and the promises would resolve before any COMMIT.
      // Wait for theirs to end.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
      return;
    }
    if (this.pending.length === 0) return;
    this.commitGroup(this.takeGroup());
    if (this.pending.length > 0) {
      // The rest of a burst goes in the next turn, after the I/O that came in meanwhile.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
      return;
    }
    this.notifyIdle();
  }

  /** The oldest pending records, up to the group caps (always at least one, however big). */
  private takeGroup(): PendingEnqueue[] {
    let count = 0;
    let bytes = 0;
    for (const record of this.pending) {
      const size = record.payload.length + (record.sealed?.length ?? 0);
      if (count > 0 && (count >= this.maxGroupRecords || bytes + size > this.maxGroupBytes)) break;
      count++;
      bytes += size;
    }
    return this.pending.splice(0, count);
  }

  /**
   * Writes the group in one transaction and settles each promise after it. When the
   * group fails, each record is tried again in a transaction of its own, so a record
   * that cannot be stored (too big for the room left, say) fails only its own
   * producer and every promise gets its own true outcome.
   */
  private commitGroup(batch: PendingEnqueue[]): void {
    if (!this.db.open) {
      for (const record of batch) record.reject(closedError());
      return;
    }
    let results: Enqueued[];
    try {
      results = this.insertBatch(batch);
    } catch (error) {
      if (batch.length > 1) {
        for (const record of batch) this.commitGroup([record]);
        return;
      }
      batch[0]!.reject(toSpoolError(error, `storing a ${batch[0]!.stream} record`));
      return;
    }
    // The transaction has committed with synchronous=FULL: the records are on disk.
    this.commits++;
    this.committedRecords += batch.length;
    batch.forEach((record, i) => record.resolve(results[i]!));
  }

  /** Group commits so far and the records they carried (records / commits = the mean group size). */
  groupCommitStats(): { commits: number; records: number } {
    return { commits: this.commits, records: this.committedRecords };
  }

  /** Runs sender bookkeeping under the bookkeeping sync level (see OutboxOptions). */
  private bookkeeping<T>(step: () => T): T {
    if (this.bookkeepingSync === 'FULL' || this.db.inTransaction) return step();
    this.db.pragma('synchronous = NORMAL');
    try {
      return step();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private notifyIdle(): void {
    if (this.pending.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Leases up to `limit` records from the given streams, taken in the order given.
   * Expired leases come back first. An ordered stream yields only from its head and
   * only when none of its records is leased; a stream whose policy names blockers
   * yields nothing while a blocker still has records to forward.
   */
  lease<Payload = unknown>(
    streams: string | readonly string[],
    options: LeaseOptions = {},
  ): Array<OutboxRecord<Payload>> {
    const names = typeof streams === 'string' ? [streams] : [...streams];
    for (const name of names) this.policyOf(name);
    const limit = options.limit ?? 100;
    const leaseMs = options.leaseMs ?? 30_000;
    if (!Number.isInteger(limit) || limit < 1)
      throw new PosError('CODPOS_SPOOL_BAD_REQUEST', `lease limit must be a positive integer, got ${limit}`);
    if (!(leaseMs > 0)) throw new PosError('CODPOS_SPOOL_BAD_REQUEST', `leaseMs must be more than 0, got ${leaseMs}`);
    const owner = options.owner ?? `pid-${process.pid}`;
    try {
      return this.bookkeeping(() =>
        this.db.transaction(() => {
          const now = this.clock.now();
          this.reclaimExpired(now);
          const taken: Row[] = [];
          // Records due by this time are taken: now, or any time at all when the backoff is ignored.
          const due = options.ignoreBackoff ? Number.MAX_SAFE_INTEGER : now;
          for (const name of names) {
            if (taken.length >= limit) break;
            const policy = this.policies[name]!;
            if (policy.blockedBy.some((blocker) => this.sql.hasUnfinished!.get(blocker) !== undefined)) continue;
            const room = limit - taken.length;
            // Find the run of records to take, then lease it with one range UPDATE.
            let last: number | undefined;
            let first: number | undefined;
            if (policy.ordered) {
              if (this.sql.hasLeased!.get(name) !== undefined) continue;
              for (const row of this.sql.headOrdered!.all(name, room) as Array<{ seq: number; available_at: number }>) {
                if (row.available_at > due) break; // the head waits for its retry; the rest wait behind it
                first ??= row.seq;
                last = row.seq;
              }
            } else {
              const rows = this.sql.headUnordered!.all(name, due, room) as Array<{ seq: number }>;
              first = rows[0]?.seq;
              last = rows[rows.length - 1]?.seq;
            }
            if (first === undefined || last === undefined) continue;
            const rows = this.sql.leaseRange!.all(owner, now + leaseMs, name, first, last, due) as Row[];
            rows.sort((a, b) => a.seq - b.seq);
            for (const row of rows) taken.push(row);
          }
          return taken;
        })(),
      ).map((row) => this.toRecord<Payload>(row, true));
    } catch (error) {
      throw toSpoolError(error, 'leasing records');
    }
  }

  /** Leases whose time ran out (the sender crashed or hung) go back to ready, or dead past the policy. */
  private reclaimExpired(now: number): void {
    for (const row of this.streams.flatMap((stream) => this.sql.expired!.all(stream, now) as Row[])) {
      const policy = this.policies[row.stream];
      const reason = `lease held by ${row.lease_owner ?? 'unknown'} expired without an answer`;
      if (policy && row.attempts >= policy.maxAttempts) {
        this.sql.kill!.run(
          now,
          truncate(
            `${reason}; dead after ${row.attempts} attempts (stream ${row.stream} allows ${policy.maxAttempts})`,
          ),
          row.seq,
        );
      } else {
        this.sql.unlease!.run(now, reason, row.seq);
      }
    }
  }

  /** Marks records forwarded (the far end accepted them). Returns how many changed. */
  ack(ids: string | readonly string[]): number {
    const list = typeof ids === 'string' ? [ids] : ids;
    try {
      return this.bookkeeping(() => this.sql.ack!.run(this.clock.now(), JSON.stringify(list)).changes);
    } catch (error) {
      throw toSpoolError(error, 'acknowledging records');
    }
  }

  /** The far end refused or did not answer: retry later with backoff, or dead-letter per policy. */
  fail(id: string, reason: string, options: FailOptions = {}): FailOutcome {
    try {
      return this.bookkeeping(() =>
        this.db.transaction((): FailOutcome => {
          const row = this.sql.byId!.get(id) as Row | undefined;
          if (!row) throw noSuchRecord(id);
          if (row.state !== 'leased' && row.state !== 'ready') {
            throw new PosError(
              'CODPOS_SPOOL_BAD_REQUEST',
              `record ${id} is ${row.state}; only a leased or ready record can fail`,
              { details: { id, state: row.state } },
            );
          }
          const policy = this.policyOf(row.stream);
          const now = this.clock.now();
          const attempts = Math.max(row.attempts, 1);
          let deadBecause: string | undefined;
          if (options.permanent) deadBecause = 'refused as permanent';
          else if (attempts >= policy.maxAttempts)
            deadBecause = `dead after ${attempts} attempts (stream ${row.stream} allows ${policy.maxAttempts})`;
          else if (policy.maxAgeMs > 0 && now - row.created_at >= policy.maxAgeMs)
            deadBecause = `dead: older than ${policy.maxAgeMs} ms (stream ${row.stream} policy)`;
          if (deadBecause) {
            const full = truncate(`${reason}; ${deadBecause}`);
            this.sql.kill!.run(now, full, row.seq);
            return { state: 'dead', attempts, reason: full };
          }
          const retryAt = now + backoffDelay(policy.backoff, attempts, this.random());
          this.sql.retryLater!.run(retryAt, truncate(reason), row.seq);
          return { state: 'ready', retryAt, attempts };
        })(),
      );
    } catch (error) {
      throw toSpoolError(error, `failing record ${id}`);
    }
  }

  /** Gives leased records back untried (the sender stopped before sending them); no attempt is counted. */
  release(ids: string | readonly string[]): number {
    const list = typeof ids === 'string' ? [ids] : ids;
    try {
      return this.bookkeeping(() =>
        this.db.transaction(() => list.reduce((n, id) => n + this.sql.release!.run(id).changes, 0))(),
      );
    } catch (error) {
      throw toSpoolError(error, 'releasing records');
    }
  }

  /** A dead (or waiting) record goes back to ready now, its attempts reset; the last reason is kept. */
  retry(id: string): void {
    const row = this.sql.byId!.get(id) as Row | undefined;
    if (!row) throw noSuchRecord(id);
    if (row.state !== 'dead' && row.state !== 'ready') {
      throw new PosError(
        'CODPOS_SPOOL_BAD_REQUEST',
        `record ${id} is ${row.state}; only a dead or waiting record can be retried`,
        { details: { id, state: row.state } },
      );
    }
    try {
      this.sql.revive!.run(this.clock.now(), id);
    } catch (error) {
      throw toSpoolError(error, `retrying record ${id}`);
    }
  }

  /** Every dead record (of one stream, or all) back to ready. Returns how many. */
  retryDead(stream?: string): number {
    const now = this.clock.now();
    if (stream !== undefined) this.policyOf(stream);
    try {
      return (stream === undefined ? this.sql.reviveAllDead!.run(now) : this.sql.reviveDeadOfStream!.run(now, stream))
        .changes;
    } catch (error) {
      throw toSpoolError(error, 'retrying dead records');
    }
  }

  get<Payload = unknown>(id: string): OutboxRecord<Payload> | undefined {
    const row = this.sql.byId!.get(id) as Row | undefined;
    return row && this.toRecord<Payload>(row, false);
  }

  list(options: ListOptions = {}): OutboxRecord[] {
    const where: string[] = ['seq > ?'];
    const args: unknown[] = [options.afterSeq ?? 0];
    if (options.stream !== undefined) {
      this.policyOf(options.stream);
      where.push('stream = ?');
      args.push(options.stream);
    }
    if (options.state !== undefined) {
      if (!OUTBOX_STATES.includes(options.state)) {
        throw new PosError(
          'CODPOS_SPOOL_BAD_REQUEST',
          `unknown record state "${options.state}"; states are ${OUTBOX_STATES.join(', ')}`,
        );
      }
      where.push('state = ?');
      args.push(options.state);
    }
    if (options.seqs !== undefined) {
      where.push(`seq IN (${options.seqs.map(() => '?').join(', ') || 'NULL'})`);
      args.push(...options.seqs);
    }
    args.push(options.limit ?? 100);
    const rows = this.db
      .prepare(`SELECT * FROM outbox WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`)
      .all(...args) as Row[];
    return rows.map((row) => this.toRecord(row, false));
  }

  status(): StreamStatus[] {
    const now = this.clock.now();
    return this.db.transaction(() =>
      this.streams.map((stream) => {
        const status: StreamStatus = {
          stream,
          depth: 0,
          ready: 0,
          waiting: 0,
          leased: 0,
          dead: 0,
          forwarded: 0,
          oldestPendingAt: null,
        };
        for (const row of this.sql.countByState!.all(now, stream) as Array<{
          state: OutboxState;
          n: number;
          waiting: number;
        }>) {
          status[row.state] = row.n;
          if (row.state === 'ready') status.waiting = row.waiting;
        }
        status.forwarded = (this.sql.countForwarded!.get(stream) as { n: number }).n;
        status.depth = status.ready + status.leased;
        status.oldestPendingAt = (this.sql.oldestPending!.get(stream) as { at: number | null }).at;
        return status;
      }),
    )();
  }

  /** Records still to forward, all streams. */
  unfinishedCount(): number {
    return (this.sql.unfinishedCount!.get() as { n: number }).n;
  }

  /** Deletes records forwarded before `before` (ms). Returns how many. */
  purgeForwarded(before: number): number {
    try {
      return this.db.transaction(() =>
        this.streams.reduce((n, stream) => n + this.sql.purge!.run(stream, before).changes, 0),
      )();
    } catch (error) {
      throw toSpoolError(error, 'purging forwarded records');
    }
  }

  private policyOf(stream: string): StreamPolicy {
    const policy = this.policies[stream];
    if (!policy)
      throw new PosError(
        'CODPOS_SPOOL_UNKNOWN_STREAM',
        `unknown outbox stream "${stream}"; streams are ${this.streams.join(', ')}`,
        { details: { stream } },
      );
    return policy;
  }

  private toRecord<Payload>(row: Row, openSealed: boolean): OutboxRecord<Payload> {
    const record: OutboxRecord<Payload> = {
      id: row.id,
      seq: row.seq,
      stream: row.stream,
      payload: JSON.parse(row.payload) as Payload,
      hasSealed: row.sealed !== null,
      state: row.state,
      attempts: row.attempts,
      createdAt: row.created_at,
      availableAt: row.available_at,
      leaseOwner: row.lease_owner,
      leaseUntil: row.lease_until,
      lastError: row.last_error,
      forwardedAt: row.forwarded_at,
      deadAt: row.dead_at,
    };
    if (openSealed && row.sealed !== null && this.vault)
      record.sealed = JSON.parse(this.vault.openText(row.id, SEALED_FIELD, row.sealed));
    return record;
  }

  /**
   * The far end answers again: records of these streams waiting for their retry time become
   * due now. Only the wait goes: attempts and the last error stay (the dead-letter policy still
   * counts them). Returns how many records were waiting.
   */
  resetBackoff(streams: string | readonly string[]): number {
    const names = typeof streams === 'string' ? [streams] : [...streams];
    for (const name of names) this.policyOf(name);
    const now = this.clock.now();
    try {
      return this.bookkeeping(
        () =>
          this.db
            .prepare(
              `UPDATE outbox SET available_at = ? WHERE state = 'ready' AND available_at > ? AND stream IN (SELECT value FROM json_each(?))`,
            )
            .run(now, now, JSON.stringify(names)).changes,
      );
    } catch (error) {
      throw toSpoolError(error, 'resetting the retry backoff');
    }
  }
}

/**
 * A payload is stored in clear: it may not carry a full PAN or any secret (by the
 * masking module's key names). Sealed data may carry a PAN, but never sensitive
 * authentication data (track data, PIN block, CVV): PCI DSS forbids keeping it, even
 * encrypted, once the authorization has an answer — it lives only in a pending journal row.
 */
/** What a payload key names, by the masking module's rules: 0 harmless, 1 a secret, 2 a PAN. */
type KeyKind = 0 | 1 | 2;
/**
 * Payload keys come from a few record shapes, so their kind is remembered rather than
 * normalised again for every record (this runs once per enqueued record). Bounded, so
 * odd keys cannot grow it without limit.
 */
const keyKinds = new Map<string, KeyKind>();
function keyKind(key: string): KeyKind {
  let kind = keyKinds.get(key);
  if (kind === undefined) {
    kind = isSecretKeyName(key) ? 1 : isPanKeyName(key) ? 2 : 0;
    if (keyKinds.size < 1024) keyKinds.set(key, kind);
  }
  return kind;
}

function refuseClearCardData(stream: string, payload: unknown, sealed: unknown): void {
  walk(payload, (key, value) => {
    const kind = keyKind(key);
    if (kind === 0) return;
    if (kind === 1) {
      throw new PosError(
        'CODPOS_SPOOL_CLEAR_CARD_DATA',
        `the ${stream} record payload carries "${key}": secrets and sensitive authentication data are never queued`,
        { details: { stream, key } },
      );
    }
    if (
      (typeof value === 'string' || typeof value === 'number') &&
      /^[0-9]{13,19}$/.test(String(value)) &&
      luhnValid(String(value))
    ) {
      throw new PosError(
        'CODPOS_SPOOL_CLEAR_CARD_DATA',
        `the ${stream} record payload carries a full PAN under "${key}": pass it in \`sealed\` (or mask it)`,
        { details: { stream, key } },
      );
    }
  });
  walk(sealed, (key) => {
    if (keyKind(key) === 1) {
      throw new PosError(
        'CODPOS_SPOOL_CLEAR_CARD_DATA',
        `the ${stream} record's sealed data carries "${key}": sensitive authentication data is never queued, even sealed`,
        { details: { stream, key } },
      );
    }
  });
}

function walk(value: unknown, visit: (key: string, value: unknown) => void, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 16) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit, depth + 1);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined || child === null || child === '') continue;
    visit(key, child);
    walk(child, visit, depth + 1);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new PosError('CODPOS_SPOOL_BAD_REQUEST', `${name} must be a positive integer, got ${value}`);
  return value;
}

function closedError(): PosError {
  return new PosError('CODPOS_SPOOL_CLOSED', 'the spool is closed (the daemon is stopping); the record was not stored');
}

function noSuchRecord(id: string): PosError {
  return new PosError('CODPOS_SPOOL_NO_SUCH_RECORD', `no outbox record with id ${id}`, { details: { id } });
}

function truncate(text: string): string {
  return text.length > MAX_REASON ? text.slice(0, MAX_REASON - 3) + '...' : text;
}
