/**
 * Task updates from terminal management: each applied to the cached list in one commit with its
 * message id, published as `tasks.updated` with the change, a redelivered id acted on once, an
 * unknown task or a malformed update refused with the list and the inbox unchanged.
 */
import t, { type Test } from 'tap';
import { openTestSpool } from '../../spool/helpers.js';
import { applyTaskUpdate } from '../../../runtime/fleet/task-updates.js';
import type { Task } from '../../../spool/tasks.js';
import type { FleetMessage } from '../../../runtime/fleet/types.js';

const TASK: Task = {
  id: 'T1',
  waybill: 'RR123456785CH',
  kind: 'delivery',
  codAmount: 2500,
  currency: '756',
  consignee: 'A. Muster',
  address: 'Bahnhofstrasse 1, Zurich',
};

function setUp(t: Test) {
  const { spool } = openTestSpool();
  t.teardown(() => spool.close());
  spool.tasks.replace([TASK], []);
  const published: Array<{ type: string; data: Record<string, unknown> }> = [];
  const deps = {
    spool: () => spool,
    events: { publish: (type: string, data: Record<string, unknown>) => published.push({ type, data }) },
  };
  return { spool, published, deps };
}

const message = (id: string, data: unknown): FleetMessage<unknown> => ({
  id,
  type: 'task.update',
  at: '2026-06-01T08:00:00.000Z',
  data,
});

t.test(
  'a re-route changes the cached address and consignee and is published as tasks.updated with the change',
  async (t) => {
    const { spool, published, deps } = setUp(t);
    const outcome = applyTaskUpdate(
      deps,
      message('m1', {
        action: 'reroute',
        taskId: 'T1',
        address: 'Seestrasse 9, Zurich',
        consignee: 'B. Beispiel',
        reason: 'neighbour',
      }),
    );
    t.match(outcome, { duplicate: false, change: { action: 'reroute', changed: true } });
    t.same(spool.tasks.task('T1'), { ...TASK, address: 'Seestrasse 9, Zurich', consignee: 'B. Beispiel' });
    t.same(published, [
      {
        type: 'tasks.updated',
        data: {
          tasks: 1,
          change: {
            action: 'reroute',
            taskId: 'T1',
            waybill: 'RR123456785CH',
            kind: 'delivery',
            address: 'Seestrasse 9, Zurich',
            consignee: 'B. Beispiel',
            previousAddress: 'Bahnhofstrasse 1, Zurich',
            reason: 'neighbour',
          },
        },
      },
    ]);
  },
);

t.test('a re-route without a consignee keeps the one the task had', async (t) => {
  const { spool, deps } = setUp(t);
  applyTaskUpdate(deps, message('m1', { action: 'reroute', taskId: 'T1', address: 'Seestrasse 9, Zurich' }));
  t.equal(spool.tasks.task('T1')?.consignee, 'A. Muster');
  t.equal(spool.tasks.task('T1')?.address, 'Seestrasse 9, Zurich');
});

t.test('the same message id delivered twice is acted on once', async (t) => {
  const { spool, published, deps } = setUp(t);
  const update = { action: 'reroute', taskId: 'T1', address: 'Seestrasse 9, Zurich' };
  t.equal(applyTaskUpdate(deps, message('m1', update)).duplicate, false);
  // Between the two deliveries the back-end routes it on again: a stale repeat must not undo that.
  applyTaskUpdate(deps, message('m2', { action: 'reroute', taskId: 'T1', address: 'Dorfweg 3, Uster' }));
  t.same(applyTaskUpdate(deps, message('m1', update)), { duplicate: true });
  t.equal(spool.tasks.task('T1')?.address, 'Dorfweg 3, Uster');
  t.equal(published.length, 2, 'one event per message acted on');
});

t.test('an add then the same add again: one task, one event; remove takes it off', async (t) => {
  const { spool, published, deps } = setUp(t);
  const task = { ...TASK, id: 'T2', waybill: 'RR000000005CH', codAmount: 0, currency: null };
  t.match(applyTaskUpdate(deps, message('a1', { action: 'add', task })), { change: { action: 'add', changed: true } });
  t.match(applyTaskUpdate(deps, message('a2', { action: 'add', task })), { change: { changed: false } });
  t.same(
    spool.tasks.tasks().map((x) => x.id),
    ['T1', 'T2'],
  );
  t.same(
    published.map((e) => e.data.tasks),
    [2],
    'the repeat add changes nothing on the screen',
  );
  t.match(applyTaskUpdate(deps, message('r1', { action: 'remove', taskId: 'T2', reason: 'cancelled' })), {
    change: { action: 'remove', task: { id: 'T2' }, changed: true },
  });
  t.same(
    spool.tasks.tasks().map((x) => x.id),
    ['T1'],
  );
  t.match(published[1], {
    type: 'tasks.updated',
    data: { tasks: 1, change: { action: 'remove', taskId: 'T2', waybill: 'RR000000005CH', reason: 'cancelled' } },
  });
});

t.test('an add with the id of a different task replaces it', async (t) => {
  const { spool, deps } = setUp(t);
  const outcome = applyTaskUpdate(deps, message('a1', { action: 'add', task: { ...TASK, codAmount: 100 } }));
  t.match(outcome, { change: { changed: true, previous: { codAmount: 2500 } } });
  t.equal(spool.tasks.task('T1')?.codAmount, 100);
});

t.test(
  'an unknown task id is refused; the list and the inbox are unchanged (a redelivery is refused again)',
  async (t) => {
    const { spool, published, deps } = setUp(t);
    for (const update of [
      { action: 'reroute', taskId: 'NOPE', address: 'x' },
      { action: 'remove', taskId: 'NOPE' },
    ]) {
      t.throws(() => applyTaskUpdate(deps, message('u1', update)), {
        code: 'CODPOS_SPOOL_UNKNOWN_TASK',
        message: /task NOPE/,
      });
    }
    t.same(spool.tasks.tasks(), [TASK]);
    t.equal(spool.fleetInbox.size(), 0, 'the refused message id was not recorded');
    t.same(published, []);
  },
);

t.test('a malformed update names the field and changes nothing', async (t) => {
  const { spool, deps } = setUp(t);
  t.throws(() => applyTaskUpdate(deps, message('b1', { action: 'reroute', taskId: 'T1' })), {
    code: 'CODPOS_FLEET_MESSAGE',
    message: /address/,
  });
  t.throws(() => applyTaskUpdate(deps, message('b2', { action: 'teleport', taskId: 'T1' })), {
    code: 'CODPOS_FLEET_MESSAGE',
  });
  t.throws(() => applyTaskUpdate(deps, message('b3', { action: 'add', task: { ...TASK, codAmount: -1 } })), {
    code: 'CODPOS_FLEET_MESSAGE',
    message: /task\.codAmount/,
  });
  t.same(spool.tasks.tasks(), [TASK]);
  t.equal(spool.fleetInbox.size(), 0);
});
