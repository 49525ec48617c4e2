/**
 * The registry of error codes (config/error-codes.ts) against the code that throws them, the
 * tests that assert them and the docs that explain them.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { ERROR_CODES, type ErrorCodeInfo } from '../../config/error-codes.js';
import {
  ERROR_AREAS,
  PosError,
  areaOf,
  isErrorCode,
  isPosError,
  meaningOf,
  type ErrorCode,
} from '../../config/errors.js';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../../scripts/docs/errors-doc.js';

const registered = Object.keys(ERROR_CODES) as ErrorCode[];
const SOURCE_DIRS = ['config', 'runtime', 'drivers', 'emv', 'spool', 'scripts'];
const AREA_NAMES = Object.keys(ERROR_AREAS).join('|');
/** A code written as a whole string literal: `'CODPOS_<AREA>_<WHAT>'` (environment names have `__`, so never match). */
const CODE_LITERAL = new RegExp(`['"\`](CODPOS_(?:${AREA_NAMES})_[A-Z0-9]+(?:_[A-Z0-9]+)*)['"\`]`, 'g');

const THIS_FILE = join('test', 'config', 'error-codes.test.ts');

function tsFiles(dir: string): string[] {
  return readdirSync(join(packageRoot, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** code -> the files (relative) that write it as a string literal. */
function codeLiterals(dirs: string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const path of dirs.flatMap(tsFiles)) {
    const file = relative(packageRoot, path);
    // This file writes misspelt codes on purpose, to show they do not compile.
    if (file === THIS_FILE) continue;
    for (const match of readFileSync(path, 'utf8').matchAll(CODE_LITERAL)) {
      const files = found.get(match[1]!) ?? [];
      if (!files.includes(file)) files.push(file);
      found.set(match[1]!, files);
    }
  }
  return found;
}

t.test('every registered code is CODPOS_<AREA>_<WHAT> with a known area and one line of meaning', async (t) => {
  t.ok(registered.length > 200, `the registry holds the codes (${registered.length})`);
  for (const code of registered) {
    t.match(code, /^CODPOS_[A-Z0-9]+(_[A-Z0-9]+)+$/, `${code}: upper case words joined by single underscores`);
    t.doesNotThrow(() => areaOf(code), `${code}: its prefix names a known area`);
    const info: ErrorCodeInfo = ERROR_CODES[code];
    t.ok(info.meaning.length > 10 && !info.meaning.includes('\n'), `${code}: a one-line meaning`);
    if (info.httpStatus !== undefined)
      t.ok(info.httpStatus >= 400 && info.httpStatus <= 599, `${code}: an HTTP error status`);
    if (info.exitCode !== undefined)
      t.ok(Number.isInteger(info.exitCode) && info.exitCode > 0 && info.exitCode < 128, `${code}: an exit code`);
  }
});

t.test('the area check refuses a code whose prefix names no area', async (t) => {
  t.throws(() => areaOf('CODPOS_NOPE_X' as never), /names no known area/);
});

t.test(
  'every code the source or a test writes is registered, and every registered code is thrown somewhere',
  async (t) => {
    // The type catches a code passed to PosError or isPosError; this catches one a test only
    // compares against (t.throws(..., { code: '...' })), which no type checks.
    const inSource = codeLiterals(SOURCE_DIRS);
    const inTests = codeLiterals(['test']);
    const unregistered = [...new Set([...inSource.keys(), ...inTests.keys()])]
      .filter((code) => !isErrorCode(code))
      .sort();
    t.same(
      unregistered.map(
        (code) => `${code} (${[...(inSource.get(code) ?? []), ...(inTests.get(code) ?? [])].join(', ')})`,
      ),
      [],
      'no code outside the registry',
    );
    // A test asserting a code nothing throws cannot fail meaningfully; a registered code nothing throws is dead.
    t.same(
      registered.filter(
        (code) => !inSource.has(code) || inSource.get(code)!.every((file) => file === 'config/error-codes.ts'),
      ),
      [],
      'every registered code is written outside the registry',
    );
    t.same([...inTests.keys()].filter((code) => !inSource.has(code)).sort(), [], 'no code only the tests know');
  },
);

t.test("the HTTP status and exit code: the code's own, else its area's", async (t) => {
  t.equal(new PosError('CODPOS_USAGE_BUSY', 'x').httpStatus, 409, 'a conflict with the state of things');
  t.equal(new PosError('CODPOS_USAGE_IDEMPOTENCY_KEY_REUSED', 'x').httpStatus, 422);
  t.equal(new PosError('CODPOS_USAGE_BODY_TOO_LARGE', 'x').httpStatus, 413);
  t.equal(new PosError('CODPOS_USAGE_NO_SUCH_PAYMENT', 'x').httpStatus, 404);
  t.equal(new PosError('CODPOS_USAGE_UNAUTHORIZED', 'x').httpStatus, 401);
  t.equal(new PosError('CODPOS_USAGE_METHOD', 'x').httpStatus, 405);
  t.equal(
    new PosError('CODPOS_UPLINK_PIN_HASH_TOO_COSTLY', 'x').httpStatus,
    502,
    "the back-end's fault, not the caller's",
  );
  t.equal(new PosError('CODPOS_USAGE_BAD_JSON', 'x').httpStatus, 400, "the caller's mistake by default");
  t.equal(new PosError('CODPOS_DEVICE_IO', 'x').httpStatus, 503, 'a device not there');
  t.equal(new PosError('CODPOS_HOST_TIMEOUT', 'x').httpStatus, 503, 'the acquirer not there');
  t.equal(new PosError('CODPOS_SPOOL_FULL', 'x').httpStatus, 500);
  t.equal(new PosError('CODPOS_INTERNAL_API', 'x').httpStatus, 500);
  for (const code of registered) {
    const own: ErrorCodeInfo = ERROR_CODES[code];
    t.equal(new PosError(code, 'x').exitCode, own.exitCode ?? ERROR_AREAS[areaOf(code)].exitCode, `${code}: exit code`);
  }
});

t.test('a code read from the wire is checked against the registry', async (t) => {
  t.ok(isErrorCode('CODPOS_SPOOL_FULL'));
  t.notOk(isErrorCode('CODPOS_SPOOL_FULLY'), 'a misspelt code');
  t.notOk(isErrorCode('CODPOS_SPOOL_'), 'a prefix');
  t.notOk(isErrorCode('toString'), 'an inherited property is no code');
  t.notOk(isErrorCode(42));
  t.equal(meaningOf('CODPOS_SPOOL_FULL'), ERROR_CODES.CODPOS_SPOOL_FULL.meaning);
});

t.test('a misspelt code does not compile', async (t) => {
  // tsc -p tsconfig.test.json fails on an unused @ts-expect-error: these lines are the test.
  const misspelt = (): PosError =>
    // @ts-expect-error CODPOS_SPOOL_FULLY is not registered
    new PosError('CODPOS_SPOOL_FULLY', 'x');
  // @ts-expect-error CODPOS_DEVICE_TIMEOUT is not registered (the reader's and PIN pad's time-outs are)
  const asserted = (error: unknown): boolean => isPosError(error, 'CODPOS_DEVICE_TIMEOUT');
  t.equal(typeof misspelt, 'function');
  t.equal(typeof asserted, 'function');
});

/** Each docs table row `| `CODPOS_...` | ... |` and the codes (or `CODPOS_<AREA>_*` prefixes) it names. */
function docTableCodes(): { where: string; token: string }[] {
  const docs = readdirSync(join(packageRoot, 'docs')).filter((name) => name.endsWith('.md'));
  const found: { where: string; token: string }[] = [];
  for (const name of docs) {
    readFileSync(join(packageRoot, 'docs', name), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (!/^\| *`CODPOS_/.test(line)) return;
        for (const match of line.matchAll(/`(CODPOS_[A-Z0-9_]*\*?)`/g))
          found.push({ where: `docs/${name}:${index + 1}`, token: match[1]! });
      });
  }
  return found;
}

t.test("the docs' error tables name registered codes only", async (t) => {
  const rows = docTableCodes();
  t.ok(rows.length > registered.length, 'the tables were read (docs/errors.md and the others)');
  const wrong = rows.filter(({ token }) =>
    token.endsWith('*') ? !registered.some((code) => code.startsWith(token.slice(0, -1))) : !isErrorCode(token),
  );
  t.same(
    wrong.map(({ where, token }) => `${where}: ${token}`),
    [],
    'every code in a docs table is registered',
  );
  const documented = new Set(rows.map(({ token }) => token));
  t.same(
    registered.filter((code) => !documented.has(code)),
    [],
    'every registered code is in a docs table',
  );
});

t.test('docs/errors.md is what the registry renders (npm run docs:errors)', async (t) => {
  const committed = readFileSync(join(packageRoot, ERRORS_DOC_PATH), 'utf8');
  t.equal(committed, renderErrorsDoc(), 'run npm run docs:errors and commit docs/errors.md');
  for (const code of registered)
    t.ok(committed.includes(`| \`${code}\` | ${ERROR_CODES[code].meaning}`), `${code} has its row`);
});
