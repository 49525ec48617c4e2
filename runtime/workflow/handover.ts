/**
 * The courier's cash handover at the end of the day. The depot clerk counts the cash; the
 * terminal knows what it should be (the day report's cash, less what earlier handovers of the
 * same day took); the difference is recorded, with a reason whenever it is not zero. The
 * handover row and its record for the back-end (the `handover` stream) are written in one
 * commit, and from then on the day is closed: waybill events of that day are refused until a
 * check-in opens a new day (reopening it, so a second round the same day hands over only its
 * own cash). A second handover of a closed day is refused, by the code and by the database.
 */
import type { Database, Statement } from 'better-sqlite3';
import { PosError } from '../../config/errors.js';
import { STREAMS, type Spool } from '../../spool/index.js';
import { toSpoolError } from '../../spool/database.js';
import { localTimeText } from '../payment/receipt.js';

/** What the depot clerk enters: the cash counted (minor units), their id, and why it differs. */
export interface HandoverInput {
  counted: number;
  clerkId: string;
  reason?: string;
}

export interface Handover {
  /** Also the id of its record for the back-end, which dedupes on it. */
  id: string;
  /** The day handed over: YYYY-MM-DD, the terminal's local day. */
  day: string;
  courierId: string;
  clerkId: string;
  currency: string;
  /** The cash the terminal recorded for the courier to hand in, minor units. */
  expected: number;
  counted: number;
  /** counted - expected: negative when cash is missing. */
  difference: number;
  reason?: string;
  /** When the cash was handed over (ISO 8601). */
  at: string;
  /** When a check-in opened a new day after it (ISO 8601); absent while it closes its day. */
  reopenedAt?: string;
}

/** The payload of a `handover` record for the back-end (docs/uplink.md). */
export interface HandoverRecordPayload extends Omit<Handover, 'id' | 'reopenedAt'> {
  terminalId: string;
}

interface Row {
  id: string;
  day: string;
  courier_id: string;
  clerk_id: string;
  currency: string;
  expected: number;
  counted: number;
  reason: string | null;
  handed_at: number;
  reopened_at: number | null;
}

/** Checks what the clerk entered: a count of whole minor units, their id, a reason of some words. */
export function checkHandoverInput(body: unknown): HandoverInput {
  const { counted, clerkId, reason } = (body ?? {}) as { counted?: unknown; clerkId?: unknown; reason?: unknown };
  if (typeof counted !== 'number' || !Number.isSafeInteger(counted) || counted < 0) {
    throw new PosError(
      'CODPOS_USAGE_HANDOVER',
      'counted: expected the cash counted as a whole number of minor units, 0 or more (2500 = 25.00)',
    );
  }
  if (typeof clerkId !== 'string' || !/^[\x21-\x7e]{1,32}$/.test(clerkId)) {
    throw new PosError(
      'CODPOS_USAGE_HANDOVER',
      "clerkId: expected the depot clerk's id, 1 to 32 printable characters without spaces",
    );
  }
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500)) {
    throw new PosError('CODPOS_USAGE_HANDOVER', 'reason: expected text of 1 to 500 characters');
  }
  return { counted, clerkId, ...(reason !== undefined ? { reason: (reason as string).trim() } : {}) };
}

/** The spool's handover table. */
export class HandoverBook {
  private readonly sql: Record<'insert' | 'ofDay' | 'closing' | 'reopen', Statement>;

  constructor(private readonly spool: Spool) {
    const db: Database = spool.db;
    this.sql = {
      insert: db.prepare(
        'INSERT INTO handover (id, day, courier_id, clerk_id, currency, expected, counted, reason, handed_at) VALUES (@id, @day, @courierId, @clerkId, @currency, @expected, @counted, @reason, @handedAt)',
      ),
      ofDay: db.prepare('SELECT * FROM handover WHERE day = ? ORDER BY handed_at, rowid'),
      closing: db.prepare('SELECT * FROM handover WHERE day = ? AND reopened_at IS NULL'),
      reopen: db.prepare('UPDATE handover SET reopened_at = ? WHERE day = ? AND reopened_at IS NULL'),
    };
  }

  /** Every handover of `day`, in the order they were made. */
  ofDay(day: string): Handover[] {
    return (this.sql.ofDay.all(day) as Row[]).map(fromRow);
  }

  /** The handover that closes `day`, if it is closed. */
  closing(day: string): Handover | undefined {
    const row = this.sql.closing.get(day) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Refuses with CODPOS_USAGE_DAY_CLOSED when `day` is closed by its handover. */
  assertOpen(day: string, what: string): void {
    const closing = this.closing(day);
    if (!closing) return;
    throw new PosError(
      'CODPOS_USAGE_DAY_CLOSED',
      `${what}: the day ${day} is closed, its cash was handed over at ${localTimeText(new Date(closing.at))} (handover ${closing.id}); a check-in opens a new day`,
      {
        details: { day, handoverId: closing.id },
      },
    );
  }

  /** Opens a new day after a closed one (at check-in); true when `day` was closed. */
  reopen(day: string, at: number): boolean {
    try {
      return this.sql.reopen.run(at, day).changes > 0;
    } catch (error) {
      throw toSpoolError(error, 'opening a new day');
    }
  }

  /**
   * Records a handover of `day` and its record for the back-end in one commit; refuses a
   * closed day and a difference without a reason. `dayCash` is the day report's cash.
   */
  record(
    input: HandoverInput & {
      day: string;
      courierId: string;
      currency: string;
      terminalId: string;
      dayCash: number;
      at: number;
    },
  ): Handover {
    this.assertNotHandedOver(input.day);
    // What earlier rounds of the day (each closed by its handover, then reopened) already took.
    const handedOver = this.ofDay(input.day).reduce((sum, earlier) => sum + earlier.expected, 0);
    const expected = input.dayCash - handedOver;
    const difference = input.counted - expected;
    if (difference !== 0 && input.reason === undefined) {
      throw new PosError(
        'CODPOS_USAGE_HANDOVER_REASON',
        `reason: the count (${input.counted}) differs from the cash expected (${expected}) by ${difference}; a handover with a difference needs the reason for it`,
        { details: { expected, counted: input.counted, difference } },
      );
    }
    const at = new Date(input.at).toISOString();
    const payload: HandoverRecordPayload = {
      day: input.day,
      courierId: input.courierId,
      clerkId: input.clerkId,
      currency: input.currency,
      expected,
      counted: input.counted,
      difference,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      at,
      terminalId: input.terminalId,
    };
    try {
      const id = this.spool.db.transaction(() => {
        this.assertNotHandedOver(input.day);
        const { id } = this.spool.outbox.enqueueNow(STREAMS.handover, payload);
        this.sql.insert.run({
          id,
          day: input.day,
          courierId: input.courierId,
          clerkId: input.clerkId,
          currency: input.currency,
          expected,
          counted: input.counted,
          reason: input.reason ?? null,
          handedAt: input.at,
        });
        return id;
      })();
      const { terminalId: _terminalId, ...handover } = payload;
      return { id, ...handover };
    } catch (error) {
      throw toSpoolError(error, 'recording the cash handover');
    }
  }

  /** Refuses with CODPOS_USAGE_HANDOVER_DONE when `day` is closed by its handover. */
  assertNotHandedOver(day: string): void {
    const closing = this.closing(day);
    if (!closing) return;
    throw new PosError(
      'CODPOS_USAGE_HANDOVER_DONE',
      `the cash of ${day} was already handed over at ${localTimeText(new Date(closing.at))} (handover ${closing.id}, to clerk ${closing.clerkId}); a check-in opens a new day`,
      {
        details: { day, handoverId: closing.id },
      },
    );
  }
}

function fromRow(row: Row): Handover {
  return {
    id: row.id,
    day: row.day,
    courierId: row.courier_id,
    clerkId: row.clerk_id,
    currency: row.currency,
    expected: row.expected,
    counted: row.counted,
    difference: row.counted - row.expected,
    ...(row.reason !== null ? { reason: row.reason } : {}),
    at: new Date(row.handed_at).toISOString(),
    ...(row.reopened_at !== null ? { reopenedAt: new Date(row.reopened_at).toISOString() } : {}),
  };
}
