/**
 * `codpos sim pay` as a technician runs it: the built CLI, a virtual card, the simulated
 * devices and acquirer, a temporary spool. Outcomes are results (exit 0); card data masked.
 */
import t from 'tap';
import { runCodpos } from '../helpers/cli.js';

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

t.test('a chip payment with the right PIN is approved; the receipt shows the last four digits only', async (t) => {
  const run = runCodpos([
    'sim',
    'pay',
    '--card',
    'visa-dda',
    '--amount',
    '2500',
    '--waybill',
    'RR123456785CH',
    '--json',
  ]);
  t.equal(run.status, 0, run.stderr);
  const lines = jsonLines(run.stdout);
  t.match(
    lines.find((l) => l.event === 'exchange'),
    { mti: '0200', answer: '00', entryMode: '051' },
  );
  t.match(
    lines.find((l) => l.event === 'result'),
    { outcome: 'approved', entry: 'chip', responseCode: '00', journalId: /./ },
  );
  const receipt = lines.find((l) => l.event === 'receipt')!.lines as string[];
  t.ok(receipt.includes('VISA CREDIT            **** 0119'));
  t.ok(receipt.includes('WAYBILL            RR123456785CH'));
  t.notMatch(run.stdout, '4761739001010119', 'no full PAN anywhere');
});

t.test('a wrong PIN is declined (55); a cancelled PIN entry sends nothing and prints no receipt', async (t) => {
  const wrong = runCodpos(['sim', 'pay', '--card', 'visa-dda', '--amount', '2500', '--pin', '9999']);
  t.equal(wrong.status, 0, wrong.stderr);
  t.match(wrong.stdout, /^host\| 0200 STAN 000001 DE22 051 -> 55$/m);
  t.match(wrong.stdout, /^DECLINED: /m);
  t.match(wrong.stdout, /\| DECLINED$/m, 'a receipt that says so');
  const cancelled = runCodpos(['sim', 'pay', '--card', 'visa-dda', '--amount', '2500', '--cancel-pin']);
  t.equal(cancelled.status, 0, cancelled.stderr);
  t.match(cancelled.stdout, /^CANCELLED: PIN entry cancelled/m);
  t.notMatch(cancelled.stdout, /host\|/, 'nothing sent');
  t.match(cancelled.stdout, 'receipt: none (nothing was journaled)');
});

t.test('a swiped chip card: insert the chip; after a chip failure the fallback swipe goes online as 801', async (t) => {
  const swiped = runCodpos(['sim', 'pay', '--card', 'visa-dda', '--amount', '1800', '--swipe']);
  t.match(swiped.stdout, /^USE-CHIP: service code 201/m);
  const fallback = runCodpos(['sim', 'pay', '--card', 'visa-dda', '--amount', '1800', '--swipe', '--chip-failed']);
  t.equal(fallback.status, 0, fallback.stderr);
  t.match(fallback.stdout, /^host\| 0200 STAN 000001 DE22 801 -> 00$/m);
  t.match(fallback.stdout, /\| ENTRY\s+SWIPE \(CHIP FALLBACK\)$/m);
});

t.test('bad options exit 2 naming the option', async (t) => {
  const card = runCodpos(['sim', 'pay', '--card', 'amex-gold', '--amount', '100']);
  t.equal(card.status, 2);
  t.match(card.stderr, /--card amex-gold: no such virtual card; there are .*visa-dda/);
  const amount = runCodpos(['sim', 'pay', '--card', 'visa-dda', '--amount', '25.00']);
  t.equal(amount.status, 2);
  t.match(amount.stderr, /--amount 25\.00: expected a whole number of minor units/);
});
