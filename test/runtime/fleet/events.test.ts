/** Which bus events go to the fleet: money and parcel outcomes, spooled with a new id each; not the screen's prompts. */
import t from 'tap';
import { EventBus } from '../../../runtime/api/events.js';
import { forwardBusinessEvents, isBusinessEvent } from '../../../runtime/fleet/events.js';
import type { FleetMessage, OutboundKind } from '../../../runtime/fleet/types.js';

t.test(
  'business events are spooled as fleet messages; prompts, device states and QR codes shown are not',
  async (t) => {
    const bus = new EventBus(200, () => new Date('2026-06-01T08:00:00.000Z'));
    const queued: Array<{ kind: OutboundKind; message: FleetMessage }> = [];
    let n = 0;
    let wakes = 0;
    const stop = forwardBusinessEvents({
      bus,
      outbox: { enqueue: async (kind, message) => void queued.push({ kind, message }) },
      terminal: 'T1',
      newId: () => `id-${++n}`,
      queued: () => wakes++,
      failed: () => t.fail('nothing fails here'),
    });
    bus.publish('card.inserted', {});
    bus.publish('device.state', { device: 'printer', state: 'offline' });
    bus.publish('payment.approved', { journalId: 'J1', panLast4: '0010' });
    bus.publish('payment.qr', { id: 'Q1', state: 'show-code', payload: '000201...' });
    bus.publish('payment.qr', { id: 'Q1', state: 'waiting' });
    bus.publish('payment.qr', { id: 'Q1', state: 'paid', amount: 100 });
    bus.publish('waybill.exception', { id: 'W1', waybill: 'RR1', reason: 'not-home' });
    bus.publish('params.report', { version: 7 });
    bus.publish('handover.recorded', { id: 'H1' });
    await new Promise((resolve) => setImmediate(resolve));
    t.same(
      queued.map((q) => [q.kind, q.message.type, q.message.id]),
      [
        ['events', 'payment.approved', 'id-1'],
        ['events', 'payment.qr', 'id-2'],
        ['events', 'waybill.exception', 'id-3'],
        ['events', 'handover.recorded', 'id-4'],
      ],
    );
    t.same(queued[0]!.message, {
      id: 'id-1',
      type: 'payment.approved',
      at: '2026-06-01T08:00:00.000Z',
      terminal: 'T1',
      data: { journalId: 'J1', panLast4: '0010' },
    });
    t.equal(wakes, 4);
    stop();
    bus.publish('payment.approved', {});
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(queued.length, 4, 'nothing after unsubscribing');
  },
);

t.test('an event the spool refuses is handed to failed(), not thrown into the bus', async (t) => {
  const bus = new EventBus();
  const failures: string[] = [];
  forwardBusinessEvents({
    bus,
    outbox: { enqueue: async () => Promise.reject(new Error('disk full')) },
    terminal: 'T1',
    newId: () => 'x',
    failed: (error, event) => failures.push(`${event.type}: ${(error as Error).message}`),
  });
  t.doesNotThrow(() => bus.publish('waybill.delivery', { waybill: 'RR1' }));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(failures, ['waybill.delivery: disk full']);
});

t.test('every QR outcome state is a business event', async (t) => {
  for (const state of ['paid', 'declined', 'cancelled', 'unknown', 'refunded'])
    t.ok(isBusinessEvent({ type: 'payment.qr', data: { state } }), state);
  t.notOk(isBusinessEvent({ type: 'payment.qr', data: {} }));
});
