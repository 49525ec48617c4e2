/** The simulator's random faults: drawn from a seed, at the rates asked, validated by name. */
import t from 'tap';
import {
  SIM_FAULTS,
  SimFaultDraw,
  checkFaultOptions,
  parseFaultRates,
  type SimFault,
} from '../../../runtime/host/sim-faults.js';

const FAULT_DAY = { silent: 0.05, late: 0.05, drop: 0.02, decline05: 0.05, decline91: 0.05, partial: 0.05 };

t.test('a fixed seed gives a reproducible sequence; another seed another one', async (t) => {
  const draw = (seed: number) => {
    const faults = new SimFaultDraw({ seed, rates: FAULT_DAY, reversalRates: { silent: 0.2, drop: 0.1 } });
    return {
      purchases: Array.from({ length: 300 }, () => faults.purchase()),
      reversals: Array.from({ length: 100 }, () => faults.reversal()),
    };
  };
  t.same(draw(7), draw(7));
  t.notSame(draw(7).purchases, draw(8).purchases);
});

t.test('reversal draws do not shift the purchase sequence (two streams from one seed)', async (t) => {
  const plain = new SimFaultDraw({ seed: 99, rates: FAULT_DAY, reversalRates: { silent: 0.5 } });
  const busy = new SimFaultDraw({ seed: 99, rates: FAULT_DAY, reversalRates: { silent: 0.5 } });
  const a: Array<SimFault | undefined> = [];
  const b: Array<SimFault | undefined> = [];
  for (let i = 0; i < 200; i++) {
    a.push(plain.purchase());
    for (let r = 0; r < i % 3; r++) busy.reversal();
    b.push(busy.purchase());
  }
  t.same(a, b);
});

t.test('over 1,000 purchases the rates roughly hold (wide bands), for several seeds', async (t) => {
  for (const seed of [1, 2, 3, 20261129]) {
    const faults = new SimFaultDraw({ seed, rates: FAULT_DAY, reversalRates: { silent: 0.1, drop: 0.1 } });
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const fault = faults.purchase() ?? 'none';
      counts.set(fault, (counts.get(fault) ?? 0) + 1);
    }
    // Expected 50 for a 5% fault (sd about 7), 20 for 2%, 730 for none: bands of about 4 sd.
    for (const fault of ['silent', 'late', 'decline05', 'decline91', 'partial'])
      t.ok(
        (counts.get(fault) ?? 0) >= 22 && (counts.get(fault) ?? 0) <= 80,
        `seed ${seed}: ${fault} ${counts.get(fault)}`,
      );
    t.ok((counts.get('drop') ?? 0) >= 4 && (counts.get('drop') ?? 0) <= 40, `seed ${seed}: drop ${counts.get('drop')}`);
    t.ok(
      (counts.get('none') ?? 0) >= 670 && (counts.get('none') ?? 0) <= 790,
      `seed ${seed}: none ${counts.get('none')}`,
    );
    let reversalFaults = 0;
    for (let i = 0; i < 1000; i++) if (faults.reversal() !== undefined) reversalFaults++;
    t.ok(
      reversalFaults >= 140 && reversalFaults <= 260,
      `seed ${seed}: reversal faults ${reversalFaults} of 1000 at 20%`,
    );
  }
  const none = new SimFaultDraw({ seed: 5, rates: {} });
  t.same(
    Array.from({ length: 100 }, () => none.purchase()),
    Array.from({ length: 100 }, () => undefined),
    'no rates: no faults',
  );
  const always = new SimFaultDraw({ seed: 5, rates: { decline91: 1 } });
  t.same(new Set(Array.from({ length: 100 }, () => always.purchase())), new Set(['decline91']), 'rate 1: every time');
});

t.test('--faults text: parsed, and each mistake names itself', async (t) => {
  t.same(parseFaultRates('silent=0.05,late=0.05,drop=0.02,decline05=0.05,decline91=0.05,partial=0.05'), FAULT_DAY);
  t.same(parseFaultRates('partial=1'), { partial: 1 });
  t.same(parseFaultRates('silent=.5, drop=0'), { silent: 0.5, drop: 0 });
  for (const [text, named] of [
    ['boom=0.1', 'boom'],
    ['silent=2', 'silent=2'],
    ['silent=-0.1', 'silent=-0.1'],
    ['silent', 'silent'],
    ['late=0.5,late=0.1', 'late given twice'],
    ['silent=0.6,drop=0.6', 'add up to 1.2'],
    ['silent=0.1=2', 'silent=0.1=2'],
  ] as const) {
    t.throws(
      () => parseFaultRates(text),
      { code: 'CODPOS_USAGE_BAD_OPTION', message: new RegExp(named.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) },
      text,
    );
  }
  t.throws(
    () => parseFaultRates('late=0.1', ['silent', 'drop']),
    { message: /fault "late"/ },
    'a reversal cannot be late',
  );
  t.same(SIM_FAULTS, ['silent', 'late', 'drop', 'decline05', 'decline91', 'partial']);
});

t.test('fault options: seed, delay and rates checked', async (t) => {
  t.throws(() => checkFaultOptions({ seed: -1, rates: {} }), { code: 'CODPOS_USAGE_BAD_OPTION', message: /seed -1/ });
  t.throws(() => checkFaultOptions({ seed: 1.5, rates: {} }), { message: /seed 1.5/ });
  t.throws(() => checkFaultOptions({ seed: 1, rates: {}, lateMs: -5 }), { message: /late delay -5/ });
  t.throws(() => checkFaultOptions({ seed: 1, rates: { explode: 0.1 } as never }), { message: /explode/ });
  t.throws(() => checkFaultOptions({ seed: 1, rates: {}, reversalRates: { late: 0.1 } as never }), {
    message: /fault late/,
  });
  t.doesNotThrow(() => checkFaultOptions({ seed: 0xffffffff, rates: FAULT_DAY, lateMs: 0 }));
});
