/**
 * Card reader simulator: a reader with one card slot, a magstripe head and a
 * contactless field, on the device end of a transport. Scriptable: insert(card),
 * remove(), swipe(card or tracks); tap(card), tapTwo(a, b), removeFromField()
 * (contactless-field.ts; the indications the host sent are in `indications`). The card is anything shaped like emv/card's
 * VirtualCard (powerOn -> ATR, transmit, powerOff, tracks); a card whose
 * powerOn throws CODPOS_EMV_CHIP_MUTE is a mute chip, reported on insertion
 * (the reader tries the ATR itself, as real readers do) and on power-on.
 */
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import type { AckNakLink } from '../link/ack-nak.js';
import type { Transport } from '../transport/transport.js';
import { readerLink, readerFrame } from './link.js';
import { ContactlessField, uidBytes, type Indication, type SimFieldCard } from './contactless-field.js';
import {
  decodeRequest,
  encodeEvent,
  encodeReply,
  READER_ERROR,
  type ReaderErrorCode,
  type ReaderReply,
  type ReaderRequest,
} from './protocol.js';

export interface SimCard {
  powerOn(): Buffer;
  transmit(apdu: Buffer): Buffer;
  powerOff(): void;
  readonly tracks: { track1?: string; track2?: string };
}

export class CardReaderSim extends EventEmitter {
  private readonly link: AckNakLink;
  private card: SimCard | undefined;
  private chip = false;
  private powered = false;
  /** The last request and its answer (none yet while a poll waits for a card). */
  private last: { request: Buffer; reply: Buffer | undefined } | undefined;
  private readonly field = new ContactlessField();
  /** Commands executed (repeats answered from the cache are not counted). */
  executed = 0;

  constructor(readonly transport: Transport) {
    super();
    this.link = readerLink(transport, 'card reader simulator');
    this.link.on('frame', (payload: Buffer) => this.request(payload));
  }

  async start(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async stop(): Promise<void> {
    this.link.detach();
    await this.transport.close();
  }

  /** Inserts a card in the chip slot. */
  async insert(card: SimCard): Promise<void> {
    if (this.card) await this.remove();
    this.card = card;
    this.powered = false;
    let mute = false;
    try {
      card.powerOn();
      card.powerOff();
      this.chip = true;
    } catch (error) {
      mute = error instanceof PosError && error.code === 'CODPOS_EMV_CHIP_MUTE';
      this.chip = mute;
    }
    await this.event({ type: 'inserted', chip: this.chip });
    if (mute) await this.event({ type: 'chip-mute' });
  }

  async remove(): Promise<void> {
    if (!this.card) return;
    if (this.powered) this.card.powerOff();
    this.card = undefined;
    this.powered = false;
    await this.event({ type: 'removed' });
  }

  /** The card enters the contactless field (a card already there leaves first). */
  async tap(card: SimFieldCard): Promise<void> {
    await this.reportLeft(this.field.tap(card));
  }

  /** Two cards enter the field together: the next poll is a collision. */
  async tapTwo(first: SimFieldCard, second: SimFieldCard): Promise<void> {
    await this.reportLeft(this.field.tapTwo(first, second));
  }

  /** Every card leaves the field; an activated one is reported, and the next contactless APDU fails as torn. */
  async removeFromField(): Promise<void> {
    await this.reportLeft(this.field.removeFromField());
  }

  /** The indications (Book A UI status, beep) the host sent, oldest first, the latest 64. */
  get indications(): readonly Indication[] {
    return this.field.indications;
  }

  get fieldIsOn(): boolean {
    return this.field.isOn;
  }

  private async reportLeft(card: SimFieldCard | undefined): Promise<void> {
    if (card) await this.event({ type: 'left-field', cardType: card.type, uid: uidBytes(card) });
  }

  /** Swipes a card (or raw tracks) through the magstripe head. */
  async swipe(source: SimCard | { track1?: string; track2?: string }): Promise<void> {
    const tracks = 'tracks' in source ? source.tracks : source;
    await this.event({ type: 'swipe', ...tracks });
  }

  /** Resolves when the host ACKed the event or the link gave up (no host attached is not a simulator fault). */
  private async event(event: Parameters<typeof encodeEvent>[0]): Promise<void> {
    await this.link.send(readerFrame(encodeEvent(event))).catch((error: unknown) => this.emit('link-error', error));
  }

  private request(payload: Buffer): void {
    let request: ReaderRequest;
    try {
      request = decodeRequest(payload);
    } catch (error) {
      this.emit('unknown', error);
      void this.link
        .send(
          readerFrame(
            encodeReply({ seq: payload[0] ?? 0, type: 'error', code: 0x04, message: (error as Error).message }),
          ),
        )
        .catch(() => undefined);
      return;
    }
    // A repeat of the last request (our ACK or its answer was lost): answer again, never run it twice.
    // Same SEQ and same bytes: a repeat, not a new command from a restarted host.
    if (this.last !== undefined && this.last.request.equals(payload)) {
      this.emit('repeat', request);
      // Still running (a poll waiting for a card): its one answer goes out when it ends.
      if (this.last.reply) this.send(this.last.reply);
      return;
    }
    const entry: { request: Buffer; reply: Buffer | undefined } = { request: Buffer.from(payload), reply: undefined };
    this.last = entry;
    this.field.supersedePoll();
    const answer = this.execute(request);
    if (!(answer instanceof Promise)) {
      entry.reply = encodeReply(answer);
      this.send(entry.reply);
      return;
    }
    void answer.then((reply) => {
      // A poll the host gave up on (a newer request came) is not answered.
      if (reply === undefined || this.last !== entry) return;
      entry.reply = encodeReply(reply);
      this.send(entry.reply);
    });
  }

  private send(reply: Buffer): void {
    void this.link.send(readerFrame(reply)).catch((error: unknown) => this.emit('link-error', error));
  }

  private execute(request: ReaderRequest): ReaderReply | Promise<ReaderReply | undefined> {
    this.executed++;
    const error = (code: ReaderErrorCode): ReaderReply => ({
      seq: request.seq,
      type: 'error',
      code,
      message: READER_ERROR[code],
    });
    switch (request.type) {
      case 'status':
        return {
          seq: request.seq,
          type: 'status',
          slot: !this.card ? 'empty' : this.powered ? 'powered' : 'present',
          chip: this.chip,
        };
      case 'power-on': {
        if (this.field.isOn) return error(0x0a);
        if (!this.card) return error(0x01);
        try {
          const atr = this.card.powerOn();
          this.powered = true;
          return { seq: request.seq, type: 'atr', atr };
        } catch (failure) {
          return error(failure instanceof PosError && failure.code === 'CODPOS_EMV_NO_CHIP' ? 0x06 : 0x02);
        }
      }
      case 'apdu': {
        if (!this.card) return error(0x05);
        if (!this.powered) return error(0x03);
        try {
          return { seq: request.seq, type: 'apdu', response: this.card.transmit(request.apdu) };
        } catch {
          return error(0x02);
        }
      }
      case 'power-off':
        if (this.card && this.powered) this.card.powerOff();
        this.powered = false;
        return { seq: request.seq, type: 'powered-off' };
      case 'field-on':
        if (this.powered) return error(0x0a);
        this.field.fieldOn();
        return { seq: request.seq, type: 'field-on' };
      case 'poll': {
        if (!this.field.isOn) return error(0x07);
        const finding = this.field.poll(request.timeoutMs);
        // Tests wait for this to tap a card into a poll that is already waiting.
        if (this.field.isPolling) this.emit('polling');
        return finding.then((finding): ReaderReply | undefined => {
          if (finding === undefined) return undefined;
          if (finding === 'collision' || finding === 'timeout')
            return { seq: request.seq, type: finding === 'collision' ? 'collision' : 'poll-timeout' };
          return { seq: request.seq, type: 'card-detected', cardType: finding.card.type, uid: uidBytes(finding.card) };
        });
      }
      case 'cl-apdu': {
        const answer = this.field.transmit(request.apdu);
        return 'error' in answer
          ? error(answer.error)
          : { seq: request.seq, type: 'cl-apdu', response: answer.response };
      }
      case 'field-off':
        this.field.fieldOff();
        return { seq: request.seq, type: 'field-off' };
      case 'indicate':
        this.field.indicate({ status: request.status, beep: request.beep });
        return { seq: request.seq, type: 'indicated' };
    }
  }
}
