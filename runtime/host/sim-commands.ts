/**
 * The acquirer simulator's console language, for `codpos sim host` (and anyone scripting
 * it through a pipe). One command a line:
 *
 *   decline [mti=0200] [amount=N | from=N] [code=51] [times=N]
 *   late delay=MS [mti=..] [amount=N | from=N] [times=N]
 *   drop  [mti=..] [amount=N | from=N] [times=N]     close the connection, no answer
 *   silent [mti=..] [amount=N | from=N] [times=N]    never answer
 *   approve [code=08|11] [mti=..] [amount=N | from=N] [times=N]   answer normally (overrides older rules)
 *   partial [approved=N | percent=N] [mti=..] [amount=N | from=N] [times=N]   approve part (10)
 *   audit [tid=TID]                                  what the terminal did wrong, as JSON
 *   rules | clear | help
 */
import { PosError } from '../../config/errors.js';
import { SIM_ACTIONS, type AcquirerHostSimulator, type SimAction, type SimRule } from './simulator.js';

export const SIM_HOST_HELP = [
  'decline [mti=0200] [amount=N | from=N] [code=05] [times=N]   answer with a decline code',
  'late delay=MS [mti=..] [amount=N | from=N] [times=N]          answer after MS milliseconds',
  'drop [mti=..] [amount=N | from=N] [times=N]                   close the connection instead of answering',
  'silent [mti=..] [amount=N | from=N] [times=N]                 never answer',
  'approve [code=08|11] [mti=..] [amount=N | from=N] [times=N]   answer normally (00, or 08 / 11)',
  'partial [approved=N | percent=N] [mti=..] [amount=N | from=N] [times=N]   approve part of the amount (10; default 50%)',
  'audit [tid=TID]                                               STANs reused, requests before a reversal, unreversed, the book (JSON)',
  'rules                                                         list the rules, newest first',
  'clear                                                         remove every rule',
].join('\n');

const KEYS = ['mti', 'amount', 'from', 'code', 'delay', 'times', 'approved', 'percent'] as const;

type NumberKey = Exclude<(typeof KEYS)[number], 'mti' | 'code'>;
type NumberField = 'amount' | 'amountAtLeast' | 'delayMs' | 'times' | 'approvedAmount' | 'approvedPercent';
/** The whole-number words: the rule field each sets, and the range it takes where 0 and up is not enough. */
const NUMBER_OPTIONS: Record<
  NumberKey,
  { field: NumberField; range?: { min: number; max: number; problem: (value: string) => string } }
> = {
  amount: { field: 'amount' },
  from: { field: 'amountAtLeast' },
  delay: { field: 'delayMs' },
  times: { field: 'times', range: { min: 1, max: Infinity, problem: () => 'times=0: a rule applies at least once' } },
  approved: {
    field: 'approvedAmount',
    range: { min: 1, max: Infinity, problem: () => 'approved=0: approve at least 1 minor unit (or decline)' },
  },
  percent: {
    field: 'approvedPercent',
    range: { min: 1, max: 99, problem: (value) => `percent=${value}: a part is 1 to 99 percent` },
  },
};

/** Parses one rule line; a mistake is a PosError naming the word that is wrong. */
export function parseSimRule(line: string): SimRule {
  const [verb, ...words] = line.trim().split(/\s+/);
  if (!SIM_ACTIONS.includes(verb as SimAction)) throw usage(`unknown command "${verb ?? ''}"; type help`);
  const rule: SimRule = { action: verb as SimAction };
  for (const word of words) {
    const [key, value, extra] = word.split('=');
    if (!KEYS.includes(key as (typeof KEYS)[number]) || value === undefined || value === '' || extra !== undefined) {
      throw usage(`"${word}": expected one of ${KEYS.map((k) => `${k}=...`).join(', ')}`);
    }
    switch (key) {
      case 'mti':
        if (!/^[0-9]{4}$/.test(value)) throw usage(`mti=${value}: an MTI is 4 digits`);
        rule.mti = value;
        break;
      case 'code':
        if (!/^[0-9A-Z]{2}$/.test(value)) throw usage(`code=${value}: a response code is 2 characters`);
        rule.responseCode = value;
        break;
      default: {
        const { field, range } = NUMBER_OPTIONS[key as NumberKey];
        const n = whole(key, value);
        if (range !== undefined && (n < range.min || n > range.max)) throw usage(range.problem(value));
        rule[field] = n;
      }
    }
  }
  if (rule.action === 'late' && rule.delayMs === undefined) throw usage('late needs delay=MS');
  if ((rule.approvedAmount !== undefined || rule.approvedPercent !== undefined) && rule.action !== 'partial')
    throw usage('approved= and percent= go with partial');
  if (rule.approvedAmount !== undefined && rule.approvedPercent !== undefined)
    throw usage('partial takes approved=N or percent=N, not both');
  if (rule.action === 'approve' && rule.responseCode !== undefined && !['00', '08', '11'].includes(rule.responseCode)) {
    throw usage(`approve code=${rule.responseCode}: an approval answers 00, 08 or 11 (partial answers 10)`);
  }
  return rule;
}

/** Runs one console line against the simulator; returns the text to show. */
export function runSimHostCommand(sim: AcquirerHostSimulator, line: string): string {
  const verb = line.trim().split(/\s+/)[0] ?? '';
  if (verb === '') return '';
  if (verb === 'help') return SIM_HOST_HELP;
  if (verb === 'clear') {
    sim.clearRules();
    return 'rules cleared';
  }
  if (verb === 'audit') return JSON.stringify(sim.audit(auditTerminal(line)));
  if (verb === 'rules')
    return sim.rules.length === 0
      ? 'no rules: every request is answered normally'
      : sim.rules.map(describeSimRule).join('\n');
  const rule = parseSimRule(line);
  sim.behave(rule);
  return `rule added: ${describeSimRule(rule)}`;
}

export function describeSimRule(rule: SimRule): string {
  const parts: string[] = [rule.action];
  if (rule.mti !== undefined) parts.push(`mti=${rule.mti}`);
  if (rule.amount !== undefined) parts.push(`amount=${rule.amount}`);
  if (rule.amountAtLeast !== undefined) parts.push(`from=${rule.amountAtLeast}`);
  if (rule.responseCode !== undefined) parts.push(`code=${rule.responseCode}`);
  if (rule.delayMs !== undefined) parts.push(`delay=${rule.delayMs}`);
  if (rule.approvedAmount !== undefined) parts.push(`approved=${rule.approvedAmount}`);
  if (rule.approvedPercent !== undefined) parts.push(`percent=${rule.approvedPercent}`);
  if (rule.times !== undefined) parts.push(`times=${rule.times}`);
  return parts.join(' ');
}

/** `audit` or `audit tid=TID`. */
function auditTerminal(line: string): string | undefined {
  const [, ...words] = line.trim().split(/\s+/);
  if (words.length === 0) return undefined;
  const match = words.length === 1 ? /^tid=(\S{1,16})$/.exec(words[0]!) : null;
  if (!match) throw usage(`"${words.join(' ')}": audit takes tid=TERMINAL_ID or nothing`);
  return match[1];
}

function whole(key: string, value: string): number {
  if (!/^[0-9]{1,12}$/.test(value)) throw usage(`${key}=${value}: expected a whole number`);
  return Number(value);
}

function usage(problem: string): PosError {
  return new PosError('CODPOS_USAGE_BAD_OPTION', `sim host: ${problem}`, { details: { option: 'command' } });
}
