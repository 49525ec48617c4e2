/**
 * Listing serial ports without crashing. serialport's Linux list() spawns
 * `udevadm` and the spawn error is not caught, so on a box without udev the
 * whole process dies. We only call it when udevadm is on PATH; otherwise we
 * read /dev ourselves (ttyS*, ttyUSB*, ttyACM*, ttyAMA*, rfcomm*, and the
 * /dev/serial/by-id links), which is all a technician needs to pick a path.
 */
import { readdir, realpath, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';

/**
 * serialport, loaded on the first open (a box with only HID or BLE devices never loads it). By
 * require, not import(): in the daemon's and the CLI's bundles an import() of a package left
 * outside them has no loader to call (scripts/build/bundle.ts).
 */
const requireOnDemand = createRequire(import.meta.url);

export interface SerialPortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  /** Where the entry came from: `udev` (serialport's list) or `dev` (our /dev scan). */
  source: 'udev' | 'dev';
}

export async function hasExecutable(name: string, pathEnv = process.env.PATH ?? ''): Promise<boolean> {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export async function listSerialPorts(options: { pathEnv?: string; devDir?: string } = {}): Promise<SerialPortInfo[]> {
  if (process.platform === 'linux' && !(await hasExecutable('udevadm', options.pathEnv)))
    return scanDev(options.devDir ?? '/dev');
  try {
    const { SerialPort } = requireOnDemand('serialport') as typeof import('serialport');
    const ports = await SerialPort.list();
    return ports.map((port) => ({
      path: port.path,
      manufacturer: port.manufacturer,
      serialNumber: port.serialNumber,
      vendorId: port.vendorId,
      productId: port.productId,
      source: 'udev' as const,
    }));
  } catch {
    return scanDev(options.devDir ?? '/dev');
  }
}

const SERIAL_NAME = /^(ttyS\d+|ttyUSB\d+|ttyACM\d+|ttyAMA\d+|ttymxc\d+|rfcomm\d+)$/;

async function scanDev(devDir: string): Promise<SerialPortInfo[]> {
  const found = new Map<string, SerialPortInfo>();
  const names = await readdir(devDir).catch(() => [] as string[]);
  for (const name of names.filter((n) => SERIAL_NAME.test(n)).sort())
    found.set(join(devDir, name), { path: join(devDir, name), source: 'dev' });
  const byId = join(devDir, 'serial', 'by-id');
  for (const link of await readdir(byId).catch(() => [] as string[])) {
    const target = await realpath(join(byId, link)).catch(() => undefined);
    if (target) found.set(target, { path: target, serialNumber: link, source: 'dev' });
  }
  return [...found.values()];
}
