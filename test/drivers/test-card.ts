/**
 * A tiny chip card of emv/card's VirtualCard shape for driver tests: a PSE
 * whose FCI comes T=0 style (61xx then GET RESPONSE).
 */
import type { SimCard } from '../../drivers/card-reader/sim.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
export const ATR = hex('3B 6E 00 00 80 31 80 66 B0 84 12 01 6E 01 83 00 90 00');
export const SELECT_PSE = hex('00A404000E315041592E5359532E444446303100');
export const PSE_FCI = hex('6F 1A 84 0E 315041592E5359532E4444463031 A5 08 88 01 01 5F2D 02 656E');

export function testCard(): SimCard {
  let pending: Buffer | undefined;
  return {
    tracks: { track2: '4761739001010010=22122011143804400000' },
    powerOn: () => ATR,
    powerOff: () => undefined,
    transmit(apdu: Buffer): Buffer {
      if (apdu[1] === 0xa4) {
        pending = PSE_FCI;
        return Buffer.from([0x61, PSE_FCI.length]);
      }
      if (apdu[1] === 0xc0 && pending) {
        const out = Buffer.concat([pending, hex('9000')]);
        pending = undefined;
        return out;
      }
      return hex('6D00');
    },
  };
}
