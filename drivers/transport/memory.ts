/**
 * In-memory transport pairs for unit tests and in-process simulators: what one
 * end writes arrives as `data` on the other, asynchronously (like a wire), so
 * a driver cannot depend on a reply arriving inside its own write() call.
 * `unplug()` drops both ends with a disconnected error; `plug()` lets them open again.
 * What an end writes is kept for a test only when asked (`keepWrites`), and then only the
 * latest chunks: the daemon's simulated devices run on these pairs for days.
 */
import { TransportBase, notOpenError, deviceError } from './transport.js';

export interface MemoryTransportOptions {
  /** How many of the latest chunks written `written` keeps, for tests that assert exact bytes (default 0: none). */
  keepWrites?: number;
}

export class MemoryTransport extends TransportBase {
  peer: MemoryTransport | undefined;
  private opened = false;
  private plugged = true;
  /** The latest chunks written (at most `keepWrites`), oldest first. */
  readonly written: Buffer[] = [];
  private readonly keepWrites: number;

  constructor(
    readonly description: string,
    options: MemoryTransportOptions = {},
  ) {
    super();
    this.keepWrites = options.keepWrites ?? 0;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  async open(): Promise<void> {
    if (!this.plugged)
      throw deviceError('CODPOS_DEVICE_ABSENT', `${this.description} is unplugged`, { disconnected: true });
    this.opened = true;
  }

  async write(data: Buffer): Promise<void> {
    if (!this.opened) throw notOpenError(this.description);
    const copy = Buffer.from(data);
    if (this.keepWrites > 0) {
      this.written.push(copy);
      if (this.written.length > this.keepWrites) this.written.shift();
    }
    const peer = this.peer;
    setImmediate(() => {
      if (peer?.opened) peer.emit('data', copy);
    });
  }

  async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.emit('close');
  }

  /** Simulates pulling the cable: both ends close with a disconnected error and refuse to open. */
  unplug(): void {
    for (const end of [this, this.peer]) {
      if (!end) continue;
      end.plugged = false;
      if (end.opened) {
        end.opened = false;
        end.emit(
          'close',
          deviceError('CODPOS_DEVICE_DISCONNECTED', `${end.description} was unplugged`, { disconnected: true }),
        );
      }
    }
  }

  plug(): void {
    this.plugged = true;
    if (this.peer) this.peer.plugged = true;
  }
}

/** Two connected ends: `host` for the driver, `device` for the simulator; `options` apply to both. */
export function memoryPair(
  name = 'memory',
  options: MemoryTransportOptions = {},
): { host: MemoryTransport; device: MemoryTransport } {
  const host = new MemoryTransport(`${name} (host end)`, options);
  const device = new MemoryTransport(`${name} (device end)`, options);
  host.peer = device;
  device.peer = host;
  return { host, device };
}
