/**
 * Simulated Bluetooth LE for noble's bindings seam
 * (`@abandonware/noble/with-bindings`): an adapter in a chosen state and
 * peripherals that expose one GATT service with a write and a notify
 * characteristic. What the central writes arrives as `data` on the
 * peripheral's device end (a Transport a device simulator sits on); what the
 * device end writes goes back as notifications. Each write is recorded with
 * its size and whether it was without response, so tests can check MTU
 * chunking and pacing.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { TransportBase, notOpenError } from './transport.js';
import { normalizeUuid, type NobleLike } from './ble.js';

export interface SimulatedPeripheralOptions {
  address: string;
  localName: string;
  service: string;
  writeCharacteristic: string;
  notifyCharacteristic: string;
  /** Negotiated ATT MTU. */
  mtu?: number;
}

/** The device end of a simulated peripheral. */
export class BlePeripheralEnd extends TransportBase {
  readonly description: string;
  private opened = false;
  /** What the central wrote, chunk by chunk. */
  readonly received: { size: number; withoutResponse: boolean }[] = [];
  notify: ((data: Buffer) => void) | undefined;

  constructor(readonly options: SimulatedPeripheralOptions) {
    super();
    this.description = `simulated BLE peripheral ${options.localName}`;
  }
  get isOpen(): boolean {
    return this.opened;
  }
  async open(): Promise<void> {
    this.opened = true;
  }
  async write(data: Buffer): Promise<void> {
    if (!this.opened) throw notOpenError(this.description);
    const copy = Buffer.from(data);
    setImmediate(() => this.notify?.(copy));
  }
  async drain(): Promise<void> {}
  async close(): Promise<void> {
    this.opened = false;
    this.emit('close');
  }
}

type Uuid = string;

export class SimulatedBleBindings extends EventEmitter {
  private readonly peripherals = new Map<Uuid, BlePeripheralEnd>();
  private subscribed = new Set<Uuid>();

  constructor(
    private adapterState: 'poweredOn' | 'poweredOff' | 'unsupported' | 'unauthorized' = 'poweredOn',
    peripherals: BlePeripheralEnd[] = [],
  ) {
    super();
    peripherals.forEach((p, i) => this.add(p, `sim${i}`));
  }

  add(end: BlePeripheralEnd, uuid = `sim${this.peripherals.size}`): void {
    this.peripherals.set(uuid, end);
    end.notify = (data) => {
      if (this.subscribed.has(uuid))
        this.emit(
          'read',
          uuid,
          normalizeUuid(end.options.service),
          normalizeUuid(end.options.notifyCharacteristic),
          data,
          true,
        );
    };
  }

  /** Drops a connection from the peripheral side (out of range, powered off). */
  dropConnection(uuid = 'sim0'): void {
    this.subscribed.delete(uuid);
    this.emit('disconnect', uuid, 0x08);
  }

  // ----- the bindings interface noble calls -----
  init(): void {
    setImmediate(() => this.emit('stateChange', this.adapterState));
  }
  setScanParameters(): void {}
  startScanning(): void {
    setImmediate(() => {
      this.emit('scanStart', false);
      for (const [uuid, end] of this.peripherals) {
        const o = end.options;
        this.emit(
          'discover',
          uuid,
          o.address,
          'public',
          true,
          { localName: o.localName, serviceUuids: [normalizeUuid(o.service)] },
          -42,
          true,
        );
      }
    });
  }
  stopScanning(): void {
    setImmediate(() => this.emit('scanStop'));
  }
  connect(uuid: Uuid): void {
    const end = this.peripherals.get(uuid);
    setImmediate(() => {
      if (!end) return this.emit('connect', uuid, new Error('no such peripheral'));
      if (end.options.mtu) this.emit('onMtu', uuid, end.options.mtu);
      this.emit('connect', uuid, null);
    });
  }
  cancelConnect(): void {}
  disconnect(uuid: Uuid): void {
    this.subscribed.delete(uuid);
    setImmediate(() => this.emit('disconnect', uuid));
  }
  updateRssi(uuid: Uuid): void {
    setImmediate(() => this.emit('rssiUpdate', uuid, -42));
  }
  discoverServices(uuid: Uuid, wanted: string[]): void {
    const end = this.peripherals.get(uuid)!;
    const service = normalizeUuid(end.options.service);
    setImmediate(() =>
      this.emit('servicesDiscover', uuid, wanted.length === 0 || wanted.includes(service) ? [service] : []),
    );
  }
  discoverIncludedServices(uuid: Uuid, service: string): void {
    setImmediate(() => this.emit('includedServicesDiscover', uuid, service, []));
  }
  discoverCharacteristics(uuid: Uuid, service: string): void {
    const o = this.peripherals.get(uuid)!.options;
    setImmediate(() =>
      this.emit('characteristicsDiscover', uuid, service, [
        { uuid: normalizeUuid(o.writeCharacteristic), properties: ['write', 'writeWithoutResponse'] },
        { uuid: normalizeUuid(o.notifyCharacteristic), properties: ['notify'] },
      ]),
    );
  }
  write(uuid: Uuid, service: string, characteristic: string, data: Buffer, withoutResponse: boolean): void {
    const end = this.peripherals.get(uuid)!;
    const mtu = end.options.mtu ?? 23;
    if (data.length > mtu - 3) {
      // A real stack rejects an ATT write longer than MTU - 3; make the fault loud.
      this.emit('warning', `write of ${data.length} bytes exceeds MTU ${mtu} - 3`);
    }
    end.received.push({ size: data.length, withoutResponse });
    const copy = Buffer.from(data);
    setImmediate(() => {
      if (end.isOpen) end.emit('data', copy);
      this.emit('write', uuid, service, characteristic);
    });
  }
  notify(uuid: Uuid, service: string, characteristic: string, on: boolean): void {
    if (on) this.subscribed.add(uuid);
    else this.subscribed.delete(uuid);
    setImmediate(() => this.emit('notify', uuid, service, characteristic, on));
  }
  read(): void {}
  broadcast(): void {}
  discoverDescriptors(uuid: Uuid, service: string, characteristic: string): void {
    setImmediate(() => this.emit('descriptorsDiscover', uuid, service, characteristic, []));
  }
  readValue(): void {}
  writeValue(): void {}
  readHandle(): void {}
  writeHandle(): void {}
  reset(): void {}
}

/** A noble instance on simulated bindings, through noble's own with-bindings seam. */
export function simulatedNoble(bindings: SimulatedBleBindings): NobleLike {
  const withBindings = createRequire(import.meta.url)('@abandonware/noble/with-bindings') as (
    bindings: unknown,
  ) => NobleLike;
  return withBindings(bindings);
}
