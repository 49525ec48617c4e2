/**
 * Which of the daemon's EventBus events go to terminal management as business events (topic
 * t/T/events, spooled in outbox stream `fleet`): what happened to money and parcels — card and
 * QR payment outcomes, voids, waybill events (exceptions among them), the courier's check-in and
 * handover, the day closing, settlement. Not the screen's prompts (card inserted, PIN requested,
 * a QR code shown), device states (those are in the health message) or parameter reports (the
 * params service spools those itself in stream `params-report`; sending them here too would
 * send them twice). The data goes as the bus carries it: publishers mask before they publish.
 */
import type { DaemonEvent } from '../api/events.js';

/** Event types forwarded as they come. */
export const BUSINESS_EVENT_TYPES: ReadonlySet<string> = new Set([
  'payment.approved',
  'payment.declined',
  'payment.cancelled',
  'payment.failed',
  'payment.voided',
  'payment.void-declined',
  'payment.qr.refund-owed',
  'waybill.pickup',
  'waybill.dispatch',
  'waybill.delivery',
  'waybill.exception',
  'courier.checked-in',
  'courier.checked-out',
  'handover.recorded',
  'day.closed',
  'day.opened',
  'settlement.closed',
  'settlement.out-of-balance',
]);

/**
 * The QR payment states that are an outcome. `show-code` (it carries the code's payload) and
 * `waiting` are the screen's business, not the operator's.
 */
export const QR_OUTCOME_STATES: ReadonlySet<string> = new Set(['paid', 'declined', 'cancelled', 'unknown', 'refunded']);

export function isBusinessEvent(event: Pick<DaemonEvent, 'type' | 'data'>): boolean {
  if (event.type === 'payment.qr') return QR_OUTCOME_STATES.has(String(event.data.state));
  return BUSINESS_EVENT_TYPES.has(event.type);
}

export interface EventForwarding {
  bus: { subscribe(listener: (event: DaemonEvent) => void): () => void };
  /**
   * Stores one business event in the outbox as a fleet message of that type and data (the link
   * gives it its id, which the consumer dedupes on) and starts sending; resolves once stored.
   */
  send: (type: string, data: Record<string, unknown>) => Promise<unknown>;
  /** An event that could not be spooled (the spool is full or broken): said, not thrown into the bus. */
  failed: (error: unknown, event: DaemonEvent) => void;
}

/** Forwards the business events published from now on to the fleet outbox; returns the unsubscribe function. */
export function forwardBusinessEvents(forwarding: EventForwarding): () => void {
  return forwarding.bus.subscribe((event) => {
    if (!isBusinessEvent(event)) return;
    forwarding.send(event.type, event.data).catch((error: unknown) => forwarding.failed(error, event));
  });
}
