/** The fleet inbox: an id is new once, seen after; pruned by age with the retention purge. */
import t from 'tap';
import { openTestSpool } from './helpers.js';

const DAY = 86_400_000;

t.test('seen() records an id the first time and recognises it after, whatever the kind', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  t.equal(spool.fleetInbox.seen('m1', 'cmd'), false);
  t.equal(spool.fleetInbox.seen('m1', 'cmd'), true);
  t.equal(spool.fleetInbox.seen('m2', 'tasks'), false);
  t.equal(spool.fleetInbox.size(), 2);
});

t.test('an id recorded in a transaction that rolls back is not seen', async (t) => {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  t.throws(() =>
    spool.db.transaction(() => {
      spool.fleetInbox.seen('m1', 'tasks');
      throw new Error('the change it guards failed');
    })(),
  );
  t.equal(spool.fleetInbox.seen('m1', 'tasks'), false);
});

t.test('prune forgets ids older than the cut; the retention purge prunes them too', async (t) => {
  const { spool, clock } = openTestSpool({ retentionMs: 10 * DAY });
  t.teardown(() => spool.close());
  spool.fleetInbox.seen('old', 'cmd');
  clock.advance(5 * DAY);
  spool.fleetInbox.seen('newer', 'cmd');
  t.equal(spool.fleetInbox.prune(clock.now() - 5 * DAY), 0, 'exactly at the cut: kept');
  t.equal(spool.fleetInbox.prune(clock.now() - 5 * DAY + 1), 1);
  t.equal(spool.fleetInbox.seen('old', 'cmd'), false, 'forgotten, so new again');
  clock.advance(11 * DAY);
  spool.purge();
  t.equal(spool.fleetInbox.size(), 0);
});
