/** The audit trail on its own: what it flags, what it does not, and that its memory stays bounded. */
import t from 'tap';
import { SimAuditTrail } from '../../../runtime/host/sim-audit.js';

const TID = 'COD00001';

t.test(
  'repeats (0401, 0221) and a reversal under its original STAN are not reuses; a 0220 or 0400 under a used STAN is',
  async (t) => {
    const trail = new SimAuditTrail();
    trail.request(TID, '0200', '000001', 100);
    trail.answered(TID, '000001');
    trail.request(TID, '0400', '000001', 100, { mti: '0200', stan: '000001' });
    trail.request(TID, '0401', '000001', 100, { mti: '0200', stan: '000001' });
    trail.request(TID, '0220', '000002', 50);
    trail.request(TID, '0221', '000002', 50);
    t.same(trail.report([]).stanReused, []);
    trail.request(TID, '0220', '000001', 70);
    trail.request(TID, '0400', '000002', 100, { mti: '0200', stan: '000001' });
    t.same(trail.report([]).stanReused, [
      { terminalId: TID, mti: '0220', stan: '000001', firstMti: '0200' },
      { terminalId: TID, mti: '0400', stan: '000002', firstMti: '0220' },
    ]);
    trail.request('OTHER001', '0200', '000001', 100);
    t.equal(trail.report([], 'OTHER001').stanReused.length, 0, 'STANs are per terminal');
  },
);

t.test('a late answer still held back counts as unanswered; once delivered it does not', async (t) => {
  const trail = new SimAuditTrail();
  trail.request(TID, '0200', '000010', 100);
  t.same(trail.report([]).unreversed, [{ terminalId: TID, stan: '000010', amount: 100, why: 'answer held back' }]);
  trail.answered(TID, '000010');
  t.same(trail.report([]).unreversed, []);
  trail.request(TID, '0200', '000011', 200);
  trail.unanswered(TID, '000011', 'answer not delivered');
  trail.request(TID, '0200', '000012', 300);
  const audit = trail.report([]);
  t.same(audit.financialBeforeReversal, [{ terminalId: TID, stan: '000012', unreversed: ['000011'] }]);
  t.same(
    audit.unreversed.map((u) => `${u.stan}:${u.why}`),
    ['000011:answer not delivered', '000012:answer held back'],
  );
});

t.test(
  'memory stays bounded: STAN window, unanswered requests, findings and terminals are capped and what is forgotten is counted',
  async (t) => {
    const trail = new SimAuditTrail({ stanWindow: 5, maxUnanswered: 3, maxFindings: 2, maxTerminals: 2 });
    for (let i = 1; i <= 10; i++) {
      trail.request(TID, '0200', String(i).padStart(6, '0'), i);
      trail.unanswered(TID, String(i).padStart(6, '0'), 'no answer');
    }
    let audit = trail.report([], TID);
    t.equal(audit.unreversed.length, 3, 'the newest unanswered 3');
    t.same(
      audit.unreversed.map((u) => u.stan),
      ['000008', '000009', '000010'],
    );
    t.equal(audit.financialBeforeReversal.length, 2, 'the newest 2 findings');
    trail.request(TID, '0400', '000001', 1, { mti: '0200', stan: '000001' });
    t.equal(trail.report([], TID).stanReused.length, 0, 'a STAN older than the window is not remembered');
    trail.request(TID, '0220', '000010', 1);
    t.equal(trail.report([], TID).stanReused.length, 1, 'a STAN inside it is');
    trail.request('T2', '0200', '000001', 1);
    trail.request('T3', '0200', '000001', 1);
    audit = trail.report([]);
    t.same(
      [...new Set(audit.unreversed.map((u) => u.terminalId))],
      ['T2', 'T3'],
      'the terminal heard from least recently was forgotten',
    );
    t.ok(audit.pruned > 0, 'pruning is counted');
  },
);
