/**
 * Opens the spool's SQLite file the one safe way: WAL, synchronous=FULL (a
 * commit has reached the disk when it returns), foreign keys on, secure_delete
 * on (deleted rows are overwritten, not left in free pages), an integrity check
 * at open, and the migrations. A damaged file is copied aside for the
 * technician and refused with CODPOS_SPOOL_CORRUPT; it is never silently
 * replaced. Backups go through SQLite's online backup API, never a file copy.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  statSync,
  openSync,
  fsyncSync,
  closeSync,
  writeFileSync,
  readdirSync,
  readSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { PosError } from '../config/errors.js';
import { migrate, MIGRATIONS, type Migration } from './migrations.js';
import { systemClock, type Clock } from './clock.js';

export type { Database };

export interface OpenDatabaseOptions {
  /** Create the file when absent (the daemon); tools that only inspect say false. */
  create?: boolean;
  /** `quick` (default, O(N) without index cross-checks) or `full` integrity_check at open. */
  check?: 'quick' | 'full' | 'none';
  /** How long a writer waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
  clock?: Clock;
}

const CORRUPTION_CODES = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT_VTAB',
  'SQLITE_CORRUPT_SEQUENCE',
  'SQLITE_CORRUPT_INDEX',
]);

export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database {
  const create = options.create ?? true;
  const clock = options.clock ?? systemClock;
  if (!existsSync(file)) {
    if (!create) {
      throw new PosError(
        'CODPOS_SPOOL_NOT_FOUND',
        `no spool database at ${file} (check data.dir and spool.file, or pass --db FILE)`,
        { details: { file } },
      );
    }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // An empty file is a valid new database; creating it ourselves makes it 0600,
    // and SQLite gives the -wal and -shm files the database file's permissions.
    try {
      writeFileSync(file, '', { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw toSpoolError(error, `creating ${file}`);
    }
  }
  let db: Database;
  try {
    db = new BetterSqlite3(file, { fileMustExist: !create });
  } catch (error) {
    throw new PosError('CODPOS_SPOOL_OPEN', `cannot open spool database ${file}: ${(error as Error).message}`, {
      cause: error,
      details: { file },
    });
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal')
      throw new PosError('CODPOS_SPOOL_OPEN', `spool database ${file} refused WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('secure_delete = ON');
    // After a checkpoint the WAL file is cut back to this size rather than kept at its peak.
    db.pragma('journal_size_limit = 4194304');
    const check = options.check ?? 'quick';
    if (check !== 'none') {
      const problems = integrityProblems(db, check);
      if (problems.length > 0) throw corrupt(db, file, problems, clock);
    }
    migrate(db, options.migrations ?? MIGRATIONS, file);
    return db;
  } catch (error) {
    if (error instanceof PosError) {
      if (db.open) db.close();
      throw error;
    }
    if (CORRUPTION_CODES.has((error as { code?: string }).code ?? ''))
      throw corrupt(db, file, [(error as Error).message], clock);
    if (db.open) db.close();
    throw toSpoolError(error, `opening ${file}`);
  }
}

/** Where sealed card data lives: each of these columns holds a vault-sealed value when not NULL. */
const SEALED_COLUMNS = [
  ['outbox', 'sealed'],
  ['card_txn', 'pan_sealed'],
  ['card_txn', 'sad_sealed'],
  ['card_txn', 'clearing_sealed'],
] as const;

/**
 * Whether the spool database at `file` holds sealed card data, i.e. rows only its data key
 * opens. Read before the key is loaded, so that a missing key file is reported missing when
 * data needs it, and created afresh for a spool that has none yet (a new box, or a spool a
 * tool seeded without card data). False when there is no file, the table or column is not
 * there yet (an older schema), or the file cannot be read at all: opening it then reports
 * why (CODPOS_SPOOL_CORRUPT, ...), as before.
 */
export function holdsSealedData(file: string): boolean {
  if (!existsSync(file)) return false;
  let db: Database;
  try {
    db = new BetterSqlite3(file, { fileMustExist: true });
  } catch {
    return false;
  }
  try {
    db.pragma('busy_timeout = 5000');
    return SEALED_COLUMNS.some(([table, column]) => {
      try {
        return db.prepare(`SELECT 1 FROM ${table} WHERE ${column} IS NOT NULL LIMIT 1`).get() !== undefined;
      } catch {
        return false;
      }
    });
  } finally {
    db.close();
  }
}

/** The rows of quick_check / integrity_check other than `ok`. */
export function integrityProblems(db: Database, kind: 'quick' | 'full' = 'full'): string[] {
  const rows = db.pragma(kind === 'quick' ? 'quick_check' : 'integrity_check') as Array<Record<string, string>>;
  const lines = rows.map((row) => Object.values(row)[0]!);
  return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
}

/**
 * Closes the damaged database, copies it (and its WAL) aside once, and describes what
 * happened. Every open of the damaged file lands here (each `codpos spool status`, each
 * restart of a crash-looping daemon), so a copy whose content equals the file's is reused
 * rather than written again: one copy per corruption, while a file that changed since
 * (damaged further, or another damage after a new spool) still gets its own copy.
 */
function corrupt(db: Database, file: string, problems: string[], clock: Clock): PosError {
  if (db.open) db.close();
  const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
  let preserved = `${file}.corrupt-${stamp}`;
  let alreadyKept = false;
  try {
    const existing = existingCopyOf(file);
    if (existing) {
      preserved = existing;
      alreadyKept = true;
    } else {
      copyFileSync(file, preserved);
      if (existsSync(file + '-wal')) copyFileSync(file + '-wal', preserved + '-wal');
    }
  } catch (error) {
    return new PosError(
      'CODPOS_SPOOL_CORRUPT',
      `spool database ${file} is damaged (${problems.slice(0, 3).join('; ')}) and could not be copied aside: ${(error as Error).message}`,
      {
        cause: error,
        details: { file, problems: problems.slice(0, 20) },
      },
    );
  }
  return new PosError(
    'CODPOS_SPOOL_CORRUPT',
    `spool database ${file} is damaged (${problems.slice(0, 3).join('; ')}); ${alreadyKept ? 'a copy of it was already kept' : 'a copy was kept'} at ${preserved}. ` +
      'Unforwarded records may be recoverable from the copy (sqlite3 .recover); move the damaged file away to start a new spool.',
    { details: { file, preserved, alreadyKept, problems: problems.slice(0, 20) } },
  );
}

/** A `<file>.corrupt-*` copy with the same bytes as `file` and the same WAL (or none), if one exists. */
function existingCopyOf(file: string): string | undefined {
  const prefix = `${basename(file)}.corrupt-`;
  const size = statSync(file).size;
  const wal = existsSync(file + '-wal') ? file + '-wal' : undefined;
  for (const name of readdirSync(dirname(file))) {
    if (!name.startsWith(prefix) || name.endsWith('-wal')) continue;
    const copy = join(dirname(file), name);
    // Size first: hashing is only for a copy that may be the same.
    if (statSync(copy).size !== size || sha256Of(copy) !== sha256Of(file)) continue;
    const copyWal = existsSync(copy + '-wal') ? copy + '-wal' : undefined;
    if (wal === undefined && copyWal === undefined) return copy;
    if (wal !== undefined && copyWal !== undefined && sha256Of(copyWal) === sha256Of(wal)) return copy;
  }
  return undefined;
}

/** Read in 1 MiB pieces: a spool can be far larger than a small box wants in memory at once. */
function sha256Of(path: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * A consistent copy of the live database through the online backup API, flushed
 * to disk and checked; the destination must not exist.
 */
export async function backupDatabase(db: Database, destination: string): Promise<{ file: string; bytes: number }> {
  if (existsSync(destination)) {
    throw new PosError(
      'CODPOS_SPOOL_BACKUP_EXISTS',
      `backup destination ${destination} already exists; choose a new file`,
      { details: { destination } },
    );
  }
  try {
    await db.backup(destination);
  } catch (error) {
    throw toSpoolError(error, `writing the backup ${destination}`);
  }
  const fd = openSync(destination, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const copy = new BetterSqlite3(destination, { readonly: true, fileMustExist: true });
  try {
    const problems = integrityProblems(copy, 'full');
    if (problems.length > 0)
      throw new PosError(
        'CODPOS_SPOOL_BACKUP_FAILED',
        `the backup ${destination} failed its integrity check: ${problems[0]}`,
      );
  } finally {
    copy.close();
  }
  return { file: destination, bytes: statSync(destination).size };
}

/** Bytes the spool occupies on disk: the database pages plus the write-ahead log. */
export function diskUseBytes(db: Database): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  let wal = 0;
  try {
    wal = statSync(db.name + '-wal').size;
  } catch {
    // no WAL file yet
  }
  return pageSize * pages + wal;
}

/** Maps SQLite failures to PosErrors a technician can act on; anything else is a bug and passes through. */
export function toSpoolError(error: unknown, doing: string): unknown {
  if (error instanceof PosError) return error;
  const code = (error as { code?: string })?.code ?? '';
  if (code === 'SQLITE_FULL') {
    return new PosError(
      'CODPOS_SPOOL_FULL',
      `the spool is full while ${doing}: the disk (or the database size limit) has no room; nothing was written. Free space or forward records.`,
      {
        cause: error,
      },
    );
  }
  if (CORRUPTION_CODES.has(code))
    return new PosError(
      'CODPOS_SPOOL_CORRUPT',
      `the spool database is damaged (${(error as Error).message}) while ${doing}`,
      { cause: error },
    );
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new PosError('CODPOS_SPOOL_BUSY', `the spool database is locked by another process while ${doing}`, {
      cause: error,
    });
  }
  if (
    code.startsWith('SQLITE_IOERR') ||
    code === 'SQLITE_READONLY' ||
    code === 'SQLITE_CANTOPEN' ||
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'ENOSPC'
  ) {
    return new PosError('CODPOS_SPOOL_IO', `the spool database could not be written while ${doing} (${code})`, {
      cause: error,
    });
  }
  return error;
}
