/** The simulator's console language: each rule word parsed, each mistake named. */
import t from 'tap';
import { describeSimRule, parseSimRule, runSimHostCommand } from '../../../runtime/host/sim-commands.js';
import { AcquirerHostSimulator } from '../../../runtime/host/simulator.js';
import { pos87b } from '../../../emv/iso8583/index.js';

t.test('rule lines parse into rules and describe back the same', async (t) => {
  t.same(parseSimRule('decline mti=0200 from=5000 code=51 times=2'), {
    action: 'decline',
    mti: '0200',
    amountAtLeast: 5000,
    responseCode: '51',
    times: 2,
  });
  t.same(parseSimRule('late delay=40000'), { action: 'late', delayMs: 40000 });
  t.same(parseSimRule('  drop   amount=1500 '), { action: 'drop', amount: 1500 });
  t.same(parseSimRule('silent mti=0400 times=1'), { action: 'silent', mti: '0400', times: 1 });
  t.same(parseSimRule('partial approved=1200 times=1'), { action: 'partial', approvedAmount: 1200, times: 1 });
  t.same(parseSimRule('partial percent=40 from=1000'), { action: 'partial', approvedPercent: 40, amountAtLeast: 1000 });
  t.same(parseSimRule('approve code=08'), { action: 'approve', responseCode: '08' });
  for (const line of [
    'decline mti=0200 from=5000 code=51 times=2',
    'late delay=40000',
    'approve amount=7',
    'approve code=11',
    'partial approved=500',
    'partial mti=0200 percent=30',
  ])
    t.equal(describeSimRule(parseSimRule(line)), line);
});

t.test('mistakes are usage errors naming the word', async (t) => {
  for (const [line, named] of [
    ['explode', 'explode'],
    ['decline colour=red', 'colour=red'],
    ['decline mti=200', 'mti=200'],
    ['decline code=5', 'code=5'],
    ['decline amount=-1', 'amount=-1'],
    ['late', 'delay=MS'],
    ['drop times=0', 'times=0'],
    ['decline amount', 'amount'],
    ['partial percent=100', 'percent=100'],
    ['partial approved=0', 'approved=0'],
    ['partial approved=5 percent=5', 'not both'],
    ['decline approved=5', 'go with partial'],
    ['approve code=10', 'approve code=10'],
  ] as const) {
    t.throws(
      () => parseSimRule(line),
      { code: 'CODPOS_USAGE_BAD_OPTION', message: new RegExp(named.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) },
      line,
    );
  }
});

t.test('console commands change the simulator: rules, clear, help', async (t) => {
  const sim = new AcquirerHostSimulator({
    dialect: pos87b,
    framing: { lengthHeader: 'binary2', tpdu: true },
    cards: [],
  });
  t.match(runSimHostCommand(sim, 'rules'), 'no rules');
  t.equal(runSimHostCommand(sim, 'decline from=100'), 'rule added: decline from=100');
  t.equal(runSimHostCommand(sim, 'silent mti=0400'), 'rule added: silent mti=0400');
  t.equal(runSimHostCommand(sim, 'rules'), 'silent mti=0400\ndecline from=100', 'newest first');
  t.equal(runSimHostCommand(sim, 'clear'), 'rules cleared');
  t.equal(sim.rules.length, 0);
  t.match(runSimHostCommand(sim, 'help'), 'decline');
  t.equal(runSimHostCommand(sim, '   '), '');
  t.equal(runSimHostCommand(sim, 'partial percent=25'), 'rule added: partial percent=25');
});

t.test('audit prints the audit as JSON, of every terminal or one', async (t) => {
  const sim = new AcquirerHostSimulator({
    dialect: pos87b,
    framing: { lengthHeader: 'binary2', tpdu: true },
    cards: [],
  });
  t.same(JSON.parse(runSimHostCommand(sim, 'audit')), {
    stanReused: [],
    financialBeforeReversal: [],
    unreversed: [],
    book: [],
    pruned: 0,
    clean: true,
  });
  t.same(JSON.parse(runSimHostCommand(sim, 'audit tid=COD00001')).clean, true);
  t.throws(() => runSimHostCommand(sim, 'audit everything'), {
    code: 'CODPOS_USAGE_BAD_OPTION',
    message: /everything/,
  });
});
