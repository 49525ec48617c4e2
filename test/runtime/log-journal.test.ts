/** journald priorities: `<N>` before each line when stdout is the journal. */
import t from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createLogger, journalPriority, writesToJournal } from '../../runtime/log.js';

const dir = mkdtempSync(join(tmpdir(), 'codpos-journal-'));

/** A file standing for the journal's stream: JOURNAL_STREAM names its device and inode. */
function journalFile(name: string): { path: string; fd: number; journalStream: string } {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const stats = statSync(path, { bigint: true });
  return { path, fd, journalStream: `${stats.dev}:${stats.ino}` };
}

function loggedLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean);
}

t.test('with JOURNAL_STREAM naming the destination, each line carries its syslog priority', async (t) => {
  const file = journalFile('journal.log');
  const log = createLogger({ level: 'trace', fd: file.fd, env: { JOURNAL_STREAM: file.journalStream } });
  log.fatal('fatal line');
  log.error({ code: 'CODPOS_HOST_TIMEOUT' }, 'error line');
  log.warn('warn line');
  log.info('info line');
  log.debug('debug line');
  log.child({ component: 'x' }).error('child error line');
  closeSync(file.fd);
  const lines = loggedLines(file.path);
  t.same(
    lines.map((line) => /^<(\d)>/.exec(line)?.[1]),
    ['2', '3', '4', '6', '7', '3'],
  );
  // After the prefix, the same JSON line as ever, masking and all.
  const error = JSON.parse(lines[1]!.slice(3)) as Record<string, unknown>;
  t.match(error, { level: 'error', msg: 'error line', code: 'CODPOS_HOST_TIMEOUT' });
});

t.test('without JOURNAL_STREAM, or with one naming another file, the lines are plain JSON', async (t) => {
  const plain = journalFile('plain.log');
  createLogger({ fd: plain.fd, env: {} }).error('no journal');
  closeSync(plain.fd);
  t.match(loggedLines(plain.path), [/^\{"level":"error"/]);

  const other = journalFile('other.log');
  const redirected = journalFile('redirected.log');
  // A child whose stdout was redirected inherits the variable but does not write to the journal.
  createLogger({ fd: redirected.fd, env: { JOURNAL_STREAM: other.journalStream } }).error('redirected');
  closeSync(redirected.fd);
  closeSync(other.fd);
  t.match(loggedLines(redirected.path), [/^\{"level":"error"/]);
});

t.test('writesToJournal compares device and inode; priorities follow sd-daemon(3)', async (t) => {
  const file = journalFile('compare.log');
  t.teardown(() => closeSync(file.fd));
  t.equal(writesToJournal({ JOURNAL_STREAM: file.journalStream }, file.fd), true);
  t.equal(writesToJournal({ JOURNAL_STREAM: 'garbage' }, file.fd), false);
  t.equal(writesToJournal({}, file.fd), false);
  t.same([60, 50, 40, 30, 20, 10].map(journalPriority), [2, 3, 4, 6, 7, 7]);
});
