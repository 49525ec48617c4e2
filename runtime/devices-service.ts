/**
 * The devices as one daemon service: builds the four drivers from the config,
 * starts them (a missing or unsupported device never stops the daemon: its link
 * says why it is offline), logs every state change a technician would want to
 * see, and reports degraded health naming each device that is not online.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from './log.js';
import type { Health, Service } from './service.js';
import { buildDevices, startDevice, stopDevice, type BuiltDevices, type FactoryDeps } from '../drivers/factory.js';
import type { DeviceState } from '../drivers/transport/transport.js';
import type { EventBus } from './api/events.js';
import type { Scan } from '../drivers/scanner/driver.js';

type DeviceName = keyof BuiltDevices;
type AnyDevice = NonNullable<BuiltDevices[DeviceName]>;

export class DevicesService implements Service {
  readonly name = 'devices';
  private built: BuiltDevices = {};
  private readonly unsubscribe: Array<() => void> = [];
  /** The last state logged per device, so a state is logged once however it was reached. */
  private readonly logged = new Map<DeviceName, string>();

  constructor(
    private readonly config: Config['devices'],
    private readonly log: Logger,
    private readonly deps: FactoryDeps = {},
    /** Where device state changes are published for the local API's event stream. */
    private readonly events?: EventBus,
  ) {}

  /** The built devices, for the services started after this one (payment flow, receipts). */
  get devices(): BuiltDevices {
    return this.built;
  }

  async start(): Promise<void> {
    this.built = await buildDevices(this.config, this.deps);
    // The four open side by side: each has its own link, and a slow one (a reader answering its
    // reset late) should not hold the others.
    await Promise.all(
      this.entries().map(async ([name, device]) => {
        this.unsubscribe.push(device.link.onState((state) => this.logState(name, state)));
        await startDevice(device);
        this.logState(name, device.link.state);
      }),
    );
    if (this.events) this.publishDeviceEvents(this.events);
  }

  /**
   * What the screen app follows: cards in and out, swipes, barcodes, the printer's state.
   * A swipe is published without its tracks: card data never goes on the bus.
   */
  private publishDeviceEvents(events: EventBus): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own listener type; each caller types its arguments
    const on = (emitter: NodeJS.EventEmitter, name: string, listener: (...args: any[]) => void) => {
      emitter.on(name, listener);
      this.unsubscribe.push(() => emitter.off(name, listener));
    };
    const reader = this.built.cardReader?.driver;
    if (reader) {
      on(reader, 'card-inserted', (info: { chip: boolean }) => events.publish('card.inserted', { chip: info.chip }));
      on(reader, 'card-removed', () => events.publish('card.removed'));
      on(reader, 'swipe', () => events.publish('card.swiped'));
      on(reader, 'chip-mute', () => events.publish('card.chip-mute'));
    }
    const scanner = this.built.scanner?.driver;
    if (scanner)
      on(scanner, 'scan', (scan: Scan) =>
        events.publish('scanner.scan', { symbology: scan.symbology, data: scan.data }),
      );
    const printer = this.built.printer?.driver;
    if (printer)
      on(printer, 'state', (state: { state: string; reason?: string }) =>
        events.publish('printer.state', { ...state }),
      );
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    for (const [, device] of this.entries().reverse()) await stopDevice(device);
    this.built = {};
  }

  health(): Health {
    const problems = this.entries()
      .filter(([, device]) => device.link.state.state !== 'online')
      .map(
        ([name, device]) =>
          `${name} ${device.link.state.state}${device.link.state.reason ? `: ${device.link.state.reason}` : ''}`,
      );
    return problems.length > 0 ? { state: 'degraded', reason: problems.join('; ') } : { state: 'up' };
  }

  /** Each device's link state, for status screens. */
  states(): Partial<Record<DeviceName, DeviceState>> {
    return Object.fromEntries(this.entries().map(([name, device]) => [name, device.link.state]));
  }

  private entries(): Array<[DeviceName, AnyDevice]> {
    return (Object.entries(this.built) as Array<[DeviceName, AnyDevice | undefined]>).filter(
      (entry): entry is [DeviceName, AnyDevice] => entry[1] !== undefined,
    );
  }

  private logState(device: DeviceName, state: DeviceState): void {
    const key = `${state.state}:${state.reason ?? ''}`;
    if (this.logged.get(device) === key) return;
    this.logged.set(device, key);
    const level = state.state === 'online' ? 'info' : 'warn';
    this.log[level]({ device, state: state.state, ...(state.reason ? { reason: state.reason } : {}) }, 'device state');
    this.events?.publish('device.state', {
      device,
      state: state.state,
      ...(state.reason ? { reason: state.reason } : {}),
    });
  }
}
