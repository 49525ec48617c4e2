/**
 * The codpos card reader protocol (docs/card-reader-protocol.md): binary
 * messages in length-prefixed frames (`02 LEN_HI LEN_LO payload LRC`) with
 * ACK/NAK/EOT between them. A payload is `SEQ CMD DATA`; the host numbers its
 * requests 1..255 and the reader answers with the same SEQ (a repeated SEQ is
 * answered from the reader's cache, never executed twice: an APDU must not run
 * twice because an ACK got lost); unsolicited events carry SEQ 0.
 * The contact slot (CMD 01..04) and the contactless field (CMD 10..14) share
 * the link and its SEQ numbering. Pure encoding and decoding.
 */
import { PosError } from '../../config/errors.js';

export const CMD = {
  status: 0x01,
  powerOn: 0x02,
  apdu: 0x03,
  powerOff: 0x04,
  fieldOn: 0x10,
  poll: 0x11,
  clApdu: 0x12,
  fieldOff: 0x13,
  indicate: 0x14,
} as const;

export const RSP = {
  status: 0x81,
  atr: 0x82,
  apdu: 0x83,
  poweredOff: 0x84,
  fieldOn: 0x90,
  cardDetected: 0x91,
  collision: 0x92,
  pollTimeout: 0x93,
  clApdu: 0x94,
  fieldOff: 0x95,
  indicated: 0x96,
  error: 0xee,
} as const;

export const EVT = {
  inserted: 0xc1,
  removed: 0xc2,
  swipe: 0xc3,
  chipMute: 0xc4,
  leftField: 0xc5,
} as const;

export const READER_ERROR = {
  0x01: 'no card in the reader',
  0x02: 'the chip does not answer (mute)',
  0x03: 'the chip is not powered',
  0x04: 'unknown or malformed command',
  0x05: 'the card was removed during the exchange',
  0x06: 'the card has no chip (swipe it)',
  0x07: 'the contactless field is off',
  0x08: 'no card is activated in the field (poll first)',
  0x09: 'the card left the field during the exchange',
  0x0a: 'the contact slot and the contactless field cannot both be in use',
  0x0b: 'transmission error with the card in the field',
} as const;
export type ReaderErrorCode = keyof typeof READER_ERROR;

export type SlotState = 'empty' | 'present' | 'powered';
const SLOT_STATES: SlotState[] = ['empty', 'present', 'powered'];

/** The reader's contactless UI status (EMV Contactless Book A 7.1), shown on its LEDs. */
export type ReaderUiStatus =
  'not-ready' | 'idle' | 'ready-to-read' | 'processing' | 'card-read-successfully' | 'processing-error';
export const UI_STATUSES: readonly ReaderUiStatus[] = [
  'not-ready',
  'idle',
  'ready-to-read',
  'processing',
  'card-read-successfully',
  'processing-error',
];
/** The reader's beeps: Book A's success tone and alert tone, or silence. */
export type BeepPattern = 'none' | 'success' | 'alert';
export const BEEP_PATTERNS: readonly BeepPattern[] = ['none', 'success', 'alert'];

/** ISO 14443 card type; on the wire the ASCII letter ('A' 41, 'B' 42). */
export type FieldCardType = 'A' | 'B';
/** The longest poll a request can ask for (two bytes of milliseconds). */
export const MAX_POLL_MS = 0xffff;

export type ReaderRequest =
  | { seq: number; type: 'status' }
  | { seq: number; type: 'power-on' }
  | { seq: number; type: 'apdu'; apdu: Buffer }
  | { seq: number; type: 'power-off' }
  | { seq: number; type: 'field-on' }
  | { seq: number; type: 'poll'; timeoutMs: number }
  | { seq: number; type: 'cl-apdu'; apdu: Buffer }
  | { seq: number; type: 'field-off' }
  | { seq: number; type: 'indicate'; status: ReaderUiStatus; beep: BeepPattern };

export type ReaderReply =
  | { seq: number; type: 'status'; slot: SlotState; chip: boolean }
  | { seq: number; type: 'atr'; atr: Buffer }
  | { seq: number; type: 'apdu'; response: Buffer }
  | { seq: number; type: 'powered-off' }
  | { seq: number; type: 'field-on' }
  | { seq: number; type: 'card-detected'; cardType: FieldCardType; uid: Buffer }
  | { seq: number; type: 'collision' }
  | { seq: number; type: 'poll-timeout' }
  | { seq: number; type: 'cl-apdu'; response: Buffer }
  | { seq: number; type: 'field-off' }
  | { seq: number; type: 'indicated' }
  | { seq: number; type: 'error'; code: ReaderErrorCode; message: string };

export type ReaderEvent =
  | { type: 'inserted'; chip: boolean }
  | { type: 'removed' }
  | { type: 'swipe'; track1?: string; track2?: string }
  | { type: 'chip-mute' }
  | { type: 'left-field'; cardType: FieldCardType; uid: Buffer };

function bad(what: string): PosError {
  return new PosError('CODPOS_DEVICE_READER_MESSAGE', `card reader message: ${what}`);
}

export function encodeRequest(request: ReaderRequest): Buffer {
  const head = (cmd: number) => Buffer.from([request.seq, cmd]);
  switch (request.type) {
    case 'status':
      return head(CMD.status);
    case 'power-on':
      return head(CMD.powerOn);
    case 'apdu':
      return Buffer.concat([head(CMD.apdu), request.apdu]);
    case 'power-off':
      return head(CMD.powerOff);
    case 'field-on':
      return head(CMD.fieldOn);
    case 'poll': {
      if (!Number.isInteger(request.timeoutMs) || request.timeoutMs < 0 || request.timeoutMs > MAX_POLL_MS)
        throw bad(`poll timeout of ${request.timeoutMs} ms: expected a whole number of ms from 0 to ${MAX_POLL_MS}`);
      return Buffer.concat([head(CMD.poll), Buffer.from([request.timeoutMs >> 8, request.timeoutMs & 0xff])]);
    }
    case 'cl-apdu':
      return Buffer.concat([head(CMD.clApdu), request.apdu]);
    case 'field-off':
      return head(CMD.fieldOff);
    case 'indicate':
      return Buffer.concat([
        head(CMD.indicate),
        Buffer.from([UI_STATUSES.indexOf(request.status), BEEP_PATTERNS.indexOf(request.beep)]),
      ]);
  }
}

export function decodeRequest(payload: Buffer): ReaderRequest {
  if (payload.length < 2) throw bad(`payload of ${payload.length} bytes, need SEQ and CMD`);
  const seq = payload[0]!;
  const data = payload.subarray(2);
  switch (payload[1]) {
    case CMD.status:
      return { seq, type: 'status' };
    case CMD.powerOn:
      return { seq, type: 'power-on' };
    case CMD.apdu:
      if (data.length < 4) throw bad(`APDU of ${data.length} bytes at offset 2, need at least 4 (CLA INS P1 P2)`);
      return { seq, type: 'apdu', apdu: Buffer.from(data) };
    case CMD.powerOff:
      return { seq, type: 'power-off' };
    case CMD.fieldOn:
      return { seq, type: 'field-on' };
    case CMD.poll:
      if (data.length !== 2) throw bad(`poll timeout of ${data.length} bytes at offset 2, need 2 (ms, big-endian)`);
      return { seq, type: 'poll', timeoutMs: data.readUInt16BE(0) };
    case CMD.clApdu:
      if (data.length < 4)
        throw bad(`contactless APDU of ${data.length} bytes at offset 2, need at least 4 (CLA INS P1 P2)`);
      return { seq, type: 'cl-apdu', apdu: Buffer.from(data) };
    case CMD.fieldOff:
      return { seq, type: 'field-off' };
    case CMD.indicate: {
      const status = UI_STATUSES[data[0] ?? 0xff];
      const beep = BEEP_PATTERNS[data[1] ?? 0xff];
      if (data.length !== 2 || status === undefined || beep === undefined)
        throw bad(
          `indication at offset 2 must be a UI status 00..05 and a beep pattern 00..02, got ${data.toString('hex') || 'nothing'}`,
        );
      return { seq, type: 'indicate', status, beep };
    }
    default:
      throw bad(`unknown command 0x${payload[1]!.toString(16).padStart(2, '0')} at offset 1`);
  }
}

export function encodeReply(reply: ReaderReply): Buffer {
  const head = (cmd: number) => Buffer.from([reply.seq, cmd]);
  switch (reply.type) {
    case 'status':
      return Buffer.concat([head(RSP.status), Buffer.from([SLOT_STATES.indexOf(reply.slot), reply.chip ? 1 : 0])]);
    case 'atr':
      return Buffer.concat([head(RSP.atr), reply.atr]);
    case 'apdu':
      return Buffer.concat([head(RSP.apdu), reply.response]);
    case 'powered-off':
      return head(RSP.poweredOff);
    case 'field-on':
      return head(RSP.fieldOn);
    case 'card-detected':
      return Buffer.concat([head(RSP.cardDetected), encodeFieldCard(reply.cardType, reply.uid)]);
    case 'collision':
      return head(RSP.collision);
    case 'poll-timeout':
      return head(RSP.pollTimeout);
    case 'cl-apdu':
      return Buffer.concat([head(RSP.clApdu), reply.response]);
    case 'field-off':
      return head(RSP.fieldOff);
    case 'indicated':
      return head(RSP.indicated);
    case 'error':
      return Buffer.concat([head(RSP.error), Buffer.from([reply.code]), Buffer.from(reply.message, 'latin1')]);
  }
}

export function encodeEvent(event: ReaderEvent): Buffer {
  switch (event.type) {
    case 'inserted':
      return Buffer.from([0, EVT.inserted, event.chip ? 1 : 0]);
    case 'removed':
      return Buffer.from([0, EVT.removed]);
    case 'chip-mute':
      return Buffer.from([0, EVT.chipMute]);
    case 'left-field':
      return Buffer.concat([Buffer.from([0, EVT.leftField]), encodeFieldCard(event.cardType, event.uid)]);
    case 'swipe': {
      const t1 = Buffer.from(event.track1 ?? '', 'latin1');
      const t2 = Buffer.from(event.track2 ?? '', 'latin1');
      if (t1.length > 79 || t2.length > 40) throw bad('track too long (track 1 holds 79 characters, track 2 40)');
      return Buffer.concat([Buffer.from([0, EVT.swipe, t1.length]), t1, Buffer.from([t2.length]), t2]);
    }
  }
}

/** Decodes what the reader sends: a reply to a request (SEQ 1..255) or an event (SEQ 0). */
export function decodeFromReader(payload: Buffer): ReaderReply | ReaderEvent {
  if (payload.length < 2) throw bad(`payload of ${payload.length} bytes, need SEQ and CMD`);
  const seq = payload[0]!;
  const cmd = payload[1]!;
  const data = payload.subarray(2);
  if (seq === 0) {
    switch (cmd) {
      case EVT.inserted:
        return { type: 'inserted', chip: data[0] === 1 };
      case EVT.removed:
        return { type: 'removed' };
      case EVT.chipMute:
        return { type: 'chip-mute' };
      case EVT.leftField:
        return { type: 'left-field', ...decodeFieldCard(data) };
      case EVT.swipe: {
        const l1 = data[0] ?? 0;
        const l2 = data[1 + l1];
        if (l2 === undefined || data.length !== 2 + l1 + l2)
          throw bad(`swipe event lengths do not match its ${data.length} data bytes`);
        const track1 = data.subarray(1, 1 + l1).toString('latin1');
        const track2 = data.subarray(2 + l1, 2 + l1 + l2).toString('latin1');
        return { type: 'swipe', ...(track1 ? { track1 } : {}), ...(track2 ? { track2 } : {}) };
      }
      default:
        throw bad(`unknown event 0x${cmd.toString(16)} at offset 1`);
    }
  }
  switch (cmd) {
    case RSP.status:
      if (data.length !== 2 || data[0]! > 2) throw bad('status reply must carry slot state 0..2 and a chip flag');
      return { seq, type: 'status', slot: SLOT_STATES[data[0]!]!, chip: data[1] === 1 };
    case RSP.atr:
      return { seq, type: 'atr', atr: Buffer.from(data) };
    case RSP.apdu:
      if (data.length < 2) throw bad('APDU reply without SW1 SW2');
      return { seq, type: 'apdu', response: Buffer.from(data) };
    case RSP.poweredOff:
      return { seq, type: 'powered-off' };
    case RSP.fieldOn:
      return { seq, type: 'field-on' };
    case RSP.cardDetected:
      return { seq, type: 'card-detected', ...decodeFieldCard(data) };
    case RSP.collision:
      return { seq, type: 'collision' };
    case RSP.pollTimeout:
      return { seq, type: 'poll-timeout' };
    case RSP.clApdu:
      if (data.length < 2) throw bad('contactless APDU reply without SW1 SW2');
      return { seq, type: 'cl-apdu', response: Buffer.from(data) };
    case RSP.fieldOff:
      return { seq, type: 'field-off' };
    case RSP.indicated:
      return { seq, type: 'indicated' };
    case RSP.error: {
      const code = data[0] as ReaderErrorCode;
      return {
        seq,
        type: 'error',
        code,
        message: data.subarray(1).toString('latin1') || READER_ERROR[code] || 'error',
      };
    }
    default:
      throw bad(`unknown reply 0x${cmd.toString(16)} at offset 1`);
  }
}

export function isReaderEvent(message: ReaderReply | ReaderEvent): message is ReaderEvent {
  return !('seq' in message);
}

/** UID lengths ISO 14443-3 allows: type A single, double or triple size; type B a 4-byte PUPI. */
const UID_LENGTHS: Record<FieldCardType, readonly number[]> = { A: [4, 7, 10], B: [4] };

function checkFieldCard(cardType: string, uidLength: number): void {
  const lengths = UID_LENGTHS[cardType as FieldCardType];
  if (!lengths) throw bad(`card type ${JSON.stringify(cardType)} at offset 2: expected A or B`);
  if (!lengths.includes(uidLength))
    throw bad(
      `type ${cardType} ${cardType === 'A' ? 'UID' : 'PUPI'} of ${uidLength} bytes at offset 3: expected ${lengths.join(', ')}`,
    );
}

/** A card in the field on the wire: its type letter, then its UID (type A) or PUPI (type B). */
function encodeFieldCard(cardType: FieldCardType, uid: Buffer): Buffer {
  checkFieldCard(cardType, uid.length);
  return Buffer.concat([Buffer.from(cardType, 'latin1'), uid]);
}

function decodeFieldCard(data: Buffer): { cardType: FieldCardType; uid: Buffer } {
  const cardType = String.fromCharCode(data[0] ?? 0);
  checkFieldCard(cardType, data.length - 1);
  return { cardType: cardType as FieldCardType, uid: Buffer.from(data.subarray(1)) };
}
