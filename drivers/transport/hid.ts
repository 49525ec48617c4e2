/**
 * USB HID transport over node-hid, loaded lazily: node-hid's native part needs
 * libusb-1.0 (or hidraw/libudev) at load time, and a box without it must still
 * run every other device. A missing library becomes one PosError that names
 * the Debian package to install; it is not a disconnect (retrying cannot fix
 * it), so ReconnectingTransport shows the device in `error` with that reason.
 * Each `data` event is one input report, as node-hid delivers them.
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import { TransportBase, notOpenError, deviceError } from './transport.js';

export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string;
  product?: string;
  manufacturer?: string;
  serialNumber?: string;
  usagePage?: number;
  usage?: number;
  interface?: number;
}

export interface HidDeviceHandle extends EventEmitter {
  write(values: number[] | Buffer): number;
  close(): void;
}

/** The part of node-hid we use. */
export interface NodeHidModule {
  devices(): HidDeviceInfo[];
  HID: new (path: string) => HidDeviceHandle;
}

export type NodeHidLoader = () => NodeHidModule;

export const defaultNodeHidLoader: NodeHidLoader = () => createRequire(import.meta.url)('node-hid') as NodeHidModule;

export const LIBUSB_PACKAGE = 'libusb-1.0-0';

/** Turns a failure to load or start node-hid into a message a technician can act on. */
export function hidUnavailable(cause: unknown): PosError {
  const text = String((cause as Error)?.message ?? cause);
  const library = /libusb|libudev|shared object|cannot open|ERR_DLOPEN_FAILED|MODULE_NOT_FOUND|bindings/i.test(
    text + String((cause as { code?: string })?.code ?? ''),
  );
  return new PosError(
    'CODPOS_DEVICE_HID_UNAVAILABLE',
    library
      ? `USB HID is unavailable: node-hid could not load its native library (${text.split('\n')[0]}). Install the Debian package ${LIBUSB_PACKAGE} (apt-get install ${LIBUSB_PACKAGE}) and restart.`
      : `USB HID is unavailable: ${text.split('\n')[0]}`,
    { cause, details: { package: LIBUSB_PACKAGE } },
  );
}

/** Loads node-hid and proves its native part works (devices() touches it). */
export function loadNodeHid(loader: NodeHidLoader = defaultNodeHidLoader): NodeHidModule {
  try {
    const hid = loader();
    hid.devices();
    return hid;
  } catch (error) {
    throw hidUnavailable(error);
  }
}

export function listHidDevices(loader: NodeHidLoader = defaultNodeHidLoader): HidDeviceInfo[] {
  return loadNodeHid(loader).devices();
}

export interface HidTransportOptions {
  vendorId: number;
  productId: number;
  /** Pick the interface with this usage page (0x8C HID POS, 0x01 keyboard) when a device has several. */
  usagePage?: number;
  loader?: NodeHidLoader;
}

export class HidTransport extends TransportBase {
  readonly description: string;
  private device: HidDeviceHandle | undefined;

  constructor(private readonly options: HidTransportOptions) {
    super();
    for (const key of ['vendorId', 'productId'] as const) {
      const value = options[key];
      if (!Number.isInteger(value) || value < 0 || value > 0xffff)
        throw new PosError(
          'CODPOS_USAGE_HID_OPTION',
          `hid transport: option "${key}" must be 0..0xFFFF, got ${String(value)}`,
        );
    }
    const id = (n: number) => n.toString(16).padStart(4, '0');
    this.description = `hid ${id(options.vendorId)}:${id(options.productId)}`;
  }

  get isOpen(): boolean {
    return this.device !== undefined;
  }

  async open(): Promise<void> {
    if (this.device) return;
    const hid = loadNodeHid(this.options.loader);
    const candidates = hid
      .devices()
      .filter((d) => d.vendorId === this.options.vendorId && d.productId === this.options.productId)
      .filter(
        (d) =>
          this.options.usagePage === undefined || d.usagePage === undefined || d.usagePage === this.options.usagePage,
      );
    const found = candidates.find((d) => d.path);
    if (!found?.path)
      throw deviceError('CODPOS_DEVICE_ABSENT', `${this.description} is not connected`, { disconnected: true });
    let device: HidDeviceHandle;
    try {
      device = new hid.HID(found.path);
    } catch (error) {
      throw deviceError(
        'CODPOS_DEVICE_OPEN_FAILED',
        `cannot open ${this.description} (${(error as Error).message}); check the udev rule grants access to hidraw`,
        {
          cause: error,
          disconnected: true,
        },
      );
    }
    this.device = device;
    device.on('data', (report: Buffer) => this.emit('data', Buffer.from(report)));
    device.on('error', (error: Error) => this.lost(error));
  }

  async write(data: Buffer): Promise<void> {
    if (!this.device) throw notOpenError(this.description);
    try {
      this.device.write([...data]);
    } catch (error) {
      throw this.lost(error as Error);
    }
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    const device = this.device;
    if (!device) return;
    this.device = undefined;
    device.removeAllListeners();
    try {
      device.close();
    } catch {
      // already gone
    }
    this.emit('close');
  }

  private lost(error: Error): PosError {
    const posError = deviceError(
      'CODPOS_DEVICE_DISCONNECTED',
      `${this.description}: device disconnected (${error.message})`,
      { cause: error, disconnected: true },
    );
    const device = this.device;
    if (!device) return posError;
    this.device = undefined;
    device.removeAllListeners();
    device.on('error', () => undefined);
    try {
      device.close();
    } catch {
      // already gone
    }
    this.emit('close', posError);
    return posError;
  }
}
