/**
 * PIN pad simulator: the only place in codpos where a clear PIN exists. It
 * speaks the PIN pad protocol on the device end of a transport, shows Z2 text,
 * takes key presses from a script (`press('1234')`, `enter()`, `cancelKey()`),
 * and answers a PIN entry with the KSN and the ISO 9564 block encrypted under
 * the DUKPT PIN key it derives from its configured BDK (emv/crypto does the
 * DUKPT and PIN block work). The digits are wiped once the block is built.
 */
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import { deriveTdesKeys, nextKsn, parseTdesKsn, type TdesKsn } from '../../emv/crypto/dukpt-tdes.js';
import { deriveAesKeys, nextAesKsn, parseAesKsn, type AesKsn } from '../../emv/crypto/dukpt-aes.js';
import { encodePinBlock } from '../../emv/crypto/pin-block.js';
import type { AckNakLink } from '../link/ack-nak.js';
import type { Transport } from '../transport/transport.js';
import { pinpadLink, pinpadPacket, SI } from './link.js';
import {
  encodePadMessage,
  parseHostMessage,
  type DukptMode,
  type EntryResultCode,
  type HostMessage,
  type PadMessage,
} from './protocol.js';

/** The codpos extension's requests: identify (ZX1) and AES DUKPT PIN entry (ZA60). */
function isExtension(message: HostMessage): boolean {
  return message.type === 'identify' || (message.type === 'pin-entry' && message.dukpt !== 'tdes');
}

export interface PinpadSimOptions {
  /** Base derivation key (hex): 16 bytes for TDES DUKPT / AES-128, 32 for AES-256. */
  bdk: string;
  /** Initial KSN: 10 bytes (20 hex) for TDES DUKPT. */
  ksn?: string;
  /** Initial KSN for AES DUKPT: 12 bytes (24 hex). */
  aesKsn?: string;
  /** What `identify` reports as the pad's configured mode. */
  dukpt?: DukptMode;
  entryTimeoutMs?: number;
  model?: string;
  /**
   * Behave like a standard VeriFone pad that knows none of the codpos extension
   * (docs/pinpad-protocol.md): `ZX1` and `ZA60` are ACKed like any good packet and
   * never answered. Tests of the driver's and the diag's fallbacks use it.
   */
  standardOnly?: boolean;
}

interface Entry {
  dukpt: DukptMode;
  pan: string;
  timer: NodeJS.Timeout;
}

export class PinpadSim extends EventEmitter {
  private readonly link: AckNakLink;
  private tdesKsn: TdesKsn | undefined;
  private aesKsn: AesKsn | undefined;
  private entry: Entry | undefined;
  /** Digits typed so far: kept as bytes so they can be wiped. */
  private digits = Buffer.alloc(12);
  private digitCount = 0;
  /** What the pad's display shows. */
  screen = '';
  /** PIN entries answered with a block. */
  entries = 0;

  constructor(
    readonly transport: Transport,
    private readonly options: PinpadSimOptions,
  ) {
    super();
    if (!/^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{64})$/.test(options.bdk))
      throw new PosError('CODPOS_USAGE_PINPAD_SIM', 'PIN pad simulator: option "bdk" must be 32 or 64 hex digits');
    this.tdesKsn = options.ksn ? parseTdesKsn(options.ksn) : undefined;
    this.aesKsn = options.aesKsn ? parseAesKsn(options.aesKsn) : undefined;
    this.link = pinpadLink(transport, 'PIN pad simulator');
    this.link.on('frame', (payload: Buffer, start: number) => this.request(payload.toString('latin1'), start === SI));
  }

  async start(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async stop(): Promise<void> {
    this.endEntry();
    this.link.detach();
    await this.transport.close();
  }

  get entering(): boolean {
    return this.entry !== undefined;
  }

  /** Presses digit keys. */
  press(keys: string): void {
    if (!/^\d*$/.test(keys))
      throw new PosError(
        'CODPOS_USAGE_PINPAD_KEYS',
        'PIN pad simulator: press() takes digits; use enter(), clearKey() or cancelKey()',
      );
    if (!this.entry) return;
    for (const key of keys) {
      if (this.digitCount < this.digits.length) this.digits[this.digitCount++] = key.charCodeAt(0);
    }
    this.screen = '*'.repeat(this.digitCount);
  }

  clearKey(): void {
    this.wipe();
    this.screen = '';
  }

  cancelKey(): void {
    if (this.entry)
      this.finish({
        type: 'entry-failed',
        dukpt: this.entry.dukpt === 'tdes' ? 'tdes' : 'aes',
        code: '00005',
        reason: '',
      });
  }

  /** Presses the green key: builds and sends the encrypted PIN block. */
  enter(): void {
    const entry = this.entry;
    if (!entry) return;
    if (this.digitCount < 4) return; // a real pad beeps and waits for more digits
    const pin = this.digits.subarray(0, this.digitCount).toString('latin1');
    try {
      if (entry.dukpt === 'tdes') {
        if (!this.tdesKsn) throw new PosError('CODPOS_DEVICE_PINPAD_KEY', 'no TDES KSN loaded');
        const ksn = nextKsn(this.tdesKsn);
        this.tdesKsn = ksn;
        const block = encodePinBlock({
          format: 0,
          pin,
          pan: entry.pan,
          key: deriveTdesKeys(this.options.bdk, ksn).pinKey,
        });
        this.finish({
          type: 'pin-block',
          dukpt: 'tdes',
          ksn: ksn.toString('hex').toUpperCase(),
          block: block.toString('hex').toUpperCase(),
        });
      } else {
        if (!this.aesKsn) throw new PosError('CODPOS_DEVICE_PINPAD_KEY', 'no AES KSN loaded');
        const ksn = nextAesKsn(this.aesKsn);
        this.aesKsn = ksn;
        const block = encodePinBlock({
          format: 4,
          pin,
          pan: entry.pan,
          key: deriveAesKeys(this.options.bdk, ksn, entry.dukpt).pinKey,
        });
        this.finish({
          type: 'pin-block',
          dukpt: 'aes',
          ksn: ksn.toString('hex').toUpperCase(),
          block: block.toString('hex').toUpperCase(),
        });
      }
      this.entries++;
    } catch {
      this.finish({ type: 'entry-failed', dukpt: entry.dukpt === 'tdes' ? 'tdes' : 'aes', code: '00008', reason: '' });
    }
  }

  /** Types a whole PIN and presses enter. */
  enterPin(pin: string): void {
    this.press(pin);
    this.enter();
  }

  private request(payload: string, control: boolean): void {
    let message;
    try {
      message = parseHostMessage(payload, control);
    } catch (error) {
      this.emit('unknown', payload.slice(0, 4), error);
      return;
    }
    if (this.options.standardOnly && isExtension(message)) {
      this.emit('unknown', payload.slice(0, 4));
      return;
    }
    if (message.type === 'display') {
      this.screen = message.clear ? message.text : this.screen + message.text;
      this.emit('display', this.screen);
    } else if (message.type === 'cancel') {
      if (this.entry)
        this.finish({
          type: 'entry-failed',
          dukpt: this.entry.dukpt === 'tdes' ? 'tdes' : 'aes',
          code: '00007',
          reason: '',
        });
    } else if (message.type === 'identify') {
      const dukpt = this.options.dukpt ?? 'tdes';
      let ksn: string;
      try {
        ksn =
          dukpt === 'tdes'
            ? this.tdesKsn
              ? nextKsn(this.tdesKsn).toString('hex')
              : ''
            : this.aesKsn
              ? nextAesKsn(this.aesKsn).toString('hex')
              : '';
      } catch {
        ksn = '';
      }
      void this.reply({
        type: 'identity',
        selfTestOk: ksn !== '',
        dukpt,
        ksn: ksn.toUpperCase() || '0',
        model: this.options.model ?? 'codpos-sim PINpad 1000SE-compatible',
      });
    } else {
      const family = message.dukpt === 'tdes' ? 'tdes' : 'aes';
      if (this.entry) {
        void this.reply({ type: 'entry-failed', dukpt: family, code: '00009', reason: '' });
        return;
      }
      const fail = (code: EntryResultCode) =>
        void this.reply({ type: 'entry-failed', dukpt: family, code, reason: '' });
      if (message.pan.length < 12) return fail('00009');
      this.wipe();
      this.entry = {
        dukpt: message.dukpt,
        pan: message.pan,
        timer: setTimeout(
          () => this.finish({ type: 'entry-failed', dukpt: family, code: '00006', reason: '' }),
          this.options.entryTimeoutMs ?? 60_000,
        ),
      };
      this.screen = 'ENTER PIN';
      this.emit('prompt', { dukpt: message.dukpt });
    }
  }

  private finish(answer: PadMessage): void {
    this.endEntry();
    this.screen = '';
    void this.reply(answer);
  }

  private endEntry(): void {
    if (this.entry) clearTimeout(this.entry.timer);
    this.entry = undefined;
    this.wipe();
  }

  private wipe(): void {
    this.digits.fill(0);
    this.digitCount = 0;
  }

  private async reply(message: PadMessage): Promise<void> {
    try {
      await this.link.send(pinpadPacket(encodePadMessage(message), false));
    } catch (error) {
      this.emit('link-error', error);
    }
  }
}
