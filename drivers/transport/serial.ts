/**
 * Serial transport over the native serialport binding (UART, USB CDC-ACM,
 * pseudo-terminals). serialport does not reopen by itself and does not always
 * emit `close` when a device goes away (a write may just fail with EIO, a
 * pseudo-terminal may hang up silently), so this transport turns every such
 * sign into one `close` with a disconnected PosError: read/write errors, the
 * device node vanishing (checked every `livenessMs`), and serialport's own
 * disconnect close. ReconnectingTransport does the reopening.
 */
import { stat } from 'node:fs/promises';
import type { SerialPort as SerialPortType } from 'serialport';
import { PosError } from '../../config/errors.js';
import { TransportBase, notOpenError, deviceError } from './transport.js';
import { createRequire } from 'node:module';

/**
 * serialport, loaded on the first open (a box with only HID or BLE devices never loads it). By
 * require, not import(): in the daemon's and the CLI's bundles an import() of a package left
 * outside them has no loader to call (scripts/build/bundle.ts).
 */
const requireOnDemand = createRequire(import.meta.url);

export interface SerialTransportOptions {
  path: string;
  baudRate: number;
  /** How often to check the device node still exists; 0 disables. */
  livenessMs?: number;
}

/** Error codes that mean the device is gone rather than a one-off fault. */
const GONE = new Set(['EIO', 'ENXIO', 'EBADF', 'ENODEV', 'ENOENT', 'UNKNOWN']);

export class SerialTransport extends TransportBase {
  readonly description: string;
  private port: SerialPortType | undefined;
  private liveness: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly options: SerialTransportOptions) {
    super();
    if (!options.path) throw new PosError('CODPOS_USAGE_SERIAL_PATH', 'serial transport: option "path" is required');
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) {
      throw new PosError(
        'CODPOS_USAGE_SERIAL_BAUD',
        `serial transport: option "baudRate" must be a positive integer, got ${String(options.baudRate)}`,
      );
    }
    this.description = `serial ${options.path} @ ${options.baudRate}`;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const { SerialPort } = requireOnDemand('serialport') as typeof import('serialport');
    const port = new SerialPort({ path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((error) =>
        error
          ? reject(
              deviceError('CODPOS_DEVICE_OPEN_FAILED', `cannot open ${this.description}: ${error.message}`, {
                cause: error,
                disconnected: true,
              }),
            )
          : resolve(),
      ),
    );
    this.port = port;
    this.closing = false;
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', (error: NodeJS.ErrnoException) => this.lost(error));
    port.on('close', (error?: Error & { disconnected?: boolean }) => {
      if (this.port !== port) return;
      if (this.closing) return;
      this.lost(error ?? new Error('port closed'));
    });
    const every = this.options.livenessMs ?? 1000;
    if (every > 0) {
      this.liveness = setInterval(() => {
        stat(this.options.path).catch((error: Error) => this.lost(error));
      }, every);
      this.liveness.unref();
    }
  }

  async write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw notOpenError(this.description);
    await new Promise<void>((resolve, reject) =>
      port.write(data, (error) => {
        if (!error) return resolve();
        const lost = this.lost(error);
        reject(lost);
      }),
    );
  }

  async drain(): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw notOpenError(this.description);
    await new Promise<void>((resolve, reject) => port.drain((error) => (error ? reject(this.lost(error)) : resolve())));
  }

  async close(): Promise<void> {
    const port = this.port;
    this.stopLiveness();
    if (!port) return;
    this.closing = true;
    this.port = undefined;
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    port.removeAllListeners();
    this.emit('close');
  }

  /** Tears the port down once and reports it as disconnected; later signs of the same loss are ignored. */
  private lost(error: Error & { code?: string; disconnected?: boolean }): PosError {
    const gone =
      error.disconnected === true ||
      GONE.has(String(error.code)) ||
      /i\/o error|bad file descriptor|no such/i.test(error.message);
    const posError = deviceError(
      gone ? 'CODPOS_DEVICE_DISCONNECTED' : 'CODPOS_DEVICE_IO',
      `${this.description}: ${gone ? 'device disconnected' : 'I/O error'} (${error.message})`,
      { cause: error, disconnected: true },
    );
    const port = this.port;
    if (!port) return posError;
    this.port = undefined;
    this.stopLiveness();
    port.removeAllListeners();
    port.on('error', () => undefined);
    if (port.isOpen) port.close(() => undefined);
    this.emit('close', posError);
    return posError;
  }

  private stopLiveness(): void {
    if (this.liveness) clearInterval(this.liveness);
    this.liveness = undefined;
  }
}
