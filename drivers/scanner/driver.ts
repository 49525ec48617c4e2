/**
 * Barcode scanner driver. Whatever the wire (UART line mode, BLE serial, USB
 * HID POS, USB keyboard wedge), each code read becomes one `scan` event
 * `{ symbology, data, time }`. The transport is injected; for HID modes each
 * `data` chunk is one input report, as node-hid delivers them.
 */
import { EventEmitter } from 'node:events';
import { DelimiterFramer } from '../framing/delimiter.js';
import type { Transport } from '../transport/transport.js';
import { splitAim, type Symbology } from './aim.js';
import { HidPosDecoder } from './hid-pos.js';
import { KeyboardWedgeDecoder } from './keyboard-wedge.js';

export interface Scan {
  symbology: Symbology;
  data: string;
  /** When the code was read (ISO 8601). */
  time: string;
}

export type ScannerMode = 'line' | 'hid-pos' | 'hid-keyboard';

export interface ScannerOptions {
  /** `line` for serial and BLE serial; HID modes take whole reports. */
  mode?: ScannerMode;
  prefix?: string;
  /** Line mode: text after each code; empty means codes end after 50 ms of silence. */
  suffix?: string;
  aimIds?: boolean;
}

/** Silence that ends a code when the scanner sends no suffix. */
const SUFFIXLESS_GAP_MS = 50;

export class ScannerDriver extends EventEmitter {
  private readonly mode: ScannerMode;
  private readonly prefix: string;
  private readonly aimIds: boolean;
  private readonly line: DelimiterFramer | undefined;
  private readonly hidPos = new HidPosDecoder();
  private readonly wedge: KeyboardWedgeDecoder;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    readonly transport: Transport,
    options: ScannerOptions = {},
  ) {
    super();
    this.mode = options.mode ?? 'line';
    this.prefix = options.prefix ?? '';
    this.aimIds = options.aimIds ?? true;
    const suffix = options.suffix ?? '\r';
    this.line =
      this.mode === 'line'
        ? new DelimiterFramer(
            suffix ? { delimiter: suffix } : { delimiter: '\0', interByteTimeoutMs: SUFFIXLESS_GAP_MS },
          )
        : undefined;
    this.wedge = new KeyboardWedgeDecoder({ aimIds: this.aimIds });
    transport.on('data', this.onData);
  }

  async start(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async stop(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.transport.off('data', this.onData);
    await this.transport.close();
  }

  private receive(chunk: Buffer): void {
    try {
      if (this.mode === 'hid-pos') {
        const scan = this.hidPos.push(chunk);
        if (scan) this.emitScan(scan.symbology, scan.data);
      } else if (this.mode === 'hid-keyboard') {
        const scan = this.wedge.push(chunk);
        if (scan) this.emitScan(scan.symbology, scan.data);
      } else {
        for (const frame of this.line!.push(chunk)) this.lineFrame(frame);
        this.armIdleTimer();
      }
    } catch (error) {
      // Not 'error': an unhandled 'error' event would throw inside the transport's data handler.
      this.emit('protocol-error', error);
    }
  }

  private armIdleTimer(): void {
    const at = this.line!.expiresAt;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (at === undefined) return;
    this.idleTimer = setTimeout(
      () => {
        for (const frame of this.line!.expire()) this.lineFrame(frame);
      },
      Math.max(0, at - Date.now()),
    );
  }

  private lineFrame(frame: Buffer): void {
    let text = frame.toString('latin1');
    if (this.prefix && text.startsWith(this.prefix)) text = text.slice(this.prefix.length);
    text = text.replace(/^[\r\n]+/, '');
    if (!text) return;
    if (this.aimIds) {
      const split = splitAim(text);
      this.emitScan(split.symbology, split.data);
    } else this.emitScan('unknown', text);
  }

  private emitScan(symbology: Symbology, data: string): void {
    const scan: Scan = { symbology, data, time: new Date().toISOString() };
    this.emit('scan', scan);
  }
}
