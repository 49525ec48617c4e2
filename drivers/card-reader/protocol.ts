/**
 * The codpos card reader protocol (docs/card-reader-protocol.md): binary
 * messages in length-prefixed frames (`02 LEN_HI LEN_LO payload LRC`) with
 * ACK/NAK/EOT between them. A payload is `SEQ CMD DATA`; the host numbers its
 * requests 1..255 and the reader answers with the same SEQ (a repeated SEQ is
 * answered from the reader's cache, never executed twice: an APDU must not run
 * twice because an ACK got lost); unsolicited events carry SEQ 0.
 * Pure encoding and decoding.
 */
import { PosError } from '../../config/errors.js';

export const CMD = {
  status: 0x01,
  powerOn: 0x02,
  apdu: 0x03,
  powerOff: 0x04,
} as const;

export const RSP = {
  status: 0x81,
  atr: 0x82,
  apdu: 0x83,
  poweredOff: 0x84,
  error: 0xee,
} as const;

export const EVT = {
  inserted: 0xc1,
  removed: 0xc2,
  swipe: 0xc3,
  chipMute: 0xc4,
} as const;

export const READER_ERROR = {
  0x01: 'no card in the reader',
  0x02: 'the chip does not answer (mute)',
  0x03: 'the chip is not powered',
  0x04: 'unknown or malformed command',
  0x05: 'the card was removed during the exchange',
  0x06: 'the card has no chip (swipe it)',
} as const;
export type ReaderErrorCode = keyof typeof READER_ERROR;

export type SlotState = 'empty' | 'present' | 'powered';
const SLOT_STATES: SlotState[] = ['empty', 'present', 'powered'];

export type ReaderRequest =
  | { seq: number; type: 'status' }
  | { seq: number; type: 'power-on' }
  | { seq: number; type: 'apdu'; apdu: Buffer }
  | { seq: number; type: 'power-off' };

export type ReaderReply =
  | { seq: number; type: 'status'; slot: SlotState; chip: boolean }
  | { seq: number; type: 'atr'; atr: Buffer }
  | { seq: number; type: 'apdu'; response: Buffer }
  | { seq: number; type: 'powered-off' }
  | { seq: number; type: 'error'; code: ReaderErrorCode; message: string };

export type ReaderEvent =
  | { type: 'inserted'; chip: boolean }
  | { type: 'removed' }
  | { type: 'swipe'; track1?: string; track2?: string }
  | { type: 'chip-mute' };

function bad(what: string): PosError {
  return new PosError('CODPOS_DEVICE_READER_MESSAGE', `card reader message: ${what}`);
}

export function encodeRequest(request: ReaderRequest): Buffer {
  const cmd = { status: CMD.status, 'power-on': CMD.powerOn, apdu: CMD.apdu, 'power-off': CMD.powerOff }[request.type];
  return Buffer.concat([Buffer.from([request.seq, cmd]), request.type === 'apdu' ? request.apdu : Buffer.alloc(0)]);
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
