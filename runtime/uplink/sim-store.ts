/**
 * Where the back-end simulator keeps the records it acknowledged: in memory (the daemon's
 * in-process simulator, the tests) or in its own SQLite file (`codpos sim backend --db`), so a
 * simulator killed and restarted still holds every record it answered for, each once.
 *
 * A record is kept by its id, forever in SQLite: the first copy wins, a copy sent again is
 * counted as a duplicate received (the terminal did not see the answer) and changes nothing. A
 * batch is kept in one commit, before the simulator answers it: an acknowledgement the terminal
 * saw is always on disk. In memory only the latest records are kept (`maxRecords`): the daemon's
 * in-process back-end runs as long as the daemon, and a terminal sends a record again only
 * while it is new.
 */
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../spool/database.js';
import type { Migration } from '../../spool/migrations.js';

/** One record as the back-end holds it: what the terminal sent, and which terminal sent it. */
export interface HeldRecord {
  id: string;
  stream: string;
  createdAt: number;
  payload: unknown;
  terminalId: string;
}

/** What the store holds: records per stream, and how many copies came again after the first. */
export interface HeldRecordStats {
  records: number;
  streams: Record<string, number>;
  duplicatesReceived: number;
}

/** The simulator's storage seam. Reads look like a Map's, so callers need not know which store it is. */
export interface BackendRecordStore {
  /** Keeps each record whose id is not held yet, all in one commit; answers per record whether it was new. */
  keep(records: readonly HeldRecord[]): boolean[];
  has(id: string): boolean;
  get(id: string): HeldRecord | undefined;
  /** Ids in the order first received (read whole first: a caller may keep records while it walks them). */
  keys(): IterableIterator<string>;
  values(): IterableIterator<HeldRecord>;
  readonly size: number;
  stats(): HeldRecordStats;
  close(): void;
}

/** The default: the latest records (1,000 unless `maxRecords` says otherwise), as long as the simulator object lives. */
export class MemoryRecordStore implements BackendRecordStore {
  private readonly records = new Map<string, HeldRecord>();
  private duplicates = 0;
  /** Records forgotten to stay within `maxRecords`, oldest first: a copy of one would be taken as new. */
  forgotten = 0;

  constructor(private readonly maxRecords = 1_000) {}

  keep(records: readonly HeldRecord[]): boolean[] {
    return records.map((record) => {
      if (this.records.has(record.id)) {
        this.duplicates++;
        return false;
      }
      this.records.set(record.id, { ...record });
      if (this.records.size > this.maxRecords) {
        this.records.delete(this.records.keys().next().value!);
        this.forgotten++;
      }
      return true;
    });
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  get(id: string): HeldRecord | undefined {
    return this.records.get(id);
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  values(): IterableIterator<HeldRecord> {
    return this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  stats(): HeldRecordStats {
    const streams: Record<string, number> = {};
    for (const record of this.records.values()) streams[record.stream] = (streams[record.stream] ?? 0) + 1;
    return { records: this.records.size, streams, duplicatesReceived: this.duplicates };
  }

  close(): void {}
}

/** The simulator's own schema (not the spool's): one table of records, keyed by id. */
export const BACKEND_STORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'back-end simulator: records kept by id, with how many times each was received',
    sql: `
      CREATE TABLE held_record (
        id             TEXT    PRIMARY KEY,
        stream         TEXT    NOT NULL,
        terminal_id    TEXT    NOT NULL,
        created_at     INTEGER NOT NULL,
        payload        TEXT    NOT NULL,
        times_received INTEGER NOT NULL DEFAULT 1 CHECK (times_received >= 1)
      ) STRICT;
    `,
  },
];

interface HeldRow {
  id: string;
  stream: string;
  terminal_id: string;
  created_at: number;
  payload: string;
}

/**
 * Records in a SQLite file, opened the spool's safe way (WAL, synchronous FULL, integrity
 * check): a commit has reached the disk before the simulator answers.
 */
export class SqliteRecordStore implements BackendRecordStore {
  private readonly db: Database;
  private readonly insert;
  private readonly countAgain;
  private readonly select;
  private readonly keepAll;

  constructor(file: string) {
    this.db = openDatabase(file, { migrations: BACKEND_STORE_MIGRATIONS });
    this.insert = this.db.prepare(
      'INSERT INTO held_record (id, stream, terminal_id, created_at, payload) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.countAgain = this.db.prepare('UPDATE held_record SET times_received = times_received + 1 WHERE id = ?');
    this.select = this.db.prepare('SELECT id, stream, terminal_id, created_at, payload FROM held_record WHERE id = ?');
    this.keepAll = this.db.transaction((records: readonly HeldRecord[]) =>
      records.map((r) => {
        const fresh =
          this.insert.run(r.id, r.stream, r.terminalId, r.createdAt, JSON.stringify(r.payload ?? null)).changes === 1;
        if (!fresh) this.countAgain.run(r.id);
        return fresh;
      }),
    );
  }

  keep(records: readonly HeldRecord[]): boolean[] {
    return this.keepAll(records);
  }

  has(id: string): boolean {
    return this.select.get(id) !== undefined;
  }

  get(id: string): HeldRecord | undefined {
    const row = this.select.get(id) as HeldRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  *keys(): IterableIterator<string> {
    const rows = this.db.prepare('SELECT id FROM held_record ORDER BY rowid').all() as Array<{ id: string }>;
    for (const row of rows) yield row.id;
  }

  *values(): IterableIterator<HeldRecord> {
    const rows = this.db
      .prepare('SELECT id, stream, terminal_id, created_at, payload FROM held_record ORDER BY rowid')
      .all() as HeldRow[];
    for (const row of rows) yield fromRow(row);
  }

  get size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM held_record').get() as { n: number }).n;
  }

  stats(): HeldRecordStats {
    const rows = this.db
      .prepare(
        'SELECT stream, count(*) AS n, sum(times_received - 1) AS again FROM held_record GROUP BY stream ORDER BY stream',
      )
      .all() as Array<{ stream: string; n: number; again: number }>;
    const streams: Record<string, number> = {};
    let records = 0;
    let duplicatesReceived = 0;
    for (const row of rows) {
      streams[row.stream] = row.n;
      records += row.n;
      duplicatesReceived += row.again;
    }
    return { records, streams, duplicatesReceived };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function fromRow(row: HeldRow): HeldRecord {
  return {
    id: row.id,
    stream: row.stream,
    createdAt: row.created_at,
    payload: JSON.parse(row.payload) as unknown,
    terminalId: row.terminal_id,
  };
}
