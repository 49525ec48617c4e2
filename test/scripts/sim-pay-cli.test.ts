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
  t.match(
    wrong.stdout,
    /^host\| 0200 STAN 000001 DE22 051 ARQC verified -> 55$/m,
    'the card is genuine, its PIN wrong',
  );
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

t.test('a tapped contactless card goes online as 071, its ARQC verified; the receipt says CONTACTLESS', async (t) => {
  const run = runCodpos(['sim', 'pay', '--card', 'cl-visa-fdda', '--tap', '--amount', '2500']);
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /^host\| 0200 STAN 000001 DE22 071 ARQC verified -> 00$/m);
  t.match(run.stdout, /^APPROVED: approved online$/m);
  t.match(run.stdout, /entry contactless/);
  t.match(run.stdout, /^ {2}\| ENTRY\s+CONTACTLESS$/m);
  t.match(run.stdout, /^ {2}\| CARD\s+\*{4} 0119$/m);
  t.notMatch(run.stdout, '4761739001010119', 'no full PAN anywhere');
  // The phone has a PAN of its own, which the acquirer simulator knows (14 otherwise).
  const phone = runCodpos(['sim', 'pay', '--card', 'cl-mc-phone', '--tap', '--amount', '2500', '--json']);
  t.equal(phone.status, 0, phone.stderr);
  const lines = jsonLines(phone.stdout);
  t.match(
    lines.find((l) => l.event === 'exchange'),
    { mti: '0200', entryMode: '071', arqc: 'verified', answer: '00' },
  );
  t.match(
    lines.find((l) => l.event === 'result'),
    { outcome: 'approved', entry: 'contactless', responseCode: '00' },
  );
  t.notMatch(phone.stdout, '5413330089020011', 'no full PAN anywhere');
});

t.test('--tap takes a contactless card only, and not with --swipe', async (t) => {
  const contact = runCodpos(['sim', 'pay', '--card', 'visa-dda', '--tap', '--amount', '100']);
  t.equal(contact.status, 2);
  t.match(contact.stderr, /--card visa-dda: no such virtual contactless card; there are .*cl-visa-fdda/);
  const both = runCodpos(['sim', 'pay', '--card', 'cl-visa-fdda', '--tap', '--swipe', '--amount', '100']);
  t.equal(both.status, 2);
  t.match(both.stderr, /--tap and --swipe/);
});
