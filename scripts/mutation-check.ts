/**
 * `npm run mutation`: a small mutation check over the payment and host paths. It changes one
 * line of the source at a time (deletes a statement, flips a comparison or a boolean), runs the
 * tests that cover that file, and expects them to fail. A mutant that survives is a line whose
 * breaking no test notices: the kind of gap that let a swipe purchase without its PIN block pass
 * every swipe test once.
 *
 * Lines that build DE52 (the PIN block), DE55 (the chip data) or a reversal are always mutated,
 * and a survivor there fails the check (exit 1). A seeded sample of the modules' other code lines
 * gives the share of mutants killed, reported, not enforced.
 *
 * Runs over a compiled scratch copy of the tracked files (node_modules linked), so an interrupted
 * run never leaves a mutated file in the checkout. Each mutant is its file transpiled alone (no
 * type check: a mutant that would not compile still runs) and served to the test processes by a
 * module hook in place of the compiled file, so several mutants run at once over one tree.
 *
 * Usage: node dist/scripts/mutation-check.js [--sample N] [--seed N] [--only SUBSTRING] [--jobs N] [--json] [--list]
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { packageRoot } from '../config/paths.js';
import { prng } from '../config/prng.js';

interface Target {
  /** The source file, from the package root. */
  file: string;
  /** Test files that cover it, most likely to fail first (a run stops at the first failing file). */
  tests: string[];
}

/** What the check mutates: where DE52, DE55 and reversals are built and sent, and the payments that use them. */
const HOST_TESTS = [
  'test/runtime/host/client.test.ts',
  'test/runtime/host/in-flight.test.ts',
  'test/runtime/host/partial-approval.test.ts',
  'test/runtime/host/completion.test.ts',
  'test/runtime/host/end-to-end.test.ts',
  'test/runtime/payment/card-payment.test.ts',
];
const TARGETS: Target[] = [
  {
    file: 'emv/iso8583/messages/financial.ts',
    tests: [
      'test/emv/iso8583/acquirer-messages.test.ts',
      'test/runtime/host/end-to-end.test.ts',
      'test/runtime/host/client.test.ts',
    ],
  },
  { file: 'runtime/host/client.ts', tests: HOST_TESTS },
  {
    file: 'runtime/host/held-reversals.ts',
    tests: ['test/runtime/host/in-flight.test.ts', ...HOST_TESTS.filter((test) => !test.endsWith('in-flight.test.ts'))],
  },
  {
    file: 'runtime/host/clearing.ts',
    tests: ['test/runtime/host/clearing.test.ts', 'test/runtime/host/client.test.ts'],
  },
  {
    file: 'runtime/payment/kernel-online.ts',
    tests: ['test/runtime/host/end-to-end.test.ts', 'test/runtime/payment/card-payment.test.ts'],
  },
  {
    file: 'runtime/payment/swipe-payment.ts',
    tests: ['test/runtime/payment/swipe-payment.test.ts', 'test/runtime/payment/payment-outcome.test.ts'],
  },
  {
    file: 'runtime/payment/card-payment.ts',
    tests: [
      'test/runtime/payment/card-payment.test.ts',
      'test/runtime/payment/chip-edges.test.ts',
      'test/runtime/payment/payment-outcome.test.ts',
    ],
  },
  {
    file: 'runtime/payment/qr-service.ts',
    tests: ['test/runtime/payment/qr-service.test.ts', 'test/runtime/api/qr-routes.test.ts'],
  },
  { file: 'runtime/payment/qr-resolver.ts', tests: ['test/runtime/payment/qr-service.test.ts'] },
  { file: 'spool/qr-journal.ts', tests: ['test/spool/qr-journal.test.ts'] },
  { file: 'emv/qr/mpm.ts', tests: ['test/emv/qr/mpm.test.ts'] },
  {
    file: 'runtime/payment/tap-payment.ts',
    tests: ['test/runtime/payment/tap-payment.test.ts'],
  },
  { file: 'emv/contactless/kernel-c3.ts', tests: ['test/emv/contactless/kernel-c3.test.ts'] },
  { file: 'emv/contactless/kernel-c2.ts', tests: ['test/emv/contactless/kernel-c2.test.ts'] },
  {
    file: 'emv/contactless/entry-point.ts',
    tests: ['test/emv/contactless/entry-point.test.ts', 'test/emv/contactless/entry-point-selection.test.ts'],
  },
  // What a box accepts from terminal management: a wrong condition here runs an unsigned or stale package.
  { file: 'runtime/params/verify.ts', tests: ['test/runtime/params/verify.test.ts'] },
  { file: 'runtime/params/ca-key.ts', tests: ['test/runtime/params/ca-key.test.ts'] },
  { file: 'runtime/params/signature.ts', tests: ['test/runtime/params/signature.test.ts'] },
  { file: 'runtime/params/service.ts', tests: ['test/runtime/params/params-service.test.ts'] },
];

/** A line that builds or sends DE52, DE55 or a reversal: every mutant of it must be killed. */
const MUST_KILL = /PIN_BLOCK|pinBlock|ICC_DATA|iccData|finalIccData|[Rr]eversal\b|buildReversal|queueReversal|REVERSAL/;

/** Whether a line builds DE52, DE55 or a reversal: by its code (not the words of its strings), and not a log line. */
function mustKill(text: string, inLogCall: boolean): boolean {
  return MUST_KILL.test(withoutStrings(text)) && !inLogCall;
}

/** A line that calls the logger (`log?.warn(`, `this.options.log?.error(`, `deps.log?.info(`...). */
const LOG_CALL = /^\s*(?:[\w$]+\.)*log\??\.\w+\(/;

/** Per line, whether it is part of a call to the logger (a call the formatter spread over several lines counts whole). */
function logCallLines(lines: string[]): boolean[] {
  const marks: boolean[] = [];
  // Parentheses still open in the logger call being read (0: not in one).
  let depth = 0;
  for (const text of lines) {
    const inCall = depth > 0 || LOG_CALL.test(text);
    if (inCall) {
      const code = withoutStrings(text);
      depth = Math.max(0, depth + code.split('(').length - code.split(')').length);
    }
    marks.push(inCall);
  }
  return marks;
}

/** The line with each string literal emptied, so their words and brackets do not count as code. */
function withoutStrings(text: string): string {
  return text.replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"/g, "''");
}

interface Mutant {
  file: string;
  line: number;
  operator: string;
  original: string;
  mutated: string;
  mustKill: boolean;
}

/** The mutants of one line: delete it (when it is a whole statement or property), flip its first comparison, its first boolean. */
function mutantsOf(text: string): Array<{ operator: string; mutated: string }> {
  const code = text.trim();
  if (
    code === '' ||
    code.startsWith('//') ||
    code.startsWith('*') ||
    code.startsWith('/*') ||
    code.startsWith('import ') ||
    code.startsWith('export {')
  )
    return [];
  // Type members (`pinBlock?: Buffer;`) and import or export specifiers (`buildReversal,`) do nothing at run time.
  if (/^(?:readonly\s+)?[\w$]+\??:\s[^=]*;$/.test(code) || /^[\w$]+,$/.test(code)) return [];
  const out: Array<{ operator: string; mutated: string }> = [];
  const balanced = [...'([{'].every((open, i) => code.split(open).length === code.split(')]}'[i]!).length);
  if (balanced && /[;,]$/.test(code) && !/^(?:return|throw|case|default)\b/.test(code) && !/^[}\])]/.test(code))
    out.push({ operator: 'delete', mutated: '' });
  const flips: Array<[RegExp, string, string]> = [
    [/!==/, '===', 'flip !=='],
    [/(?<![!=])===/, '!==', 'flip ==='],
    [/\btrue\b/, 'false', 'true->false'],
    [/\bfalse\b/, 'true', 'false->true'],
    [/ && /, ' || ', '&& -> ||'],
    [/ \|\| /, ' && ', '|| -> &&'],
  ];
  for (const [pattern, replacement, operator] of flips) {
    if (pattern.test(text)) out.push({ operator, mutated: text.replace(pattern, replacement) });
  }
  return out;
}

function collectMutants(root: string, sample: number, seed: number, only: string | undefined): Mutant[] {
  const random = prng(seed);
  const mutants: Mutant[] = [];
  for (const target of TARGETS) {
    if (only !== undefined && !target.file.includes(only)) continue;
    const lines = readFileSync(join(root, target.file), 'utf8').split('\n');
    const others: Mutant[] = [];
    const inLogCall = logCallLines(lines);
    lines.forEach((text, index) => {
      for (const { operator, mutated } of mutantsOf(text)) {
        const mutant = {
          file: target.file,
          line: index + 1,
          operator,
          original: text,
          mutated,
          mustKill: mustKill(text, inLogCall[index]!),
        };
        (mutant.mustKill ? mutants : others).push(mutant);
      }
    });
    // A seeded sample of the rest (Fisher-Yates on the first `sample` places).
    for (let i = 0; i < Math.min(sample, others.length); i++) {
      const j = i + Math.floor(random() * (others.length - i));
      [others[i], others[j]] = [others[j]!, others[i]!];
      mutants.push(others[i]!);
    }
  }
  return mutants;
}

/**
 * The tracked files copied to a scratch directory and compiled there, sources and tests, each
 * .js beside its .ts (so a test's relative paths to its vectors still hold), node_modules linked.
 */
function compiledCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-mutation-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: packageRoot, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(packageRoot, file), join(dir, file));
  }
  symlinkSync(join(packageRoot, 'node_modules'), join(dir, 'node_modules'));
  // Some tests start helper processes from the build (dist/): the checkout's, unmutated.
  symlinkSync(join(packageRoot, 'dist'), join(dir, 'dist'));
  // tsc will not write into the directory it reads (its outDir is excluded from its inputs): it reads the checkout.
  execFileSync(
    join(packageRoot, 'node_modules', '.bin', 'tsc'),
    ['-p', join(packageRoot, 'tsconfig.test.json'), '--noEmit', 'false', '--outDir', dir, '--sourceMap', 'false'],
    { stdio: 'inherit' },
  );
  // A module hook that serves one mutated module in place of its compiled file: each test process
  // gets its mutant through the environment, so mutants run side by side over one tree.
  writeFileSync(
    join(dir, 'mutant-hooks.mjs'),
    [
      "import { readFileSync } from 'node:fs';",
      'export async function load(url, context, nextLoad) {',
      "  if (url === process.env.CODPOS_MUTANT_URL) return { format: 'module', source: readFileSync(process.env.CODPOS_MUTANT_JS, 'utf8'), shortCircuit: true };",
      '  return nextLoad(url, context);',
      '}',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'mutant-register.mjs'),
    "import { register } from 'node:module';\nregister('./mutant-hooks.mjs', import.meta.url);\n",
  );
  return dir;
}

/** How long one test file may run; a mutant that makes a test hang past it counts as killed (a hang is noticed). */
const TEST_TIMEOUT_MS = 120_000;

/** Runs one compiled test file under the mutant hook; resolves true when it fails. */
function testFails(dir: string, test: string, mutant: { url: string; js: string } | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...(mutant ? { CODPOS_MUTANT_URL: mutant.url, CODPOS_MUTANT_JS: mutant.js } : {}) };
    const child = spawn(process.execPath, ['--import', './mutant-register.mjs', test.replace(/\.ts$/, '.js')], {
      cwd: dir,
      env,
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TEST_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code !== 0 || signal !== null);
    });
  });
}

/** True when one of the target's tests fails (the mutant is killed); stops at the first failure. */
async function killedBy(
  dir: string,
  target: Target,
  mutant: { url: string; js: string } | undefined,
): Promise<boolean> {
  for (const test of target.tests) if (await testFails(dir, test, mutant)) return true;
  return false;
}

/** The mutated source compiled alone (types stripped, as tsc would emit it), written beside the tree. */
function compileMutant(dir: string, mutant: Mutant, index: number): { url: string; js: string } {
  const lines = readFileSync(join(dir, mutant.file), 'utf8').split('\n');
  lines[mutant.line - 1] = mutant.mutated;
  const output = ts.transpileModule(lines.join('\n'), {
    fileName: mutant.file,
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const js = join(dir, `mutant-${index}.js`);
  writeFileSync(js, output.outputText);
  return { url: pathToFileURL(join(dir, mutant.file.replace(/\.ts$/, '.js'))).href, js };
}

/** Runs `work` over `items`, `limit` at a time, in order of the results. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sample: { type: 'string', default: '3' },
      seed: { type: 'string', default: '8583' },
      only: { type: 'string' },
      jobs: { type: 'string', default: '3' },
      json: { type: 'boolean' },
      list: { type: 'boolean' },
    },
  });
  const mutants = collectMutants(packageRoot, Number(values.sample), Number(values.seed), values.only);
  if (values.list) {
    for (const m of mutants)
      process.stdout.write(
        `${m.mustKill ? '[must] ' : '       '}${m.file}:${m.line} ${m.operator}: ${m.original.trim().slice(0, 100)}\n`,
      );
    return 0;
  }
  const dir = compiledCopy();
  try {
    const targets = TARGETS.filter((target) => mutants.some((m) => m.file === target.file));
    // Unchanged, every target's tests must pass, or every mutant would count as killed.
    for (const target of targets) {
      // Tried twice: one failure of a test on a busy machine should not fail the whole check.
      if ((await killedBy(dir, target, undefined)) && (await killedBy(dir, target, undefined))) {
        process.stderr.write(
          `mutation check: the tests of ${target.file} fail without any mutant (${target.tests.join(', ')}); fix them first\n`,
        );
        return 2;
      }
    }
    const results = await pool(mutants, Number(values.jobs), async (mutant, index) => {
      const target = TARGETS.find((t) => t.file === mutant.file)!;
      const result = { ...mutant, killed: await killedBy(dir, target, compileMutant(dir, mutant, index)) };
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ file: result.file, line: result.line, operator: result.operator, mustKill: result.mustKill, killed: result.killed })}\n`,
        );
      else
        process.stdout.write(
          `${result.killed ? 'killed  ' : 'SURVIVED'} ${result.mustKill ? '[DE52/DE55/reversal] ' : ''}${result.file}:${result.line} ${result.operator}: ${result.original.trim().slice(0, 100)}\n`,
        );
      return result;
    });
    const killedCount = results.filter((r) => r.killed).length;
    const mustSurvivors = results.filter((r) => r.mustKill && !r.killed);
    const share = results.length === 0 ? 0 : killedCount / results.length;
    process.stdout.write(
      `mutation check: ${killedCount} of ${results.length} mutants killed (${(share * 100).toFixed(1)}%); ${mustSurvivors.length} survivor(s) on lines that build DE52, DE55 or a reversal\n`,
    );
    return mustSurvivors.length === 0 && results.length > 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
