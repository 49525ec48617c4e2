/**
 * The handover's state in the spool: a closed day stays closed across a restart (it is in the
 * database, not in the daemon's memory), the next calendar day is open, the handover's record
 * for the back-end carries its id, and the database itself refuses a second handover that
 * would close a closed day and a difference without a reason.
 */
import t from 'tap';
import { hashCourierPin } from '../../../runtime/workflow/courier-pin.js';
import { WorkflowService } from '../../../runtime/workflow/service.js';
import { EventBus } from '../../../runtime/api/events.js';
import { validateConfig } from '../../../config/load.js';
import { STREAMS, type Spool } from '../../../spool/index.js';
import { tempSpool } from '../host/fixtures.js';

const DAY_MS = 86_400_000;

async function workflowOn(spool: Spool, clock: () => number = Date.now) {
  const workflow = new WorkflowService(validateConfig({}), { spool: () => spool, events: new EventBus(), clock });
  await workflow.start();
  return workflow;
}

t.test('a closed day stays closed after a restart; the next calendar day is open', async (t) => {
  const store = await tempSpool();
  t.teardown(() => store.remove());
  const first = await store.open();
  first.tasks.replace([], [{ id: 'C7', name: 'Courier Seven', pinHash: hashCourierPin('2468') }]);
  const before = await workflowOn(first);
  await before.checkIn('C7', '2468');
  await before.record({
    kind: 'delivery',
    waybill: 'RR123456785CH',
    cod: { method: 'cash', amount: 1200, tendered: 1200 },
  });
  const handover = await before.handOver({ counted: 1200, clerkId: 'D1' });
  t.match(
    handover,
    { courierId: 'C7', expected: 1200, counted: 1200, difference: 0, slipPrinted: false },
    'no printer: recorded all the same',
  );
  const [record] = first.outbox.list({ stream: STREAMS.handover });
  t.equal(record?.id, handover.id, "the back-end's record carries the handover's id");
  first.close();

  const spool = await store.open();
  t.teardown(() => spool.close());
  let offset = 0;
  const after = await workflowOn(spool, () => Date.now() + offset);
  t.match(after.handoversOf(), { closed: true, handovers: [{ id: handover.id }] });
  await t.rejects(after.record({ kind: 'pickup', waybill: 'RR111111115CH' }), { code: 'CODPOS_USAGE_DAY_CLOSED' });
  await t.rejects(after.handOver({ counted: 0, clerkId: 'D1' }), { code: 'CODPOS_USAGE_HANDOVER_DONE' });
  offset = DAY_MS;
  t.match(after.handoversOf(), { closed: false, handovers: [] }, 'tomorrow is another day');
  t.match(await after.record({ kind: 'pickup', waybill: 'RR111111115CH' }), { kind: 'pickup' });
});

t.test('the database refuses a second handover closing the same day, and a difference without a reason', async (t) => {
  const store = await tempSpool();
  t.teardown(() => store.remove());
  const spool = await store.open();
  t.teardown(() => spool.close());
  const insert = spool.db.prepare(
    `INSERT INTO handover (id, day, courier_id, clerk_id, currency, expected, counted, reason, handed_at, reopened_at) VALUES (?, '2024-03-05', 'C7', 'D1', '840', 1000, ?, ?, 0, ?)`,
  );
  insert.run('a', 1000, null, null);
  t.throws(() => insert.run('b', 1000, null, null), /UNIQUE/, 'a closed day cannot be closed twice');
  spool.db.prepare(`UPDATE handover SET reopened_at = 1 WHERE id = 'a'`).run();
  t.doesNotThrow(() => insert.run('b', 1000, null, null), 'once a check-in reopened it, the next round closes it');
  t.throws(() => insert.run('c', 900, null, 5), /CHECK/, 'a difference needs its reason');
  t.doesNotThrow(() => insert.run('c', 900, 'short', 5));
});
