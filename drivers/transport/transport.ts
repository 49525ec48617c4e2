/**
 * The one seam between drivers and wires (in the spirit of serialport's
 * BindingPortInterface): open, write, drain, close, and `data`/`close` events.
 * Serial, HID, BLE and in-memory transports implement it; drivers take one in
 * their constructor and never import serialport, node-hid or noble themselves.
 *
 * A transport that loses its device emits `close` with a PosError whose
 * `disconnected` flag is set; ReconnectingTransport uses that flag to reopen.
 */
import { EventEmitter } from 'node:events';
import { PosError, type ErrorCode } from '../../config/errors.js';

export interface TransportEvents {
  data: [chunk: Buffer];
  /** The link ended; `error` is set when it was not a close() by the owner. */
  close: [error?: PosError];
}

export interface Transport {
  /** Human words for logs and diag: `serial /dev/ttyS1 @ 9600`, `hid 0c2e:0b61`, ... */
  readonly description: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  write(data: Buffer): Promise<void>;
  /** Resolves when everything written so far has left the host. */
  drain(): Promise<void>;
  close(): Promise<void>;
  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
  off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
  once<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
}

/** What the runtime shows for a device: online, offline (unplugged, being reopened) or error with a reason. */
export type DeviceStateName = 'online' | 'offline' | 'error';
export interface DeviceState {
  state: DeviceStateName;
  reason?: string;
}

/** Shared event plumbing for the concrete transports. */
export abstract class TransportBase extends EventEmitter implements Transport {
  abstract readonly description: string;
  abstract readonly isOpen: boolean;
  abstract open(): Promise<void>;
  abstract write(data: Buffer): Promise<void>;
  abstract drain(): Promise<void>;
  abstract close(): Promise<void>;

  override on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }
  override off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
  override once<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }
}

/** A device error; `disconnected` tells the owner to reopen rather than give up. */
export function deviceError(
  code: ErrorCode,
  message: string,
  options: { cause?: unknown; disconnected?: boolean; details?: Record<string, unknown> } = {},
): PosError {
  return new PosError(code, message, options);
}

export function notOpenError(description: string): PosError {
  return new PosError('CODPOS_DEVICE_NOT_OPEN', `${description} is not open`, { disconnected: true });
}
