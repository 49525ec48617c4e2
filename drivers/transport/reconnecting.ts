/**
 * Keeps a device open: opens the inner transport, and when it closes with a
 * disconnected error (unplugged, PTY killed, USB reset) or fails to open,
 * tries again with exponential backoff (initialDelayMs doubling up to
 * maxDelayMs) until stop(). It is itself a Transport, so drivers do not know
 * whether they sit on a bare or a reconnecting link, and it emits `state`
 * (online / offline / error + reason) for the runtime and `codpos status`.
 */
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import { TransportBase, notOpenError, type Transport, type DeviceState } from './transport.js';

export interface ReconnectOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

export class ReconnectingTransport extends TransportBase {
  private current: DeviceState = { state: 'offline', reason: 'not opened yet' };
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private stopped = true;
  private readonly states = new EventEmitter();
  private opening = false;
  /** Number of successful opens; 2 or more means the device came back at least once. */
  opens = 0;

  constructor(
    readonly inner: Transport,
    private readonly options: ReconnectOptions = { initialDelayMs: 250, maxDelayMs: 10_000 },
  ) {
    super();
    if (!(options.initialDelayMs > 0))
      throw new PosError('CODPOS_USAGE_RECONNECT', 'reconnect: option "initialDelayMs" must be positive');
    if (!(options.maxDelayMs >= options.initialDelayMs))
      throw new PosError('CODPOS_USAGE_RECONNECT', 'reconnect: option "maxDelayMs" must be at least initialDelayMs');
    this.delayMs = options.initialDelayMs;
    inner.on('data', (chunk) => this.emit('data', chunk));
    inner.on('close', (error) => {
      if (this.stopped) return;
      this.setState(error ? { state: 'offline', reason: error.message } : { state: 'offline', reason: 'closed' });
      this.emit('close', error);
      this.schedule();
    });
  }

  get description(): string {
    return this.inner.description;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  get state(): DeviceState {
    return this.current;
  }

  /**
   * Starts keeping the device open. Resolves after the first attempt, whether it
   * opened or not: a missing device must not stop the daemon from starting.
   */
  async open(): Promise<void> {
    this.stopped = false;
    await this.attempt();
  }

  /** Resolves when the device is online (now or later); for callers that must wait for it. */
  whenOnline(): Promise<void> {
    if (this.current.state === 'online') return Promise.resolve();
    return new Promise((resolve) => {
      const stop = this.onState((state) => {
        if (state.state !== 'online') return;
        stop();
        resolve();
      });
    });
  }

  /** Calls `listener` on every state change; returns the function that unsubscribes. */
  onState(listener: (state: DeviceState) => void): () => void {
    this.states.on('state', listener);
    return () => this.states.off('state', listener);
  }

  async write(data: Buffer): Promise<void> {
    if (!this.inner.isOpen) throw notOpenError(this.description);
    await this.inner.write(data);
  }

  async drain(): Promise<void> {
    await this.inner.drain();
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inner.close();
    this.setState({ state: 'offline', reason: 'closed' });
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.opening) return;
    this.opening = true;
    try {
      await this.inner.open();
      this.opening = false;
      if (this.stopped) {
        await this.inner.close();
        return;
      }
      this.delayMs = this.options.initialDelayMs;
      this.opens += 1;
      this.setState({ state: 'online' });
    } catch (error) {
      this.opening = false;
      const posError = error instanceof PosError ? error : undefined;
      if (posError && !posError.disconnected) {
        // A fault that retrying cannot fix (bad option, missing library): say so and stop.
        this.setState({ state: 'error', reason: posError.message });
        return;
      }
      this.setState({ state: 'offline', reason: (error as Error).message });
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.options.maxDelayMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, delay);
  }

  private setState(next: DeviceState): void {
    const changed = next.state !== this.current.state || next.reason !== this.current.reason;
    this.current = next;
    if (changed) this.states.emit('state', next);
  }
}
