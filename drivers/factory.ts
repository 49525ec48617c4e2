/**
 * Builds each device from its config section (config/schema.ts
 * `devices.<scanner|cardReader|pinpad|printer>`): the transport the config
 * names, wrapped in a ReconnectingTransport with the device's backoff, and
 * the driver on top. `transport.kind: sim` puts the device's simulator on the
 * other end of an in-memory pair, in-process; the simulators come from the
 * simulator kit (drivers/sim-kit.ts), which `buildDevices` loads only when a
 * device is simulated, and which the single-device builders are given in
 * `deps.sims`. Nothing is opened here: the
 * owner calls `driver.start()` (which never throws for a missing device; the
 * link's state says why it is offline or in error).
 */
import type { Config } from '../config/schema.js';
import { memoryPair } from './transport/memory.js';
import { SerialTransport } from './transport/serial.js';
import { HidTransport, type NodeHidLoader } from './transport/hid.js';
import { BleTransport, type NobleLoader } from './transport/ble.js';
import { ReconnectingTransport } from './transport/reconnecting.js';
import type { Transport } from './transport/transport.js';
import { ScannerDriver, type ScannerMode } from './scanner/driver.js';
import type { ScannerSim } from './scanner/sim.js';
import { CardReaderDriver } from './card-reader/driver.js';
import type { CardReaderSim } from './card-reader/sim.js';
import { PinpadDriver } from './pinpad/driver.js';
import type { PinpadSim } from './pinpad/sim.js';
import { PrinterDriver } from './printer/driver.js';
import type { PrinterSim } from './printer/sim.js';
import { printerProfile } from './printer/profiles.js';
import { HID_POS_USAGE_PAGE } from './scanner/hid-pos.js';
import { PosError } from '../config/errors.js';
import type { SimKit } from './sim-kit.js';

type Devices = Config['devices'];
type TransportSettings = Devices['scanner']['transport'];

export interface FactoryDeps {
  hidLoader?: NodeHidLoader;
  nobleLoader?: NobleLoader;
  /** The simulators, for a device whose transport is `sim` (`loadSimKit()`). */
  sims?: SimKit;
}

/** Loads the simulator kit (a module of its own, so a box with real devices never loads it). */
export async function loadSimKit(): Promise<SimKit> {
  return (await import('./sim-kit.js')).SIM_KIT;
}

function simKit(deps: FactoryDeps, device: string): SimKit {
  if (deps.sims) return deps.sims;
  throw new PosError(
    'CODPOS_DEVICE_SIM_NOT_LOADED',
    `${device}: transport.kind is sim but the simulators were not loaded (build it with { sims: await loadSimKit() }, or through buildDevices)`,
  );
}

export interface BuiltDevice<Driver, Sim> {
  link: ReconnectingTransport;
  driver: Driver;
  /** Present when the config says `transport.kind: sim`. */
  sim?: Sim;
}

/** The transport a config section names; `sim` is handled by the build* functions. */
export function transportFor(
  settings: TransportSettings,
  baudRate: number,
  deps: FactoryDeps = {},
  usagePage?: number,
): Transport {
  switch (settings.kind) {
    case 'serial':
      return new SerialTransport({ path: settings.path, baudRate });
    case 'hid':
      return new HidTransport({
        vendorId: settings.vendorId,
        productId: settings.productId,
        usagePage,
        loader: deps.hidLoader,
      });
    case 'ble':
      return new BleTransport({
        peripheral: settings.peripheral,
        service: settings.service,
        writeCharacteristic: settings.writeCharacteristic,
        notifyCharacteristic: settings.notifyCharacteristic,
        scanTimeoutMs: settings.scanTimeoutMs,
        loader: deps.nobleLoader,
      });
    case 'sim':
      return memoryPair('simulated device').host;
  }
}

function simPair(name: string) {
  return memoryPair(`simulated ${name}, in-process`);
}

export function buildScanner(
  settings: Devices['scanner'],
  deps: FactoryDeps = {},
): BuiltDevice<ScannerDriver, ScannerSim> {
  const t = settings.transport;
  const mode: ScannerMode = t.kind === 'hid' ? (t.mode === 'keyboard' ? 'hid-keyboard' : 'hid-pos') : 'line';
  const lineOptions = { prefix: settings.prefix, suffix: settings.suffix, aimIds: settings.aimIds };
  if (t.kind === 'sim') {
    const { ScannerSim } = simKit(deps, 'scanner');
    const { host, device } = simPair('scanner');
    const link = new ReconnectingTransport(host, settings.reconnect);
    return {
      link,
      driver: new ScannerDriver(link, { mode, ...lineOptions }),
      sim: new ScannerSim(device, lineOptions),
    };
  }
  const usagePage = t.kind === 'hid' ? (t.mode === 'keyboard' ? 0x01 : HID_POS_USAGE_PAGE) : undefined;
  const link = new ReconnectingTransport(transportFor(t, settings.baudRate, deps, usagePage), settings.reconnect);
  return { link, driver: new ScannerDriver(link, { mode, ...lineOptions }) };
}

export function buildCardReader(
  settings: Devices['cardReader'],
  deps: FactoryDeps = {},
): BuiltDevice<CardReaderDriver, CardReaderSim> {
  const options = { apduTimeoutMs: settings.apduTimeoutMs };
  if (settings.transport.kind === 'sim') {
    const { CardReaderSim } = simKit(deps, 'card reader');
    const { host, device } = simPair('card reader');
    const link = new ReconnectingTransport(host, settings.reconnect);
    return { link, driver: new CardReaderDriver(link, options), sim: new CardReaderSim(device) };
  }
  const link = new ReconnectingTransport(transportFor(settings.transport, settings.baudRate, deps), settings.reconnect);
  return { link, driver: new CardReaderDriver(link, options) };
}

/** The simulator's key material from the config: a 20-hex KSN is TDES DUKPT, a 24-hex one AES DUKPT. */
export function pinpadSimOptions(settings: Devices['pinpad']) {
  const ksn = settings.sim.ksn;
  return {
    bdk: settings.sim.bdk,
    ...(ksn.length === 24 ? { aesKsn: ksn } : { ksn }),
    dukpt: settings.dukpt,
    entryTimeoutMs: settings.entryTimeoutMs,
  };
}

export function buildPinpad(settings: Devices['pinpad'], deps: FactoryDeps = {}): BuiltDevice<PinpadDriver, PinpadSim> {
  const options = { dukpt: settings.dukpt, entryTimeoutMs: settings.entryTimeoutMs };
  if (settings.transport.kind === 'sim') {
    const { PinpadSim } = simKit(deps, 'PIN pad');
    const { host, device } = simPair('PIN pad');
    const link = new ReconnectingTransport(host, settings.reconnect);
    return { link, driver: new PinpadDriver(link, options), sim: new PinpadSim(device, pinpadSimOptions(settings)) };
  }
  const link = new ReconnectingTransport(transportFor(settings.transport, settings.baudRate, deps), settings.reconnect);
  return { link, driver: new PinpadDriver(link, options) };
}

export function buildPrinter(
  settings: Devices['printer'],
  deps: FactoryDeps = {},
): BuiltDevice<PrinterDriver, PrinterSim> {
  const profile = printerProfile(settings.profile);
  const options = { profile, codePage: settings.codePage, statusPollMs: settings.statusPollMs };
  if (settings.transport.kind === 'sim') {
    const { PrinterSim } = simKit(deps, 'printer');
    const { host, device } = simPair('printer');
    const link = new ReconnectingTransport(host, settings.reconnect);
    return { link, driver: new PrinterDriver(link, options), sim: new PrinterSim(device, { profile }) };
  }
  const link = new ReconnectingTransport(transportFor(settings.transport, settings.baudRate, deps), settings.reconnect);
  return { link, driver: new PrinterDriver(link, options) };
}

export interface BuiltDevices {
  scanner?: BuiltDevice<ScannerDriver, ScannerSim>;
  cardReader?: BuiltDevice<CardReaderDriver, CardReaderSim>;
  pinpad?: BuiltDevice<PinpadDriver, PinpadSim>;
  printer?: BuiltDevice<PrinterDriver, PrinterSim>;
}

/** Every enabled device; loads the simulator kit first when one of them is simulated. */
export async function buildDevices(devices: Devices, deps: FactoryDeps = {}): Promise<BuiltDevices> {
  const anySim = [devices.scanner, devices.cardReader, devices.pinpad, devices.printer].some(
    (d) => d.enabled && d.transport.kind === 'sim',
  );
  if (anySim && !deps.sims) deps = { ...deps, sims: await loadSimKit() };
  return {
    ...(devices.scanner.enabled ? { scanner: buildScanner(devices.scanner, deps) } : {}),
    ...(devices.cardReader.enabled ? { cardReader: buildCardReader(devices.cardReader, deps) } : {}),
    ...(devices.pinpad.enabled ? { pinpad: buildPinpad(devices.pinpad, deps) } : {}),
    ...(devices.printer.enabled ? { printer: buildPrinter(devices.printer, deps) } : {}),
  };
}

/**
 * Starts a built device: its simulator first (if any), then the driver. Never
 * throws for an absent or unsupported device: the link's state tells why.
 */
export async function startDevice(
  device: BuiltDevice<{ start(): Promise<void> }, { start(): Promise<void> }>,
): Promise<void> {
  if (device.sim) await device.sim.start();
  await device.driver.start();
}

export async function stopDevice(
  device: BuiltDevice<{ stop(): Promise<void> }, { stop(): Promise<void> }>,
): Promise<void> {
  await device.driver.stop();
  if (device.sim) await device.sim.stop();
}
