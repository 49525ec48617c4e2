/**
 * The card reader simulator's contactless field: which cards are in it, which one the last
 * poll activated, a poll waiting for a card, and the UI indications the host asked for.
 * A test (or the sim control) puts cards in with tap / tapTwo and takes them out with
 * removeFromField, at any time, mid-exchange included; the reader side (sim.ts) turns the
 * answers here into protocol replies.
 */
import type { BeepPattern, FieldCardType, ReaderErrorCode, ReaderUiStatus } from './protocol.js';

/** A card (or phone) that can be held in the field: the virtual contactless card implements it. */
export interface SimFieldCard {
  readonly type: FieldCardType;
  /** UID (type A) or PUPI (type B), as bytes or hex. */
  readonly uid: Buffer | string;
  handle(apdu: Buffer): Buffer;
  /** The card lost power (the field went off, or it left the field): it starts over at its next activation. */
  reset?(): void;
}

export interface Indication {
  status: ReaderUiStatus;
  beep: BeepPattern;
}

/** What a poll found. */
export type PollFinding = { card: SimFieldCard } | 'collision' | 'timeout';

/** What the field answers to a contactless APDU: the card's response, or the reader's error. */
export type FieldAnswer = { response: Buffer } | { error: ReaderErrorCode };

/** The indications kept for a test: the daemon's simulated reader runs for days. */
export const MAX_INDICATIONS = 64;

export function uidBytes(card: SimFieldCard): Buffer {
  return typeof card.uid === 'string' ? Buffer.from(card.uid, 'hex') : card.uid;
}

export class ContactlessField {
  private on = false;
  private cards: SimFieldCard[] = [];
  private active: SimFieldCard | undefined;
  /** The activated card left the field: APDUs fail as torn until the next poll or field off. */
  private torn = false;
  private waiting: { resolve: (finding: PollFinding | undefined) => void; timer: NodeJS.Timeout } | undefined;
  private readonly shown: Indication[] = [];

  get isOn(): boolean {
    return this.on;
  }

  /** The indications the host sent, oldest first (the latest MAX_INDICATIONS). */
  get indications(): readonly Indication[] {
    return this.shown;
  }

  /** A poll is waiting for a card. */
  get isPolling(): boolean {
    return this.waiting !== undefined;
  }

  /** How many cards are in the field. */
  get cardCount(): number {
    return this.cards.length;
  }

  fieldOn(): void {
    this.on = true;
    this.torn = false;
  }

  /** Every card in the field loses power; none is active any more. */
  fieldOff(): void {
    this.endPoll(undefined);
    this.on = false;
    this.active = undefined;
    this.torn = false;
    for (const card of this.cards) card.reset?.();
  }

  /**
   * Looks for a card now, else waits up to `timeoutMs` for one to be tapped. Resolves
   * undefined when a new request superseded the poll (the host gave up on it).
   */
  poll(timeoutMs: number): Promise<PollFinding | undefined> {
    this.endPoll(undefined);
    this.active = undefined;
    this.torn = false;
    const found = this.detect();
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      this.waiting = { resolve, timer: setTimeout(() => this.endPoll('timeout'), timeoutMs) };
    });
  }

  /** A new request from the host ends a poll it no longer waits for. */
  supersedePoll(): void {
    this.endPoll(undefined);
  }

  transmit(apdu: Buffer): FieldAnswer {
    if (!this.on) return { error: 0x07 };
    const card = this.active;
    if (!card) return { error: this.torn ? 0x09 : 0x08 };
    let response: Buffer;
    try {
      response = card.handle(apdu);
    } catch {
      return { error: 0x0b };
    }
    // The card may leave while it answers (the test's card removes itself): its answer never reached the reader.
    if (this.active !== card) return { error: 0x09 };
    return { response };
  }

  indicate(indication: Indication): void {
    this.shown.push(indication);
    if (this.shown.length > MAX_INDICATIONS) this.shown.shift();
  }

  /** The card enters the field (a card already there leaves first); returns the activated card that left, if one did. */
  tap(card: SimFieldCard): SimFieldCard | undefined {
    return this.enter([card]);
  }

  /** Two cards enter the field together: the next poll reports a collision. */
  tapTwo(first: SimFieldCard, second: SimFieldCard): SimFieldCard | undefined {
    return this.enter([first, second]);
  }

  /** Every card leaves the field; returns the activated one, if one was (the reader reports it). */
  removeFromField(): SimFieldCard | undefined {
    const left = this.active;
    for (const card of this.cards) card.reset?.();
    this.cards = [];
    if (left) {
      this.active = undefined;
      this.torn = true;
    }
    return left;
  }

  private enter(cards: SimFieldCard[]): SimFieldCard | undefined {
    const left = this.removeFromField();
    this.cards = cards;
    if (this.waiting) {
      const found = this.detect();
      if (found) this.endPoll(found);
    }
    return left;
  }

  private detect(): PollFinding | undefined {
    if (!this.on || this.cards.length === 0) return undefined;
    if (this.cards.length > 1) return 'collision';
    this.active = this.cards[0]!;
    this.torn = false;
    return { card: this.active };
  }

  private endPoll(finding: PollFinding | undefined): void {
    const waiting = this.waiting;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.waiting = undefined;
    waiting.resolve(finding);
  }
}
