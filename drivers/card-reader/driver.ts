/**
 * Card reader + MSR driver. Reports card inserted / removed, swipes (tracks)
 * and mute chips as events, and gives the EMV kernel a card channel:
 * `powerOn() -> ATR`, `transmit(apdu) -> response` with T=0 61xx/6Cxx
 * handled (see t0.ts), `powerOff()`. A reader error is a PosError naming it
 * (EMV area for card faults, DEVICE area for the reader and the link).
 */
import { PosError } from '../../config/errors.js';
import { AckNakDevice } from '../link/ack-nak-device.js';
import type { Transport } from '../transport/transport.js';
import { readerLink, readerFrame } from './link.js';
import {
  decodeFromReader,
  encodeRequest,
  isReaderEvent,
  type ReaderReply,
  type ReaderRequest,
  type SlotState,
} from './protocol.js';
import { transmitT0 } from './t0.js';

export interface CardReaderDriverOptions {
  apduTimeoutMs?: number;
  ackTimeoutMs?: number;
}

/** What the kernel needs from a reader (a virtual card in tests offers the same). */
export interface CardChannel {
  powerOn(): Promise<Buffer>;
  transmit(apdu: Buffer): Promise<Buffer>;
  powerOff(): Promise<void>;
}

type Request = { type: 'status' } | { type: 'power-on' } | { type: 'apdu'; apdu: Buffer } | { type: 'power-off' };

export class CardReaderDriver extends AckNakDevice<ReaderReply, { seq: number }> implements CardChannel {
  private readonly apduTimeoutMs: number;
  /** Starts anywhere so a restarted host is not taken for a repeat of the last run's request. */
  private seq = Math.floor(Math.random() * 255);
  private queue: Promise<unknown> = Promise.resolve();
  /** Raw exchanges with the reader (GET RESPONSE and resends included), for diag. */
  exchanges = 0;

  constructor(transport: Transport, options: CardReaderDriverOptions = {}) {
    super(transport, readerLink(transport, 'card reader', options.ackTimeoutMs), 'card reader');
    this.apduTimeoutMs = options.apduTimeoutMs ?? 5000;
  }

  async status(): Promise<{ slot: SlotState; chip: boolean }> {
    const reply = await this.request({ type: 'status' });
    if (reply.type !== 'status') throw unexpected(reply);
    return { slot: reply.slot, chip: reply.chip };
  }

  async powerOn(): Promise<Buffer> {
    const reply = await this.request({ type: 'power-on' });
    if (reply.type !== 'atr') throw unexpected(reply);
    return reply.atr;
  }

  async powerOff(): Promise<void> {
    const reply = await this.request({ type: 'power-off' });
    if (reply.type !== 'powered-off') throw unexpected(reply);
  }

  /** One command to the card, with 61xx / 6Cxx handled. */
  transmit(apdu: Buffer): Promise<Buffer> {
    return transmitT0(apdu, (command) => this.transmitRaw(command));
  }

  /** One exchange with no T=0 handling. */
  async transmitRaw(apdu: Buffer): Promise<Buffer> {
    const reply = await this.request({ type: 'apdu', apdu });
    if (reply.type !== 'apdu') throw unexpected(reply);
    return reply.response;
  }

  private request(request: Request): Promise<ReaderReply> {
    const run = this.queue.then(() => this.exchange(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(request: Request): Promise<ReaderReply> {
    this.seq = (this.seq % 255) + 1;
    const seq = this.seq;
    this.exchanges++;
    const reply = this.awaitReply({ seq }, this.apduTimeoutMs, () =>
      this.fail(
        new PosError(
          'CODPOS_DEVICE_READER_TIMEOUT',
          `card reader on ${this.transport.description} gave no answer within ${this.apduTimeoutMs} ms`,
        ),
      ),
    );
    this.link
      .send(readerFrame(encodeRequest({ seq, ...request } as ReaderRequest)))
      .catch((error: PosError) => this.fail(error));
    const answer = await reply;
    if (answer.type === 'error') {
      const code =
        answer.code === 0x02
          ? 'CODPOS_EMV_CHIP_MUTE'
          : answer.code === 0x01
            ? 'CODPOS_EMV_NO_CARD'
            : answer.code === 0x05
              ? 'CODPOS_EMV_CARD_REMOVED'
              : answer.code === 0x06
                ? 'CODPOS_EMV_NO_CHIP'
                : 'CODPOS_DEVICE_READER_ERROR';
      throw new PosError(code, `card reader: ${answer.message}`, { details: { readerError: answer.code } });
    }
    return answer;
  }

  protected receive(payload: Buffer): void {
    let message;
    try {
      message = decodeFromReader(payload);
    } catch (error) {
      this.emit('protocol-error', error);
      return;
    }
    if (isReaderEvent(message)) {
      if (message.type === 'inserted') this.emit('card-inserted', { chip: message.chip });
      else if (message.type === 'removed') this.emit('card-removed');
      else if (message.type === 'chip-mute') this.emit('chip-mute');
      else this.emit('swipe', { track1: message.track1, track2: message.track2 });
      return;
    }
    if (this.waiting?.seq !== message.seq) return; // a late answer to a request we gave up on
    this.settle(message);
  }
}

function unexpected(reply: ReaderReply): PosError {
  return new PosError('CODPOS_DEVICE_READER_MESSAGE', `card reader answered with an unexpected ${reply.type} reply`);
}
