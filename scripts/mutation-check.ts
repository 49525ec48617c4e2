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
 * Runs in a scratch copy of the tracked files (node_modules linked), so an interrupted run never
 * leaves a mutated file in the checkout. Tests run through tap's TypeScript loader, which does not
 * type-check: a mutant that would not compile still runs (and is usually killed by its behaviour).
 *
 * Usage: node dist/scripts/mutation-check.js [--sample N] [--seed N] [--only SUBSTRING] [--json] [--list]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../config/paths.js';
import { prng } from '../config/prng.js';

interface Target {
  /** The source file, from the package root. */
  file: string;
  /** Test files that cover it, most likely to fail first (a run stops at the first failing file). */
  tests: string[];
}

/** What the check mutates: where DE52, DE55 and reversals are built and sent, and the payments that use them. */
const TARGETS: Target[] = [
  { file: 'emv/iso8583/messages/financial.ts', tests: ['test/emv/iso8583/acquirer-messages.test.ts', 'test/runtime/host/end-to-end.test.ts', 'test/runtime/host/client.test.ts'] },
  { file: 'runtime/host/client.ts', tests: ['test/runtime/host/client.test.ts', 'test/runtime/host/in-flight.test.ts', 'test/runtime/host/partial-approval.test.ts', 'test/runtime/host/completion.test.ts', 'test/runtime/host/end-to-end.test.ts'] },
  { file: 'runtime/payment/swipe-payment.ts', tests: ['test/runtime/payment/swipe-payment.test.ts', 'test/runtime/payment/payment-outcome.test.ts'] },
  { file: 'runtime/payment/card-payment.ts', tests: ['test/runtime/payment/card-payment.test.ts', 'test/runtime/payment/chip-edges.test.ts', 'test/runtime/payment/payment-outcome.test.ts'] },
];

/** A line that builds or sends DE52, DE55 or a reversal: every mutant of it must be killed. */
const MUST_KILL = /PIN_BLOCK|pinBlock|ICC_DATA|iccData|finalIccData|[Rr]eversal\b|buildReversal|queueReversal|REVERSAL/;

/** Whether a line builds DE52, DE55 or a reversal: by its code (not the words of its strings), and not a log line. */
function mustKill(text: string): boolean {
  const code = text.replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"/g, "''");
  return MUST_KILL.test(code) && !/^\s*(?:this\.options\.log|this\.log|log)\??\.\w+\(/.test(text);
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
  if (code === '' || code.startsWith('//') || code.startsWith('*') || code.startsWith('/*') || code.startsWith('import ') || code.startsWith('export {')) return [];
  // Type members (`pinBlock?: Buffer;`) and import or export specifiers (`buildReversal,`) do nothing at run time.
  if (/^(?:readonly\s+)?[\w$]+\??:\s[^=]*;$/.test(code) || /^[\w$]+,$/.test(code)) return [];
  const out: Array<{ operator: string; mutated: string }> = [];
  const balanced = [...'([{'].every((open, i) => code.split(open).length === code.split(')]}'[i]!).length);
  if (balanced && /[;,]$/.test(code) && !/^(?:return|throw|case|default)\b/.test(code) && !/^[}\])]/.test(code)) out.push({ operator: 'delete', mutated: '' });
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
    lines.forEach((text, index) => {
      for (const { operator, mutated } of mutantsOf(text)) {
        const mutant = { file: target.file, line: index + 1, operator, original: text, mutated, mustKill: mustKill(text) };
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

/** A copy of the tracked files in a scratch directory, with the checkout's node_modules linked. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-mutation-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: packageRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(packageRoot, file), join(dir, file));
  }
  symlinkSync(join(packageRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** True when the tests fail (the mutant is killed); runs the test files one by one and stops at the first failure. */
function killed(dir: string, target: Target): boolean {
  for (const test of target.tests) {
    const run = spawnSync(join(dir, 'node_modules', '.bin', 'tap'), ['--reporter=silent', '--timeout=120', test], { cwd: dir, encoding: 'utf8', env: { ...process.env, CODPOS_MUTATION: '1' } });
    if (run.status !== 0) return true;
  }
  return false;
}

function main(): number {
  const { values } = parseArgs({ options: { sample: { type: 'string', default: '3' }, seed: { type: 'string', default: '8583' }, only: { type: 'string' }, json: { type: 'boolean' }, list: { type: 'boolean' } } });
  const dir = scratchCopy();
  try {
    const mutants = collectMutants(dir, Number(values.sample), Number(values.seed), values.only);
    if (values.list) {
      for (const m of mutants) process.stdout.write(`${m.mustKill ? '[must] ' : '       '}${m.file}:${m.line} ${m.operator}: ${m.original.trim().slice(0, 100)}\n`);
      return 0;
    }
    // Unchanged, every target's tests must pass, or every mutant would count as killed.
    for (const target of TARGETS.filter((t) => mutants.some((m) => m.file === t.file))) {
      if (killed(dir, target)) {
        process.stderr.write(`mutation check: the tests of ${target.file} fail without any mutant (${target.tests.join(', ')}); fix them first\n`);
        return 2;
      }
    }
    const results: Array<Mutant & { killed: boolean }> = [];
    for (const mutant of mutants) {
      const file = join(dir, mutant.file);
      const source = readFileSync(file, 'utf8');
      const lines = source.split('\n');
      lines[mutant.line - 1] = mutant.mutated;
      writeFileSync(file, lines.join('\n'));
      const target = TARGETS.find((t) => t.file === mutant.file)!;
      const result = { ...mutant, killed: killed(dir, target) };
      writeFileSync(file, source);
      results.push(result);
      if (values.json) process.stdout.write(`${JSON.stringify({ file: result.file, line: result.line, operator: result.operator, mustKill: result.mustKill, killed: result.killed })}\n`);
      else process.stdout.write(`${result.killed ? 'killed  ' : 'SURVIVED'} ${result.mustKill ? '[DE52/DE55/reversal] ' : ''}${result.file}:${result.line} ${result.operator}: ${result.original.trim().slice(0, 100)}\n`);
    }
    const killedCount = results.filter((r) => r.killed).length;
    const mustSurvivors = results.filter((r) => r.mustKill && !r.killed);
    const share = results.length === 0 ? 0 : killedCount / results.length;
    process.stdout.write(`mutation check: ${killedCount} of ${results.length} mutants killed (${(share * 100).toFixed(1)}%); ${mustSurvivors.length} survivor(s) on lines that build DE52, DE55 or a reversal\n`);
    return mustSurvivors.length === 0 && results.length > 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
