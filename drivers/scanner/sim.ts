/**
 * Scanner simulator: sits on the device end of a transport and "reads" codes
 * on command, in the configured wire format (line mode with prefix, AIM id and
 * suffix; HID POS reports; keyboard-wedge reports).
 */
import type { Transport } from '../transport/transport.js';
import { aimOfSymbology, type Symbology } from './aim.js';
import { encodeHidPosReports } from './hid-pos.js';
import { encodeKeyboardReports } from './keyboard-wedge.js';
import type { ScannerMode } from './driver.js';

export interface ScannerSimOptions {
  mode?: ScannerMode;
  prefix?: string;
  suffix?: string;
  aimIds?: boolean;
}

export class ScannerSim {
  constructor(
    readonly transport: Transport,
    private readonly options: ScannerSimOptions = {},
  ) {}

  async start(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async stop(): Promise<void> {
    await this.transport.close();
  }

  /** Reads one code. */
  async scan(data: string, symbology: Symbology = 'Code 128'): Promise<void> {
    const aim = this.options.aimIds === false ? '' : aimOfSymbology(symbology);
    const mode = this.options.mode ?? 'line';
    if (mode === 'line') {
      await this.transport.write(
        Buffer.from(`${this.options.prefix ?? ''}${aim}${data}${this.options.suffix ?? '\r'}`, 'latin1'),
      );
      return;
    }
    const reports = mode === 'hid-pos' ? encodeHidPosReports(data, aim) : encodeKeyboardReports(aim + data);
    for (const report of reports) await this.transport.write(report);
  }
}
