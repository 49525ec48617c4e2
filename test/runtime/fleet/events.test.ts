/** Which bus events go to the fleet: money and parcel outcomes, spooled as they come; not the screen's prompts. */
import t from 'tap';
import { EventBus } from '../../../runtime/api/events.js';
import { forwardBusinessEvents, isBusinessEvent } from '../../../runtime/fleet/events.js';

t.test('business events are sent to the fleet outbox; prompts, device states and QR codes shown are not', async (t) => {
  const bus = new EventBus();
  const queued: Array<{ type: string; data: Record<string, unknown> }> = [];
  const stop = forwardBusinessEvents({
    bus,
    send: async (type, data) => void queued.push({ type, data }),
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
  bus.publish('tasks.updated', { tasks: 3 });
  bus.publish('handover.recorded', { id: 'H1' });
  t.same(queued, [
    { type: 'payment.approved', data: { journalId: 'J1', panLast4: '0010' } },
    { type: 'payment.qr', data: { id: 'Q1', state: 'paid', amount: 100 } },
    { type: 'waybill.exception', data: { id: 'W1', waybill: 'RR1', reason: 'not-home' } },
    { type: 'handover.recorded', data: { id: 'H1' } },
  ]);
  stop();
  bus.publish('payment.approved', {});
  t.equal(queued.length, 4, 'nothing after unsubscribing');
});

t.test('an event the spool refuses is handed to failed(), not thrown into the bus', async (t) => {
  const bus = new EventBus();
  const failures: string[] = [];
  forwardBusinessEvents({
    bus,
    send: async () => Promise.reject(new Error('disk full')),
    failed: (error, event) => failures.push(`${event.type}: ${(error as Error).message}`),
  });
  t.doesNotThrow(() => bus.publish('waybill.delivery', { waybill: 'RR1' }));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(failures, ['waybill.delivery: disk full']);
});

t.test('every QR outcome state is a business event, and no other', async (t) => {
  for (const state of ['paid', 'declined', 'cancelled', 'unknown', 'refunded'])
    t.ok(isBusinessEvent({ type: 'payment.qr', data: { state } }), state);
  for (const state of ['show-code', 'waiting', undefined])
    t.notOk(isBusinessEvent({ type: 'payment.qr', data: { state } }), String(state));
});
