/**
 * The card channel: one injected function, `transmit(apdu) -> response`, that a real
 * reader driver or a virtual card implements. This module adds the T=0 rules of
 * EMV Book 1 (9.3) on top: `61xx` = fetch the answer with GET RESPONSE (Le = xx),
 * `6Cxx` = resend the same command with Le = xx; warnings 62xx/63xx on a case 4
 * command are followed by GET RESPONSE too. Anything malformed is a PosError.
 */
import { PosError } from '../../config/errors.js';

export type CardTransmit = (apdu: Buffer) => Promise<Buffer> | Buffer;

export interface CardResponse {
  data: Buffer;
  sw: number;
}

export const SW_OK = 0x9000;

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** Builds a command APDU; `le` undefined = case 1/3, a number = case 2/4 (0 means 256). */
export function commandApdu(cla: number, ins: number, p1: number, p2: number, data?: Buffer, le?: number): Buffer {
  const parts: Buffer[] = [Buffer.from([cla, ins, p1, p2])];
  if (data && data.length > 0) {
    if (data.length > 255)
      throw new PosError('CODPOS_EMV_BAD_COMMAND', `APDU data of ${data.length} bytes exceeds 255`, {
        details: { ins },
      });
    parts.push(Buffer.from([data.length]), data);
  }
  if (le !== undefined) parts.push(Buffer.from([le & 0xff]));
  return Buffer.concat(parts);
}

export class CardChannel {
  /** Every command and status word exchanged, for diagnostics (no data kept). */
  readonly trace: Array<{ command: string; sw: string }> = [];

  constructor(private readonly transmitFn: CardTransmit) {}

  private async raw(apdu: Buffer): Promise<CardResponse> {
    const response = await this.transmitFn(apdu);
    if (!Buffer.isBuffer(response) || response.length < 2) {
      throw new PosError(
        'CODPOS_EMV_BAD_RESPONSE',
        `card answered ${Buffer.isBuffer(response) ? response.length : 0} bytes to ${apdu.subarray(0, 4).toString('hex').toUpperCase()} (need at least SW1 SW2)`,
        {
          details: { command: apdu.subarray(0, 2).toString('hex').toUpperCase() },
        },
      );
    }
    const sw = response.readUInt16BE(response.length - 2);
    this.trace.push({ command: apdu.subarray(0, 4).toString('hex').toUpperCase(), sw: swHex(sw) });
    return { data: response.subarray(0, response.length - 2), sw };
  }

  /** Sends a command, following 61xx and 6Cxx until the card gives its final answer. */
  async send(apdu: Buffer): Promise<CardResponse> {
    let response = await this.raw(apdu);
    for (let guard = 0; guard < 32; guard++) {
      const sw1 = response.sw >> 8;
      const sw2 = response.sw & 0xff;
      if (sw1 === 0x6c) {
        // Wrong Le: resend the same command with Le = SW2.
        const resend = Buffer.from(apdu);
        resend[resend.length - 1] = sw2;
        const hasLe = apdu.length === 5 || apdu.length > 5 + apdu[4]!;
        response = await this.raw(hasLe ? resend : Buffer.concat([apdu, Buffer.from([sw2])]));
        continue;
      }
      if (sw1 === 0x61) {
        const more = await this.raw(commandApdu(0x00, 0xc0, 0x00, 0x00, undefined, sw2));
        response = { data: Buffer.concat([response.data, more.data]), sw: more.sw };
        continue;
      }
      return response;
    }
    throw new PosError('CODPOS_EMV_BAD_RESPONSE', 'card keeps answering 61xx/6Cxx (more than 32 times)', {
      details: { command: apdu.subarray(0, 2).toString('hex') },
    });
  }
}
