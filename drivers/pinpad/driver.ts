/**
 * PIN pad driver. The daemon asks for a PIN and gets back only what leaves a
 * real PIN pad: the KSN and the ISO 9564 PIN block encrypted under the DUKPT
 * PIN key (format 0 under TDES DUKPT, format 4 under AES DUKPT). A clear PIN
 * never crosses this interface. A PIN entry that ends without a PIN (cancel on
 * the pad, timeout) is an outcome, not an error; link faults are PosErrors.
 */
import { PosError } from '../../config/errors.js';
import { AckNakDevice } from '../link/ack-nak-device.js';
import type { Transport } from '../transport/transport.js';
import { pinpadLink, pinpadPacket } from './link.js';
import { encodeHostMessage, parsePadMessage, type DukptMode, type HostMessage, type PadMessage } from './protocol.js';

export interface PinpadDriverOptions {
  dukpt?: DukptMode;
  /** How long the customer has to enter a PIN; the driver gives the pad this long plus a grace period. */
  entryTimeoutMs?: number;
  ackTimeoutMs?: number;
  /** Extra time past entryTimeoutMs before the driver gives up on a silent pad (the pad times out first). */
  answerGraceMs?: number;
}

export type PinEntryResult =
  | { outcome: 'pin'; dukpt: DukptMode; format: 0 | 4; ksn: string; pinBlock: string }
  | { outcome: 'cancelled' | 'timeout' | 'refused'; reason: string };

export interface PinpadIdentity {
  selfTestOk: boolean;
  dukpt: DukptMode;
  /** KSN the next PIN entry will use. */
  ksn: string;
  model: string;
}

/** The request awaiting its answer is tagged `accepted` once the pad ACKed it. */
export class PinpadDriver extends AckNakDevice<PadMessage, { accepted: boolean }> {
  private readonly dukpt: DukptMode;
  private readonly entryTimeoutMs: number;
  private readonly answerGraceMs: number;

  constructor(transport: Transport, options: PinpadDriverOptions = {}) {
    super(transport, pinpadLink(transport, 'PIN pad', options.ackTimeoutMs), 'PIN pad');
    this.dukpt = options.dukpt ?? 'tdes';
    this.entryTimeoutMs = options.entryTimeoutMs ?? 60_000;
    this.answerGraceMs = options.answerGraceMs ?? 2000;
    // A VeriFone pad ends a PIN entry with a bare EOT when the customer cancels or the entry times out.
    this.link.on('eot', () => this.endedByPad());
  }

  async display(text: string, options: { clear?: boolean } = {}): Promise<void> {
    await this.send({ type: 'display', text, clear: options.clear ?? true });
  }

  /** Asks the customer for a PIN bound to `pan`; resolves with KSN + encrypted block, or why there is none. */
  async requestPin(options: { pan: string; dukpt?: DukptMode }): Promise<PinEntryResult> {
    if (!/^\d{12,19}$/.test(options.pan))
      throw new PosError('CODPOS_USAGE_PAN', 'requestPin: option "pan" must be 12 to 19 digits');
    const dukpt = options.dukpt ?? this.dukpt;
    const answer = await this.exchange(
      { type: 'pin-entry', dukpt, pan: options.pan },
      this.entryTimeoutMs + this.answerGraceMs,
    );
    if (answer.type === 'pin-block')
      return {
        outcome: 'pin',
        dukpt,
        format: answer.dukpt === 'tdes' ? 0 : 4,
        ksn: answer.ksn,
        pinBlock: answer.block,
      };
    if (answer.type === 'entry-failed') {
      const outcome =
        answer.code === '00005' || answer.code === '00007'
          ? 'cancelled'
          : answer.code === '00006'
            ? 'timeout'
            : 'refused';
      return { outcome, reason: answer.reason };
    }
    throw new PosError('CODPOS_DEVICE_PINPAD_MESSAGE', 'PIN pad answered a PIN request with an identity message');
  }

  /** Ends a PIN entry in progress (the pending requestPin resolves as cancelled). */
  async cancel(): Promise<void> {
    await this.send({ type: 'cancel' });
  }

  /**
   * The codpos extension's identify + self-test (ZX1). A standard VeriFone pad does not
   * know it: it stays silent (CODPOS_DEVICE_PINPAD_TIMEOUT after `timeoutMs`, default 5 s),
   * refuses the packet (CODPOS_DEVICE_LINK_FAILED) or ends it with EOT.
   */
  async identify(options: { timeoutMs?: number } = {}): Promise<PinpadIdentity> {
    const answer = await this.exchange({ type: 'identify' }, options.timeoutMs ?? 5000);
    if (answer.type !== 'identity')
      throw new PosError('CODPOS_DEVICE_PINPAD_MESSAGE', 'PIN pad answered identify with something else');
    const { selfTestOk, dukpt, ksn, model } = answer;
    return { selfTestOk, dukpt, ksn, model };
  }

  private async send(message: HostMessage): Promise<void> {
    const { payload, control } = encodeHostMessage(message);
    await this.link.send(pinpadPacket(payload, control));
  }

  private async exchange(message: HostMessage, timeoutMs: number): Promise<PadMessage> {
    if (this.waiting) throw new PosError('CODPOS_DEVICE_PINPAD_BUSY', 'PIN pad is busy with another request');
    const entry = { accepted: false };
    const answer = this.awaitReply(entry, timeoutMs, () => {
      this.fail(
        new PosError(
          'CODPOS_DEVICE_PINPAD_TIMEOUT',
          `PIN pad on ${this.transport.description} gave no answer within ${timeoutMs} ms`,
        ),
      );
      this.send({ type: 'cancel' }).catch(() => undefined);
    });
    try {
      await this.send(message);
      entry.accepted = true;
    } catch (error) {
      this.fail(error as PosError);
    }
    return answer;
  }

  protected receive(payload: Buffer): void {
    let message: PadMessage;
    try {
      message = parsePadMessage(payload.toString('latin1'));
    } catch (error) {
      this.fail(error as PosError);
      return;
    }
    this.settle(message);
  }

  private endedByPad(): void {
    // Before the pad ACKed the request, an EOT is the link giving up (the send fails with LINK_FAILED).
    if (!this.waiting?.accepted) return;
    this.settle({
      type: 'entry-failed',
      dukpt: 'tdes',
      code: '00005',
      reason: 'the PIN pad ended the entry (EOT: cancelled or timed out on the pad)',
    });
  }
}
