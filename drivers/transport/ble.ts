/**
 * Bluetooth LE transport over noble (@abandonware/noble), loaded lazily: on a
 * box without a Bluetooth adapter (or in a container) requiring noble throws
 * (EAFNOSUPPORT), and that must leave every other device running. Unsupported
 * Bluetooth is a PosError that is not a disconnect, so the reconnecting owner
 * shows `error: Bluetooth LE unsupported` instead of retrying forever.
 *
 * open(): wait for the adapter (poweredOn), scan until a peripheral matches by
 * local name or address, connect, find the service and its write/notify
 * characteristics, subscribe to notifications (they are our `data`).
 * write(): chunks of MTU - 3 bytes (the ATT header takes 3), written without
 * response and paced `writeIntervalMs` apart, because write-without-response
 * has no flow control and a fast burst overruns small peripherals' buffers.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import { TransportBase, notOpenError, deviceError } from './transport.js';

/** The parts of noble's objects we use (noble's own typings are loose about events). */
export interface NobleCharacteristic extends EventEmitter {
  uuid: string;
  properties: string[];
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
}
export interface NoblePeripheral extends EventEmitter {
  id: string;
  address: string;
  mtu: number | null;
  rssi: number;
  advertisement: { localName?: string; serviceUuids?: string[] };
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(
    services: string[],
    characteristics: string[],
  ): Promise<{ characteristics: NobleCharacteristic[] }>;
}
export interface NobleLike extends EventEmitter {
  readonly state: string;
  startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}

export type NobleLoader = () => NobleLike;

export const defaultNobleLoader: NobleLoader = () => createRequire(import.meta.url)('@abandonware/noble') as NobleLike;

export function bleUnsupported(why: string, cause?: unknown): PosError {
  return new PosError(
    'CODPOS_DEVICE_BLE_UNSUPPORTED',
    `Bluetooth LE is unsupported here (${why}): no usable adapter, or no permission (run as a user with CAP_NET_RAW, and check bluetoothd is not holding the adapter)`,
    {
      cause,
    },
  );
}

/** Loads noble; a throw (no adapter, EAFNOSUPPORT in containers) becomes CODPOS_DEVICE_BLE_UNSUPPORTED. */
export function loadNoble(loader: NobleLoader = defaultNobleLoader): NobleLike {
  try {
    return loader();
  } catch (error) {
    throw bleUnsupported(String((error as Error)?.message ?? error).split('\n')[0]!, error);
  }
}

export function normalizeUuid(uuid: string): string {
  return uuid.toLowerCase().replace(/-/g, '');
}

/** Waits for the adapter to power on; unsupported/unauthorized are final, off is retryable. */
export async function whenPoweredOn(noble: NobleLike, timeoutMs: number): Promise<void> {
  const verdict = (state: string): 'on' | 'final' | 'wait' =>
    state === 'poweredOn' ? 'on' : state === 'unsupported' || state === 'unauthorized' ? 'final' : 'wait';
  const now = noble.state;
  if (verdict(now) === 'on') return;
  if (verdict(now) === 'final') throw bleUnsupported(`adapter state ${now}`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      noble.off('stateChange', onState);
      reject(
        deviceError(
          'CODPOS_DEVICE_BLE_OFF',
          `Bluetooth adapter did not power on within ${timeoutMs} ms (state ${noble.state})`,
          { disconnected: true },
        ),
      );
    }, timeoutMs);
    const onState = (state: string) => {
      const v = verdict(state);
      if (v === 'wait') return;
      clearTimeout(timer);
      noble.off('stateChange', onState);
      if (v === 'on') resolve();
      else reject(bleUnsupported(`adapter state ${state}`));
    };
    noble.on('stateChange', onState);
  });
}

export interface BlePeripheralInfo {
  id: string;
  address: string;
  name?: string;
  rssi: number;
  services: string[];
}

/** Scans for `timeoutMs`, calling `onFound` per new peripheral (diag's progress). */
export async function scanBle(options: {
  timeoutMs: number;
  loader?: NobleLoader;
  onFound?: (p: BlePeripheralInfo) => void;
}): Promise<BlePeripheralInfo[]> {
  const noble = loadNoble(options.loader);
  await whenPoweredOn(noble, options.timeoutMs);
  const found = new Map<string, BlePeripheralInfo>();
  const onDiscover = (p: NoblePeripheral) => {
    if (found.has(p.id)) return;
    const info: BlePeripheralInfo = {
      id: p.id,
      address: p.address,
      name: p.advertisement.localName,
      rssi: p.rssi,
      services: p.advertisement.serviceUuids ?? [],
    };
    found.set(p.id, info);
    options.onFound?.(info);
  };
  noble.on('discover', onDiscover);
  await noble.startScanningAsync([], false);
  await new Promise((resolve) => setTimeout(resolve, options.timeoutMs));
  noble.off('discover', onDiscover);
  await noble.stopScanningAsync();
  return [...found.values()];
}

export interface BleTransportOptions {
  /** Local name or address (aa:bb:cc:dd:ee:ff). */
  peripheral: string;
  service: string;
  writeCharacteristic: string;
  notifyCharacteristic: string;
  scanTimeoutMs: number;
  /** Gap between write-without-response chunks. */
  writeIntervalMs?: number;
  loader?: NobleLoader;
  /** The pause between chunks and the clock it is measured on; tests pass ones they control. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const DEFAULT_ATT_MTU = 23;

export class BleTransport extends TransportBase {
  readonly description: string;
  private peripheral: NoblePeripheral | undefined;
  private writer: NobleCharacteristic | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly writeIntervalMs: number;
  /** Every chunk written to the peripheral (sizes are what tests check). */
  chunksWritten = 0;
  private lastChunkAt = -Infinity;

  constructor(private readonly options: BleTransportOptions) {
    super();
    if (!options.peripheral)
      throw new PosError('CODPOS_USAGE_BLE_OPTION', 'ble transport: option "peripheral" (name or address) is required');
    this.description = `ble ${options.peripheral}`;
    this.writeIntervalMs = options.writeIntervalMs ?? 10;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.writer !== undefined;
  }

  /** Bytes per GATT write: the negotiated ATT MTU minus the 3-byte ATT header. */
  get chunkSize(): number {
    return (this.peripheral?.mtu ?? DEFAULT_ATT_MTU) - 3;
  }

  async open(): Promise<void> {
    if (this.writer) return;
    const noble = loadNoble(this.options.loader);
    await whenPoweredOn(noble, this.options.scanTimeoutMs);
    const peripheral = await this.find(noble);
    await peripheral.connectAsync();
    const service = normalizeUuid(this.options.service);
    const writeUuid = normalizeUuid(this.options.writeCharacteristic);
    const notifyUuid = normalizeUuid(this.options.notifyCharacteristic);
    let characteristics: NobleCharacteristic[];
    try {
      ({ characteristics } = await peripheral.discoverSomeServicesAndCharacteristicsAsync(
        [service],
        [writeUuid, notifyUuid],
      ));
    } catch (error) {
      await peripheral.disconnectAsync().catch(() => undefined);
      throw new PosError(
        'CODPOS_DEVICE_BLE_SERVICE',
        `${this.description} has no service ${service} (${String(error)})`,
        { cause: error },
      );
    }
    const writer = characteristics.find((c) => normalizeUuid(c.uuid) === writeUuid);
    const notifier = characteristics.find((c) => normalizeUuid(c.uuid) === notifyUuid);
    if (!writer || !notifier) {
      await peripheral.disconnectAsync().catch(() => undefined);
      throw new PosError(
        'CODPOS_DEVICE_BLE_SERVICE',
        `${this.description}: service ${service} lacks characteristic ${!writer ? writeUuid : notifyUuid}`,
      );
    }
    notifier.on('data', (data: Buffer) => this.emit('data', Buffer.from(data)));
    await notifier.subscribeAsync();
    peripheral.once('disconnect', () => this.lost('peripheral disconnected'));
    this.peripheral = peripheral;
    this.writer = writer;
  }

  write(data: Buffer): Promise<void> {
    if (!this.writer) return Promise.reject(notOpenError(this.description));
    const run = this.writing.then(() => this.writeChunks(data));
    this.writing = run.catch(() => undefined);
    return run;
  }

  async drain(): Promise<void> {
    await this.writing;
  }

  async close(): Promise<void> {
    const peripheral = this.peripheral;
    this.peripheral = undefined;
    this.writer = undefined;
    if (!peripheral) return;
    peripheral.removeAllListeners('disconnect');
    await peripheral.disconnectAsync().catch(() => undefined);
    this.emit('close');
  }

  /** Writes in MTU - 3 chunks, never two chunks closer than writeIntervalMs (within a write or across writes). */
  private async writeChunks(data: Buffer): Promise<void> {
    const size = this.chunkSize;
    for (let at = 0; at < data.length; at += size) {
      const wait = this.lastChunkAt + this.writeIntervalMs - this.now();
      if (wait > 0) await this.sleep(wait);
      const writer = this.writer;
      if (!writer) throw notOpenError(this.description);
      await writer.writeAsync(data.subarray(at, at + size), true);
      this.lastChunkAt = this.now();
      this.chunksWritten++;
    }
  }

  private async find(noble: NobleLike): Promise<NoblePeripheral> {
    const wanted = this.options.peripheral.toLowerCase();
    return new Promise<NoblePeripheral>((resolve, reject) => {
      const timer = setTimeout(() => {
        noble.off('discover', onDiscover);
        void noble.stopScanningAsync().catch(() => undefined);
        reject(
          deviceError(
            'CODPOS_DEVICE_ABSENT',
            `${this.description} was not found within ${this.options.scanTimeoutMs} ms of scanning`,
            { disconnected: true },
          ),
        );
      }, this.options.scanTimeoutMs);
      const onDiscover = (p: NoblePeripheral) => {
        if (p.address?.toLowerCase() !== wanted && p.advertisement.localName?.toLowerCase() !== wanted) return;
        clearTimeout(timer);
        noble.off('discover', onDiscover);
        noble.stopScanningAsync().then(
          () => resolve(p),
          () => resolve(p),
        );
      };
      noble.on('discover', onDiscover);
      noble.startScanningAsync([], false).catch((error: unknown) => {
        clearTimeout(timer);
        noble.off('discover', onDiscover);
        reject(
          deviceError('CODPOS_DEVICE_BLE_SCAN', `cannot scan for ${this.description}: ${String(error)}`, {
            cause: error,
            disconnected: true,
          }),
        );
      });
    });
  }

  private lost(reason: string): void {
    if (!this.peripheral) return;
    this.peripheral = undefined;
    this.writer = undefined;
    this.emit(
      'close',
      deviceError('CODPOS_DEVICE_DISCONNECTED', `${this.description}: ${reason}`, { disconnected: true }),
    );
  }
}
