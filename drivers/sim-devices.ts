/**
 * All four device simulators on real pseudo-terminal pairs, so a daemon (or a
 * test) configured with real serial paths runs against them through the
 * native serialport binding. Each device gets `<dir>/<name>` (the end for the
 * driver) and `<dir>/<name>.sim` (the simulator's end). `unplug(name)` kills
 * that device's PTY pair the way pulling a cable looks; `plug(name)` brings it
 * back at the same paths, and both ends reopen by themselves.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PosError } from '../config/errors.js';
import { openPtyPair, type PtyPair } from './transport/pty-pair.js';
import { SerialTransport } from './transport/serial.js';
import { ReconnectingTransport } from './transport/reconnecting.js';
import { ScannerSim } from './scanner/sim.js';
import { CardReaderSim } from './card-reader/sim.js';
import { PinpadSim, type PinpadSimOptions } from './pinpad/sim.js';
import { PrinterSim } from './printer/sim.js';
import { printerProfile } from './printer/profiles.js';

export const SIM_DEVICE_NAMES = ['scanner', 'card-reader', 'pinpad', 'printer'] as const;
export type SimDeviceName = (typeof SIM_DEVICE_NAMES)[number];

export interface SimDevicesOptions {
  dir: string;
  scanner?: { prefix?: string; suffix?: string; aimIds?: boolean };
  pinpad: PinpadSimOptions;
  printer?: { profile?: string };
  /** How fast the simulator ends reopen after plug(). */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /** How often the serial ends check their device node still exists. */
  livenessMs?: number;
}

export interface SimDevices {
  /** Paths for the drivers (what goes in the daemon's config). */
  paths: Record<SimDeviceName, string>;
  scanner: ScannerSim;
  cardReader: CardReaderSim;
  pinpad: PinpadSim;
  printer: PrinterSim;
  unplug(name: SimDeviceName): void;
  plug(name: SimDeviceName): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimDevices(options: SimDevicesOptions): Promise<SimDevices> {
  mkdirSync(options.dir, { recursive: true });
  const pairs = new Map<SimDeviceName, PtyPair>();
  const ends = new Map<SimDeviceName, ReconnectingTransport>();
  const reconnect = options.reconnect ?? { initialDelayMs: 50, maxDelayMs: 500 };
  const hostPath = (name: SimDeviceName) => join(options.dir, name);
  const devicePath = (name: SimDeviceName) => join(options.dir, `${name}.sim`);

  for (const name of SIM_DEVICE_NAMES) {
    pairs.set(name, await openPtyPair(hostPath(name), devicePath(name)));
    ends.set(
      name,
      new ReconnectingTransport(
        new SerialTransport({ path: devicePath(name), baudRate: 115200, livenessMs: options.livenessMs ?? 200 }),
        reconnect,
      ),
    );
  }
  const scanner = new ScannerSim(ends.get('scanner')!, options.scanner);
  const cardReader = new CardReaderSim(ends.get('card-reader')!);
  const pinpad = new PinpadSim(ends.get('pinpad')!, options.pinpad);
  const printer = new PrinterSim(ends.get('printer')!, { profile: printerProfile(options.printer?.profile ?? '58mm') });
  for (const end of ends.values()) {
    await end.open();
    if (end.state.state !== 'online')
      throw new PosError(
        'CODPOS_DEVICE_SIM',
        `simulator end ${end.description} did not open: ${end.state.reason ?? ''}`,
      );
  }

  return {
    paths: Object.fromEntries(SIM_DEVICE_NAMES.map((n) => [n, hostPath(n)])) as Record<SimDeviceName, string>,
    scanner,
    cardReader,
    pinpad,
    printer,
    unplug(name) {
      pairs.get(name)?.kill();
    },
    async plug(name) {
      await pairs.get(name)?.close();
      pairs.set(name, await openPtyPair(hostPath(name), devicePath(name)));
      await ends.get(name)!.whenOnline();
    },
    async stop() {
      for (const end of ends.values()) await end.close();
      for (const pair of pairs.values()) await pair.close();
    },
  };
}
