/**
 * Notices the box's network changing (the link coming up after a dead zone, a new address
 * from DHCP, a switch from Wi-Fi to the mobile modem) so the uplink can ask the back-end at
 * once instead of at its next probe. Node has no netlink API, so this polls
 * `os.networkInterfaces()` (one getifaddrs call, microseconds) and compares a fingerprint of
 * the non-internal addresses. Where the interfaces come from is a seam: a test hands in its
 * own list and changes it, no real interface needed.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export type InterfaceSource = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The non-internal addresses, sorted: loopback comes and goes with nothing. */
export function networkFingerprint(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string {
  const addresses: string[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) if (!info.internal) addresses.push(`${name}/${info.family}/${info.address}`);
  }
  return addresses.sort().join(',');
}

export class NetworkWatch {
  private last: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onChange: () => void,
    private readonly source: InterfaceSource = networkInterfaces,
  ) {
    this.last = this.read();
  }

  /** Checks every `intervalMs` (the timer does not keep the process up). */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Compares the addresses with the last look; calls `onChange` and returns true when they differ. */
  check(): boolean {
    const now = this.read();
    if (now === this.last) return false;
    this.last = now;
    this.onChange();
    return true;
  }

  private read(): string {
    try {
      return networkFingerprint(this.source());
    } catch {
      // Some sandboxes refuse getifaddrs: then there is nothing to watch, and nothing changes.
      return this.last ?? '';
    }
  }
}
