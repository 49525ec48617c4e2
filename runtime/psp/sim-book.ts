/**
 * The PSP simulator's orders: each with its behaviour (sim-rules.ts), its refunds and what the
 * status queries have seen. Bounded: past `maxOrders`, the oldest orders in a final state are
 * forgotten (an order still open is never dropped: a wallet may still pay it).
 */
import { FINAL_PSP_STATUSES, type PspOrder, type PspOrderStatus, type QrMode } from './types.js';
import type { SimBehaviour } from './sim-rules.js';

export interface SimOrder {
  order: PspOrder;
  behaviour: SimBehaviour;
  notifyUrl?: string;
  /** Status queries answered since the order was paid (for late-status). */
  queriesSincePaid: number;
  refunds: Map<string, number>;
}

export interface NewSimOrder {
  orderRef: string;
  mode: QrMode;
  amount: number;
  currency: string;
  waybill: string;
  behaviour: SimBehaviour;
  notifyUrl?: string;
}

export class SimBook {
  private readonly orders = new Map<string, SimOrder>();
  private counter = 0;

  constructor(
    private readonly maxOrders = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(orderRef: string): SimOrder | undefined {
    return this.orders.get(orderRef);
  }

  add(fields: NewSimOrder): SimOrder {
    this.prune();
    const entry: SimOrder = {
      order: {
        orderRef: fields.orderRef,
        orderId: `psp-${String(++this.counter).padStart(8, '0')}`,
        mode: fields.mode,
        status: 'created',
        amount: fields.amount,
        currency: fields.currency,
        waybill: fields.waybill,
      },
      behaviour: fields.behaviour,
      ...(fields.notifyUrl !== undefined ? { notifyUrl: fields.notifyUrl } : {}),
      queriesSincePaid: 0,
      refunds: new Map(),
    };
    this.orders.set(fields.orderRef, entry);
    return entry;
  }

  /** Moves an order on; paid stamps paidAt. */
  setStatus(entry: SimOrder, status: PspOrderStatus, extra: Partial<PspOrder> = {}): void {
    entry.order = { ...entry.order, ...extra, status };
    if (status === 'paid') entry.order.paidAt = new Date(this.now()).toISOString();
  }

  list(): SimOrder[] {
    return [...this.orders.values()];
  }

  get size(): number {
    return this.orders.size;
  }

  private prune(): void {
    if (this.orders.size < this.maxOrders) return;
    for (const [ref, entry] of this.orders) {
      if (this.orders.size < this.maxOrders) break;
      if (FINAL_PSP_STATUSES.has(entry.order.status)) this.orders.delete(ref);
    }
  }
}
