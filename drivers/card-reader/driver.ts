/**
 * Card reader + MSR + contactless driver. Reports card inserted / removed, swipes
 * (tracks), mute chips and a card leaving the field as events, and gives the EMV
 * kernel a card channel: `powerOn() -> ATR`, `transmit(apdu) -> response` with
 * T=0 61xx/6Cxx handled (see t0.ts), `powerOff()`. The contactless side:
 * `fieldOn()`, `poll(ms)` -> a ContactlessTarget (whose transmit sends CL APDUs),
 * a collision or a timeout, `indicate(status, beep)`, `fieldOff()`. Contact and
 * contactless share the link but not a session: a contact command while the
 * field is on, or a contactless one while the chip is powered, is refused here
 * before it reaches the reader. A reader error is a PosError naming it (EMV area
 * for contact card faults, DEVICE area for the reader, the field and the link).
 */
import { PosError } from '../../config/errors.js';
import type { ErrorCode } from '../../config/errors.js';
import type { ContactlessTarget } from '../../emv/contactless/types.js';
import { AckNakDevice } from '../link/ack-nak-device.js';
import type { Transport } from '../transport/transport.js';
import { readerLink, readerFrame } from './link.js';
import {
  decodeFromReader,
  encodeRequest,
  isReaderEvent,
  type BeepPattern,
  type ReaderErrorCode,
  type ReaderReply,
  type ReaderUiStatus,
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

/** A request as the driver builds it: the SEQ is added when it is sent. */
type Request = WithoutSeq<ReaderRequest>;
type WithoutSeq<Message> = Message extends unknown ? Omit<Message, 'seq'> : never;

/** A card the reader activated: its transmit always answers asynchronously, over the link. */
export interface ReaderTarget extends ContactlessTarget {
  transmit: (apdu: Buffer) => Promise<Buffer>;
}

/** What a poll found: a card to talk to, more than one card (ask for one), or nothing in time. */
export type PollResult = ReaderTarget | 'collision' | 'timeout';

/** Which side of the reader is in use: the contact chip is powered, or the field is on. */
type Session = 'none' | 'contact' | 'contactless';

/** The reader's error codes as PosError codes: contact card faults (EMV), the field's (DEVICE). */
const ERROR_CODES: Partial<Record<ReaderErrorCode, ErrorCode>> = {
  0x01: 'CODPOS_EMV_NO_CARD',
  0x02: 'CODPOS_EMV_CHIP_MUTE',
  0x05: 'CODPOS_EMV_CARD_REMOVED',
  0x06: 'CODPOS_EMV_NO_CHIP',
  0x07: 'CODPOS_DEVICE_CL_FIELD_OFF',
  0x08: 'CODPOS_DEVICE_CL_NO_CARD',
  0x09: 'CODPOS_DEVICE_CL_CARD_REMOVED',
  0x0a: 'CODPOS_DEVICE_READER_SESSION',
  0x0b: 'CODPOS_DEVICE_CL_TRANSMISSION',
};

export class CardReaderDriver extends AckNakDevice<ReaderReply, { seq: number }> implements CardChannel {
  private readonly apduTimeoutMs: number;
  /** Starts anywhere so a restarted host is not taken for a repeat of the last run's request. */
  private seq = Math.floor(Math.random() * 255);
  private queue: Promise<unknown> = Promise.resolve();
  /** Raw exchanges with the reader (GET RESPONSE and resends included), for diag. */
  exchanges = 0;
  private session: Session = 'none';
  /** Counts activations: a target answers only while it is the card the last poll activated. */
  private activation = 0;

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
    this.refuseDuring('contactless', 'power on the chip');
    const reply = await this.request({ type: 'power-on' });
    if (reply.type !== 'atr') throw unexpected(reply);
    this.session = 'contact';
    return reply.atr;
  }

  /** Always allowed: it ends a contact session whatever state the driver thought it was in. */
  async powerOff(): Promise<void> {
    const reply = await this.request({ type: 'power-off' });
    if (reply.type !== 'powered-off') throw unexpected(reply);
    if (this.session === 'contact') this.session = 'none';
  }

  /** One command to the card, with 61xx / 6Cxx handled. */
  transmit(apdu: Buffer): Promise<Buffer> {
    return transmitT0(apdu, (command) => this.transmitRaw(command));
  }

  /** One exchange with no T=0 handling. */
  async transmitRaw(apdu: Buffer): Promise<Buffer> {
    this.refuseDuring('contactless', 'send a contact APDU');
    const reply = await this.request({ type: 'apdu', apdu });
    if (reply.type !== 'apdu') throw unexpected(reply);
    return reply.response;
  }

  /** Turns the contactless field on: a contactless session starts (refused while the chip is powered). */
  async fieldOn(): Promise<void> {
    this.refuseDuring('contact', 'turn the contactless field on');
    const reply = await this.request({ type: 'field-on' });
    if (reply.type !== 'field-on') throw unexpected(reply);
    this.session = 'contactless';
  }

  /**
   * Waits up to `timeoutMs` (0..65535) for a card in the field. One card is activated and
   * returned as a target whose transmit sends CL APDUs (ISO 14443-4 carries whole responses:
   * no T=0 rules); more than one is a 'collision' (the cardholder must present one card).
   */
  async poll(timeoutMs: number): Promise<PollResult> {
    this.refuseDuring('contact', 'poll for a contactless card');
    // The reader deactivates the card it had before it polls: the targets before this poll are done.
    const activation = ++this.activation;
    const reply = await this.request({ type: 'poll', timeoutMs }, timeoutMs);
    if (reply.type === 'collision') return 'collision';
    if (reply.type === 'poll-timeout') return 'timeout';
    if (reply.type !== 'card-detected') throw unexpected(reply);
    const uid = reply.uid;
    return {
      type: reply.cardType,
      uid,
      transmit: (apdu: Buffer) => this.transmitContactless(apdu, activation, uid),
    };
  }

  /** Turns the field off (always allowed: it ends a contactless session whatever state the driver thought). */
  async fieldOff(): Promise<void> {
    const reply = await this.request({ type: 'field-off' });
    if (reply.type !== 'field-off') throw unexpected(reply);
    this.activation++;
    if (this.session === 'contactless') this.session = 'none';
  }

  /** Asks the reader to show a Book A UI status on its LEDs and to beep; a reader without them still acknowledges. */
  async indicate(status: ReaderUiStatus, beep: BeepPattern = 'none'): Promise<void> {
    const reply = await this.request({ type: 'indicate', status, beep });
    if (reply.type !== 'indicated') throw unexpected(reply);
  }

  private async transmitContactless(apdu: Buffer, activation: number, uid: Buffer): Promise<Buffer> {
    if (activation !== this.activation)
      throw new PosError(
        'CODPOS_DEVICE_CL_NO_CARD',
        `the contactless card ${uid.toString('hex')} is no longer the activated card (the field went off or another poll ran)`,
      );
    // No session check: a target exists only in a contactless session (fieldOff and every poll retire it).
    const reply = await this.request({ type: 'cl-apdu', apdu });
    if (reply.type !== 'cl-apdu') throw unexpected(reply);
    return reply.response;
  }

  private refuseDuring(session: Exclude<Session, 'none'>, what: string): void {
    if (this.session !== session) return;
    throw new PosError(
      'CODPOS_DEVICE_READER_SESSION',
      session === 'contact'
        ? `cannot ${what}: the chip in the contact slot is powered (power it off first)`
        : `cannot ${what}: the contactless field is on (turn it off first)`,
    );
  }

  /** `waitMs`: how long the reader itself may take before answering (a poll's timeout), on top of the answer timeout. */
  private request(request: Request, waitMs = 0): Promise<ReaderReply> {
    const run = this.queue.then(() => this.exchange(request, waitMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(request: Request, waitMs: number): Promise<ReaderReply> {
    // Encoded before a SEQ is spent, so a request the protocol refuses (a poll too long) throws here.
    const encoded = encodeRequest({ seq: (this.seq % 255) + 1, ...request } as ReaderRequest);
    this.seq = (this.seq % 255) + 1;
    const seq = this.seq;
    this.exchanges++;
    const deadlineMs = this.apduTimeoutMs + waitMs;
    const reply = this.awaitReply({ seq }, deadlineMs, () =>
      this.fail(
        new PosError(
          'CODPOS_DEVICE_READER_TIMEOUT',
          `card reader on ${this.transport.description} gave no answer within ${deadlineMs} ms`,
        ),
      ),
    );
    this.link.send(readerFrame(encoded)).catch((error: PosError) => this.fail(error));
    const answer = await reply;
    if (answer.type === 'error') {
      const code = ERROR_CODES[answer.code] ?? 'CODPOS_DEVICE_READER_ERROR';
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
      else if (message.type === 'removed') {
        // The reader powers a pulled card off itself: the contact session is over.
        if (this.session === 'contact') this.session = 'none';
        this.emit('card-removed');
      } else if (message.type === 'chip-mute') this.emit('chip-mute');
      else if (message.type === 'left-field')
        this.emit('card-left-field', { type: message.cardType, uid: message.uid });
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
