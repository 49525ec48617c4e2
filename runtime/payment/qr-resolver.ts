/**
 * Resolves QR payments whose wait is over but whose end the terminal does not know (unknown),
 * and pending rows no wait owns (left by a stop, a crash or a power cut): in the background, by
 * asking the PSP, never by guessing.
 *
 * For each: query the order. Final at the PSP: the row takes that state. Still open (no wallet
 * paid it, nobody waits for it any more): cancel it; the cancel's answer decides (a wallet that
 * paid meanwhile makes it paid). The PSP has no such order (the create never reached it):
 * cancelled, with that reason. No answer: asked again after a delay that doubles from
 * `initialMs` up to `maxMs`; any PSP exchange that succeeds elsewhere asks every waiting row
 * again at once (the link is back).
 */
import { PosError } from '../../config/errors.js';
import type { QrJournal } from '../../spool/qr-journal.js';
import type { QrTransaction } from '../../spool/qr-transaction.js';
import type { Logger } from '../log.js';
import { FINAL_PSP_STATUSES, type PspClient, type PspOrder } from '../psp/types.js';
import { orderRefOf } from './qr-order-ref.js';

export interface QrResolverDeps {
  journal: () => QrJournal;
  psp: () => PspClient | undefined;
  /** Moves the row to a final answer of the PSP (QrPaymentService.applyOrder). */
  apply: (id: string, order: PspOrder, how: string) => QrTransaction | undefined;
  /** The PSP has no such order: the row is cancelled with this reason. */
  noSuchOrder: (id: string, reason: string) => void;
  /** A row a wait in this process still owns (its waiter queries it). */
  isWaiting: (id: string) => boolean;
  log: Logger;
  initialMs: number;
  maxMs: number;
}

interface Retry {
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
}

export class QrResolver {
  private readonly retries = new Map<string, Retry>();
  private readonly running = new Map<string, Promise<QrTransaction | undefined>>();
  private stopped = false;

  constructor(private readonly deps: QrResolverDeps) {}

  /** Asks about every outstanding row no wait owns (at start: every one). */
  start(): void {
    this.stopped = false;
    for (const txn of this.deps.journal().outstanding()) if (!this.deps.isWaiting(txn.id)) this.schedule(txn.id, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
  }

  /** Puts a row on the resolver's list (asked after `delayMs`, default the first backoff step). */
  schedule(id: string, delayMs = this.deps.initialMs): void {
    if (this.stopped) return;
    const retry = this.retries.get(id) ?? { delayMs: this.deps.initialMs, timer: undefined };
    clearTimeout(retry.timer);
    retry.timer = setTimeout(() => void this.attempt(id), delayMs);
    retry.timer.unref();
    this.retries.set(id, retry);
  }

  /** The PSP answered an exchange: the link works, so every row waiting for a retry is asked now. */
  pspAnswered(): void {
    for (const [id, retry] of this.retries) {
      if (this.running.has(id)) continue;
      clearTimeout(retry.timer);
      retry.timer = setTimeout(() => void this.attempt(id), 0);
      retry.timer.unref();
    }
  }

  /** Asks about one row now and answers the row as it then stands (what the route tells the courier). */
  async resolveNow(id: string): Promise<QrTransaction | undefined> {
    return this.attempt(id);
  }

  /** The rows waiting for a retry (for the status page and tests). */
  pending(): string[] {
    return [...this.retries.keys()];
  }

  private attempt(id: string): Promise<QrTransaction | undefined> {
    const inFlight = this.running.get(id);
    if (inFlight) return inFlight;
    const run = this.ask(id).finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  private async ask(id: string): Promise<QrTransaction | undefined> {
    const txn = this.deps.journal().get(id);
    if (!txn || (txn.state !== 'pending' && txn.state !== 'unknown') || this.deps.isWaiting(id)) {
      this.forget(id);
      return txn;
    }
    const psp = this.deps.psp();
    if (!psp) return txn;
    const orderRef = orderRefOf(id);
    try {
      let order = await psp.query(orderRef);
      if (!FINAL_PSP_STATUSES.has(order.status)) {
        // Open at the PSP and nobody shows its code any more: close it, and take what the cancel says.
        order = await psp.cancel(orderRef);
      }
      const after = this.deps.apply(id, order, 'resolver');
      if (after && (after.state === 'pending' || after.state === 'unknown')) {
        this.retryLater(id, `the PSP says ${order.status}`);
      } else {
        this.forget(id);
        this.deps.log.info({ qrId: id, state: after?.state }, 'QR payment resolved by query');
      }
      return after;
    } catch (error) {
      if (error instanceof PosError && error.code === 'CODPOS_PSP_UNKNOWN_ORDER') {
        this.deps.noSuchOrder(id, 'the PSP has no such order: the create never reached it, nothing was paid');
        this.forget(id);
        return this.deps.journal().get(id);
      }
      this.retryLater(id, (error as Error).message);
      return this.deps.journal().get(id);
    }
  }

  private retryLater(id: string, why: string): void {
    if (this.stopped) return;
    const retry = this.retries.get(id) ?? { delayMs: this.deps.initialMs, timer: undefined };
    this.retries.set(id, retry);
    this.deps.log.warn(
      { qrId: id, retryInMs: retry.delayMs, reason: why },
      'QR payment not resolved yet; asking again later',
    );
    this.schedule(id, retry.delayMs);
    retry.delayMs = Math.min(retry.delayMs * 2, this.deps.maxMs);
  }

  private forget(id: string): void {
    clearTimeout(this.retries.get(id)?.timer);
    this.retries.delete(id);
  }
}
