/** The running and previous parameter packages (param_set): apply moves active to previous, rollback swaps, both survive a reopen. */
import t from 'tap';
import { Spool } from '../../spool/spool.js';
import { openTestSpool } from './helpers.js';

t.test('a fresh spool runs no package and has none to roll back to', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  t.equal(spool.params.running(), undefined);
  t.equal(spool.params.previous(), undefined);
  t.throws(() => spool.params.rollback(), { code: 'CODPOS_PARAMS_NO_PREVIOUS' });
  t.equal(spool.params.running(), undefined, 'a refused rollback changes nothing');
});

t.test(
  'apply moves the active package to previous; rollback swaps them back; a second rollback undoes the first',
  async (t) => {
    const { spool, clock } = openTestSpool();
    t.teardown(() => spool.close());
    const first = spool.params.apply(3, '{"v":3}', 'api');
    t.same(spool.params.running(), { version: 3, envelope: '{"v":3}', source: 'api', appliedAt: clock.now() });
    t.same(first, spool.params.running());
    t.equal(spool.params.previous(), undefined);
    clock.advance(1000);
    spool.params.apply(5, '{"v":5}', 'fleet');
    t.equal(spool.params.running()?.version, 5);
    t.equal(spool.params.running()?.source, 'fleet');
    t.equal(spool.params.running()?.appliedAt, clock.now());
    t.same(spool.params.previous(), first, 'the replaced package is kept as it was');
    const back = spool.params.rollback();
    t.equal(back.version, 3);
    t.equal(spool.params.running()?.version, 3);
    t.equal(spool.params.previous()?.version, 5);
    spool.params.rollback();
    t.equal(spool.params.running()?.version, 5);
    t.equal(spool.params.previous()?.version, 3);
  },
);

t.test('the applied package survives closing and reopening the spool', async (t) => {
  const { spool, file, vault } = openTestSpool();
  spool.params.apply(2, '{"v":2}', 'uplink');
  spool.params.apply(7, '{"v":7}', 'api');
  spool.close();
  const reopened = Spool.open({ file, vault });
  t.teardown(() => reopened.close());
  t.equal(reopened.params.running()?.version, 7);
  t.equal(reopened.params.running()?.envelope, '{"v":7}');
  t.equal(reopened.params.previous()?.version, 2);
});

t.test('an apply that fails half way leaves both slots as they were (one commit)', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  spool.params.apply(4, '{"v":4}', 'api');
  spool.params.apply(6, '{"v":6}', 'api');
  // version 0 breaks the table's CHECK after the active one was already moved to previous.
  t.throws(() => spool.params.apply(0, '{"v":0}', 'api'));
  t.equal(spool.params.running()?.version, 6);
  t.equal(spool.params.previous()?.version, 4);
});
