/**
 * T=0 style response handling for the kernel's card channel (ISO 7816-3 /
 * EMV Book 1 9.3.1): `61xx` means xx more bytes wait, fetched with GET
 * RESPONSE (00 C0 00 00 xx) and joined; `6Cxx` means "wrong Le, resend with
 * Le = xx". The kernel sees one response: data + the final SW1 SW2.
 */
import { PosError } from '../../config/errors.js';

export type RawTransmit = (apdu: Buffer) => Promise<Buffer>;

/** Rounds of 61xx/6Cxx one command may take before we call the card broken. */
const MAX_ROUNDS = 32;

export function withLe(apdu: Buffer, le: number): Buffer {
  if (apdu.length === 4) return Buffer.concat([apdu, Buffer.from([le])]);
  if (apdu.length === 5) return Buffer.concat([apdu.subarray(0, 4), Buffer.from([le])]);
  const lc = apdu[4]!;
  const body = apdu.subarray(0, 5 + lc);
  return Buffer.concat([body, Buffer.from([le])]);
}

export async function transmitT0(apdu: Buffer, raw: RawTransmit): Promise<Buffer> {
  if (apdu.length < 4)
    throw new PosError('CODPOS_EMV_APDU', `APDU of ${apdu.length} bytes: need at least CLA INS P1 P2`);
  const data: Buffer[] = [];
  let command = apdu;
  let response = await raw(command);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (response.length < 2)
      throw new PosError('CODPOS_EMV_APDU', `card answered ${response.length} bytes: no status word`);
    const sw1 = response[response.length - 2]!;
    const sw2 = response[response.length - 1]!;
    if (sw1 === 0x6c) {
      command = withLe(command, sw2);
      response = await raw(command);
    } else if (sw1 === 0x61) {
      data.push(response.subarray(0, response.length - 2));
      command = Buffer.from([0x00, 0xc0, 0x00, 0x00, sw2]);
      response = await raw(command);
    } else {
      return Buffer.concat([...data, response]);
    }
  }
  throw new PosError('CODPOS_EMV_APDU', `card kept answering 61xx/6Cxx for ${MAX_ROUNDS} rounds`);
}
