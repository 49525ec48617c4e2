/**
 * Event ids that grow across restarts (EventBus with a store; the spool's meta table keeps it),
 * and what a client resuming with Last-Event-ID gets: every event after it, or a gap that says
 * why some cannot be replayed.
 */
import t from 'tap';
import { EventBus } from '../../../runtime/api/events.js';
import { SpoolEventStore } from '../../../runtime/api/event-log.js';
import { Spool } from '../../../spool/index.js';
import { openTestSpool } from '../../spool/helpers.js';

const fixedClock = () => new Date(Date.UTC(2026, 10, 29, 8, 0, 0));

t.test(
  'a clean restart numbers on from the last id and replays the kept events: nothing lost, nothing repeated',
  async (t) => {
    const { spool, file, vault } = openTestSpool();
    const first = new EventBus(200, fixedClock, 5);
    first.attach(new SpoolEventStore(spool.db));
    for (let i = 0; i < 12; i++) first.publish('tick', { i });
    first.detach();
    first.publish('after-detach');
    spool.close();

    const reopened = Spool.open({ file, vault });
    t.teardown(() => reopened.close());
    const second = new EventBus(200, fixedClock, 5);
    second.attach(new SpoolEventStore(reopened.db));
    t.same(
      second.replay(7).events.map((event) => event.id),
      [8, 9, 10, 11, 12],
      'what the client had not seen of the last run',
    );
    t.equal(second.replay(7).gap, undefined);
    t.equal(second.publish('tock').id, 13, 'numbering goes on');
    t.same(
      second.replay(12).events.map((event) => event.type),
      ['tock'],
    );
  },
);

t.test("after a crash, ids start past the crashed run's block and a client of that run is told of a gap", async (t) => {
  const { spool, file, vault } = openTestSpool();
  const crashed = new EventBus(200, fixedClock, 5);
  crashed.attach(new SpoolEventStore(spool.db));
  for (let i = 0; i < 7; i++) crashed.publish('tick');
  // No detach: the process died. Ids 1..10 were reserved (two blocks of 5).
  spool.close();

  const reopened = Spool.open({ file, vault });
  t.teardown(() => reopened.close());
  const next = new EventBus(200, fixedClock, 5);
  next.attach(new SpoolEventStore(reopened.db));
  t.match(next.replay(4), {
    events: [],
    gap: { after: 4, resumesAt: null, reason: 'unclean-restart', message: /stopped without saving its last events/ },
  });
  const first = next.publish('tock');
  t.equal(first.id, 11, 'past every id the crashed run could have given');
  t.match(
    next.replay(7),
    { events: [{ id: 11 }], gap: { reason: 'unclean-restart', resumesAt: 11 } },
    'the crashed run may have published 8..10',
  );
  t.same(next.replay(11), { events: [] }, 'a client of this run is whole');
});

t.test(
  'within a run: a client older than the kept events gets a not-kept gap; an id never given gets unknown-id',
  async (t) => {
    const bus = new EventBus(3, fixedClock);
    for (let i = 0; i < 6; i++) bus.publish('tick');
    t.same(
      bus.replay(3).events.map((event) => event.id),
      [4, 5, 6],
    );
    t.equal(bus.replay(3).gap, undefined, 'the first missed one is still kept');
    t.match(bus.replay(1), {
      events: [{ id: 4 }, { id: 5 }, { id: 6 }],
      gap: {
        after: 1,
        resumesAt: 4,
        reason: 'not-kept',
        message: 'events 2 to 3 are no longer kept (the last 3 are); read the state again',
      },
    });
    t.match(bus.replay(99), { gap: { reason: 'unknown-id' } });
    t.same(bus.replay(6), { events: [] });
  },
);

t.test(
  'events published before the store is attached are numbered after the saved ones (no client saw them)',
  async (t) => {
    const { spool } = openTestSpool();
    t.teardown(() => spool.close());
    const store = new SpoolEventStore(spool.db);
    store.reserve(40);
    store.save(30, []);
    const bus = new EventBus(200, fixedClock, 5);
    const early = bus.publish('early');
    t.equal(early.id, 1);
    bus.attach(store);
    t.same(
      bus.since(0).map((event) => [event.id, event.type]),
      [[31, 'early']],
    );
    t.equal(bus.publish('later').id, 32);
    t.same(
      store.load(),
      { ceiling: 36 },
      'the clean stop is forgotten once the numbering is taken up: a crash now is told apart',
    );
  },
);

t.test(
  'a store that cannot reserve more ids does not stop an event: the event goes out and the problem is kept for the health',
  async (t) => {
    let failing = false;
    const reserved: number[] = [];
    const bus = new EventBus(200, fixedClock, 2);
    bus.attach({
      load: () => undefined,
      reserve: (ceiling) => {
        if (failing) throw new Error('disk full');
        reserved.push(ceiling);
      },
      save: () => undefined,
    });
    bus.publish('a');
    bus.publish('b');
    failing = true;
    t.equal(bus.publish('c').id, 3, 'published all the same');
    t.match(bus.storeProblem, /event ids past 2 could not be reserved in the spool \(disk full\)/);
    failing = false;
    bus.publish('d');
    bus.publish('e');
    t.equal(bus.storeProblem, undefined, 'cleared once a reservation succeeds');
    t.same(reserved, [2, 6]);
  },
);
