/**
 * One codposd per data directory: the lock is taken first, before any device, link or spool is
 * opened, so a second daemon started by mistake (by hand beside the unit, or twice by a script)
 * exits at once naming the one already running, instead of fighting it for the serial ports.
 *
 * How: a small SQLite database `codposd.lock` in the data directory, held in a write
 * transaction (BEGIN IMMEDIATE: SQLite's RESERVED lock, a POSIX fcntl lock underneath) for the
 * daemon's whole life. Chosen over a pid file, whose stale copy after a kill -9 or a power cut
 * would block the next start (or be "fixed" by guessing whether a pid is alive), and over a
 * socket, which the data directory would not name: the kernel drops a POSIX lock when its
 * process dies, however it dies, and better-sqlite3 is already a dependency (Node has no flock).
 * RESERVED, not EXCLUSIVE, so the second daemon can still read who holds it: the holder's pid
 * is committed first, then the lock is taken again and kept.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { PosError } from '../config/errors.js';

export const LOCK_FILE_NAME = 'codposd.lock';

export interface InstanceLock {
  readonly file: string;
  /** Releases the lock (the process ending releases it too). */
  release(): void;
}

/**
 * Takes the data directory's lock, creating the directory (0700) if need be. Throws
 * CODPOS_DAEMON_ALREADY_RUNNING, naming the lock file and the holder's pid, when another process
 * holds it; never waits.
 */
export function acquireInstanceLock(dataDir: string, pid = process.pid): InstanceLock {
  const dir = resolve(dataDir);
  const file = join(dir, LOCK_FILE_NAME);
  let db: Database.Database;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // timeout 0: a held lock is an answer now, not after better-sqlite3's default 5 s of retries.
    db = new Database(file, { timeout: 0 });
  } catch (error) {
    // The lock is the first thing written there, so it meets an unusable data directory first:
    // the same error the storage service would give a moment later (runtime/storage-monitor.ts).
    throw new PosError(
      'CODPOS_SPOOL_DATA_DIR',
      `data directory ${dir} is not writable (${(error as { code?: string }).code ?? 'error'})`,
      { cause: error, details: { lockFile: file } },
    );
  }
  try {
    if (!tryBegin(db)) throw alreadyRunning(file, db);
    // In the transaction: on a fresh file, the first daemon creates the table, a second one waits for nothing.
    db.exec(
      'CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)',
    );
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, since) VALUES (1, ?, ?)').run(pid, new Date().toISOString());
    db.exec('COMMIT');
    // Between COMMIT and this BEGIN another daemon may win the lock: then it is the one running,
    // and this one says so and exits, as it would have a moment later.
    if (!tryBegin(db)) throw alreadyRunning(file, db);
  } catch (error) {
    db.close();
    throw error;
  }
  let held = true;
  return {
    file,
    release() {
      if (!held) return;
      held = false;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** BEGIN IMMEDIATE; false when another connection holds the write lock (SQLITE_BUSY). */
function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return false;
    throw error;
  }
}

function alreadyRunning(file: string, db: Database.Database): PosError {
  let holder: number | undefined;
  try {
    holder = (db.prepare('SELECT pid FROM holder WHERE id = 1').get() as { pid: number } | undefined)?.pid;
  } catch {
    // the holder is between its CREATE and its first COMMIT: its pid is not readable yet
  }
  const who = holder === undefined ? 'another codposd' : `another codposd (pid ${holder})`;
  return new PosError(
    'CODPOS_DAEMON_ALREADY_RUNNING',
    `${who} holds the lock ${file} on this data directory: stop it first (two daemons must not drive the same devices and spool)`,
    {
      details: { lockFile: file, ...(holder === undefined ? {} : { pid: holder }) },
    },
  );
}
