/**
 * Versioned schema migrations, run in order at start-up. `PRAGMA user_version`
 * holds the version reached; each migration runs in its own transaction with
 * the version bump, so a crash mid-migration leaves the previous version whole.
 * A database newer than this code is refused rather than guessed at.
 *
 * Append new migrations; never edit one that has shipped.
 */
import type { Database } from 'better-sqlite3';
import { PosError } from '../config/errors.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'outbox, card transaction journal, counters, meta',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- seq gives the order within a stream (AUTOINCREMENT: never reused, even after a purge).
      CREATE TABLE outbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT    NOT NULL UNIQUE,
        stream       TEXT    NOT NULL,
        payload      TEXT    NOT NULL,
        sealed       BLOB,
        state        TEXT    NOT NULL DEFAULT 'ready'
                     CHECK (state IN ('ready', 'leased', 'forwarded', 'dead')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL,
        available_at INTEGER NOT NULL,
        lease_owner  TEXT,
        lease_until  INTEGER,
        last_error   TEXT,
        forwarded_at INTEGER,
        dead_at      INTEGER,
        CHECK (state <> 'leased' OR lease_until IS NOT NULL),
        CHECK (state <> 'forwarded' OR forwarded_at IS NOT NULL),
        CHECK (state <> 'dead' OR dead_at IS NOT NULL)
      ) STRICT;
      -- The one index every outbox query goes through (lease, expiry, status, purge):
      -- each further index would cost every lease and ack an extra b-tree write.
      CREATE INDEX outbox_by_stream ON outbox (stream, state, seq);

      CREATE TABLE card_txn (
        id            TEXT    PRIMARY KEY,
        kind          TEXT    NOT NULL CHECK (kind IN ('purchase', 'void', 'refund')),
        state         TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'declined', 'reversal_pending',
                               'reversed', 'offline_approved', 'advised', 'voided', 'settled')),
        offline       INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
        amount        INTEGER NOT NULL CHECK (amount >= 0),
        currency      TEXT    NOT NULL,
        stan          INTEGER NOT NULL CHECK (stan BETWEEN 1 AND 999999),
        rrn           TEXT    NOT NULL,
        batch         INTEGER NOT NULL,
        invoice       INTEGER NOT NULL,
        waybill       TEXT,
        original_id   TEXT    REFERENCES card_txn (id) ON DELETE SET NULL,
        pan_masked    TEXT,
        pan_sealed    BLOB,
        -- Sensitive authentication data (track-2 equivalent, PIN block): sealed, and
        -- only while the authorization has no answer yet. The database itself enforces it.
        sad_sealed    BLOB CHECK (sad_sealed IS NULL OR state = 'pending'),
        response_code TEXT,
        auth_code     TEXT,
        reason        TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX card_txn_by_state ON card_txn (state, updated_at);
      CREATE INDEX card_txn_by_batch ON card_txn (batch, state);

      CREATE TABLE card_txn_history (
        txn_id     TEXT    NOT NULL REFERENCES card_txn (id) ON DELETE CASCADE,
        from_state TEXT,
        to_state   TEXT    NOT NULL,
        at         INTEGER NOT NULL,
        reason     TEXT
      ) STRICT;
      CREATE INDEX card_txn_history_by_txn ON card_txn_history (txn_id);

      CREATE TABLE counters (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: "the courier's task list and the couriers who may check in, cached from the back-end for offline use",
    sql: `
      CREATE TABLE task (
        id          TEXT    PRIMARY KEY,
        waybill     TEXT    NOT NULL,
        kind        TEXT    NOT NULL CHECK (kind IN ('pickup', 'delivery')),
        -- Cash on delivery due, minor units of currency (0: nothing to collect).
        cod_amount  INTEGER NOT NULL DEFAULT 0 CHECK (cod_amount >= 0),
        currency    TEXT,
        consignee   TEXT,
        address     TEXT,
        updated_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX task_by_waybill ON task (waybill);

      -- pin_hash: scrypt$N$r$p$salt$hash (base64); the PIN itself is never stored.
      CREATE TABLE courier (
        id          TEXT    PRIMARY KEY,
        name        TEXT    NOT NULL,
        pin_hash    TEXT    NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    description:
      "each approved payment's clearing data, for a void and for the batch upload after a settlement out of balance",
    sql: `
      -- clearing: JSON of the original message's fields that are not card data (MTI, DE3, DE7,
      -- DE11-13, DE22, DE25, DE37-39); clearing_sealed: the expiry and DE55, sealed like the PAN.
      ALTER TABLE card_txn ADD COLUMN clearing TEXT;
      ALTER TABLE card_txn ADD COLUMN clearing_sealed BLOB;
    `,
  },
  {
    version: 4,
    description: 'the amount the issuer approved, when it approved less than was asked (partial approval)',
    sql: `
      -- NULL: the amount asked for (every approval before partial approvals were read).
      ALTER TABLE card_txn ADD COLUMN approved_amount INTEGER CHECK (approved_amount IS NULL OR (approved_amount > 0 AND approved_amount <= amount));
    `,
  },
  {
    version: 5,
    description:
      "card payments' idempotency keys (a lost answer is asked for again) and their receipts, printed or held for a reprint",
    sql: `
      -- One row per Idempotency-Key of POST /v1/payments/card: the request it came with, the
      -- journal row once one was begun (in the same commit), and the answer once there is one.
      -- Pruned after a day or past the newest 1000 keys (runtime/payment/payment-requests.ts).
      CREATE TABLE payment_request (
        key         TEXT    PRIMARY KEY,
        amount      INTEGER NOT NULL,
        waybill     TEXT,
        journal_id  TEXT,
        state       TEXT    NOT NULL CHECK (state IN ('running', 'answered')),
        -- JSON of the payment's answer: the card as its last four digits at most.
        answer      TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        CHECK (state <> 'answered' OR answer IS NOT NULL)
      ) STRICT;
      CREATE INDEX payment_request_by_age ON payment_request (created_at);

      -- One row per journaled card payment: what its receipt prints (JSON: amounts, waybill,
      -- the payment's outcome with the card's last four digits, never more) and whether it
      -- printed. A held receipt waits for a reprint, across restarts (runtime/payment/receipt-queue.ts).
      CREATE TABLE payment_receipt (
        journal_id  TEXT    PRIMARY KEY,
        state       TEXT    NOT NULL CHECK (state IN ('held', 'printed')),
        content     TEXT    NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        created_at  INTEGER NOT NULL,
        printed_at  INTEGER,
        CHECK (state <> 'printed' OR printed_at IS NOT NULL)
      ) STRICT;
      CREATE INDEX payment_receipt_by_state ON payment_receipt (state, created_at);
    `,
  },
  {
    version: 6,
    description: 'the tariff downloaded with the task list, for price quotes at a pickup offline',
    sql: `
      -- One row: the last tariff that read (JSON as runtime/workflow/tariff.ts reads it). A
      -- download that does not read leaves it as it is.
      CREATE TABLE tariff (
        slot        INTEGER PRIMARY KEY CHECK (slot = 1),
        version     TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    description: "the courier's cash handovers to the depot, each closing the day it was made in",
    sql: `
      -- One row per cash handover: what the courier should hand in (the day report's cash less
      -- what earlier handovers of the same day took), what the depot clerk counted, and why they
      -- differ. id is also the id of the handover's outbox record for the back-end (same commit).
      -- A handover closes its day until a check-in opens a new one (reopened_at).
      CREATE TABLE handover (
        id          TEXT    PRIMARY KEY,
        day         TEXT    NOT NULL,
        courier_id  TEXT    NOT NULL,
        clerk_id    TEXT    NOT NULL,
        currency    TEXT    NOT NULL,
        expected    INTEGER NOT NULL,
        counted     INTEGER NOT NULL CHECK (counted >= 0),
        reason      TEXT,
        handed_at   INTEGER NOT NULL,
        reopened_at INTEGER,
        CHECK (counted = expected OR reason IS NOT NULL)
      ) STRICT;
      -- A day has at most one handover that still closes it: a second one is refused here too.
      CREATE UNIQUE INDEX handover_closing_day ON handover (day) WHERE reopened_at IS NULL;
      CREATE INDEX handover_by_day ON handover (day, handed_at);
    `,
  },
  {
    version: 8,
    description: 'waybill event index: waybill, kind, reason and time of each waybill-event record, kept by triggers',
    sql: `
      -- What the task list, a waybill's history and the day report look events up by, so they
      -- read a few small rows instead of parsing every retained event (signatures included) at
      -- each call. Kept in the same commit as the outbox row by the triggers below, for every
      -- writer; seq is the outbox row's. at: the event's own time (ISO 8601, UTC), else the
      -- record's creation time.
      CREATE TABLE waybill_event (
        seq     INTEGER PRIMARY KEY,
        waybill TEXT    NOT NULL,
        kind    TEXT    NOT NULL,
        reason  TEXT,
        at      TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX waybill_event_by_waybill ON waybill_event (waybill, seq);
      CREATE INDEX waybill_event_by_time ON waybill_event (at);

      INSERT INTO waybill_event (seq, waybill, kind, reason, at)
        SELECT seq, json_extract(payload, '$.waybill'), json_extract(payload, '$.kind'), CAST(json_extract(payload, '$.reason') AS TEXT),
               coalesce(CAST(json_extract(payload, '$.at') AS TEXT), strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch'))
        FROM outbox
        WHERE stream = 'waybill-event' AND json_valid(payload)
          AND json_type(payload, '$.waybill') = 'text' AND json_type(payload, '$.kind') = 'text';

      CREATE TRIGGER waybill_event_recorded AFTER INSERT ON outbox
      WHEN NEW.stream = 'waybill-event' AND json_valid(NEW.payload)
        AND json_type(NEW.payload, '$.waybill') = 'text' AND json_type(NEW.payload, '$.kind') = 'text'
      BEGIN
        INSERT INTO waybill_event (seq, waybill, kind, reason, at) VALUES (
          NEW.seq, json_extract(NEW.payload, '$.waybill'), json_extract(NEW.payload, '$.kind'), CAST(json_extract(NEW.payload, '$.reason') AS TEXT),
          coalesce(CAST(json_extract(NEW.payload, '$.at') AS TEXT), strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch')));
      END;

      CREATE TRIGGER waybill_event_purged AFTER DELETE ON outbox
      WHEN OLD.stream = 'waybill-event'
      BEGIN
        DELETE FROM waybill_event WHERE seq = OLD.seq;
      END;
    `,
  },
  {
    version: 9,
    description: 'QR payment journal: one row per QR payment to the payment service provider, and its history',
    sql: `
      -- No card data here: a consumer-presented code (which may carry a PAN) goes to the PSP and
      -- is not kept; a merchant-presented payload names the merchant, the amount and the waybill.
      CREATE TABLE qr_txn (
        id              TEXT    PRIMARY KEY,
        mode            TEXT    NOT NULL CHECK (mode IN ('merchant', 'consumer')),
        state           TEXT    NOT NULL CHECK (state IN ('pending', 'paid', 'declined', 'cancelled', 'unknown', 'refunded')),
        amount          INTEGER NOT NULL CHECK (amount > 0),
        currency        TEXT    NOT NULL CHECK (length(currency) = 3),
        waybill         TEXT    NOT NULL CHECK (length(waybill) > 0),
        psp_order_id    TEXT,
        wallet          TEXT,
        payload         TEXT,
        reason          TEXT,
        refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount BETWEEN 0 AND amount),
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        final_at        INTEGER,
        CHECK (state NOT IN ('paid', 'declined', 'cancelled', 'refunded') OR final_at IS NOT NULL),
        CHECK (state = 'refunded' OR refunded_amount = 0)
      ) STRICT;
      CREATE INDEX qr_txn_by_waybill ON qr_txn (waybill, created_at);
      CREATE INDEX qr_txn_by_time ON qr_txn (created_at);
      -- What the resolver reads at start and after each wait: the rows the PSP has not finished.
      CREATE INDEX qr_txn_outstanding ON qr_txn (state) WHERE state IN ('pending', 'unknown');

      CREATE TABLE qr_txn_history (
        txn_id     TEXT    NOT NULL REFERENCES qr_txn (id) ON DELETE CASCADE,
        from_state TEXT,
        to_state   TEXT    NOT NULL,
        at         INTEGER NOT NULL,
        reason     TEXT
      ) STRICT;
      CREATE INDEX qr_txn_history_by_txn ON qr_txn_history (txn_id);
    `,
  },
  {
    version: 10,
    description:
      'parameter packages (the running and the previous signed package) and the fleet link inbox (ids of messages already handled)',
    sql: `
      -- The signed envelope as received, so the running parameters can be checked again at start
      -- with the operator key; 'previous' is what a rollback returns to.
      CREATE TABLE param_set (
        slot        TEXT    PRIMARY KEY CHECK (slot IN ('active', 'previous')),
        version     INTEGER NOT NULL CHECK (version > 0),
        envelope    TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        applied_at  INTEGER NOT NULL
      ) STRICT;

      -- QoS 1 is at least once: a task update, package or command the broker delivers again is
      -- recognised by its id and not acted on twice. Pruned by age with the outbox's retention.
      CREATE TABLE fleet_inbox (
        message_id  TEXT    PRIMARY KEY,
        kind        TEXT    NOT NULL,
        received_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX fleet_inbox_by_time ON fleet_inbox (received_at);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Brings the database to SCHEMA_VERSION; returns the versions applied. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS, file = db.name): number[] {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) {
    throw new PosError(
      'CODPOS_SPOOL_TOO_NEW',
      `spool database ${file} has schema version ${current}, newer than this codpos (${latest}); install a newer codpos or restore an older backup`,
      { details: { file, version: current, supported: latest } },
    );
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}
