/**
 * Readable meaning of the EMV values a technician looks for in a capture: DOLs as the
 * list of what they ask for, TVR and TSI as the names of the bits set, the AIP's
 * capabilities and the CVM list's rules. Used by `codpos decode tlv`.
 */
import { tagToHex } from '../tlv/index.js';
import { tagName } from '../tags/index.js';
import { parseDol } from './dol.js';
import { tsiBitsOf, tvrBitsOf } from './tvr.js';

const DOL_TAGS = new Set([0x8c, 0x8d, 0x9f38, 0x9f49, 0x97]);

const AIP_BITS: Array<[number, string]> = [
  [0x40, 'SDA'],
  [0x20, 'DDA'],
  [0x10, 'cardholder verification'],
  [0x08, 'terminal risk management'],
  [0x04, 'issuer authentication'],
  [0x01, 'CDA'],
];

const CVM_METHODS: Record<number, string> = {
  0x00: 'fail CVM processing',
  0x01: 'offline plaintext PIN',
  0x02: 'online enciphered PIN',
  0x03: 'offline plaintext PIN and signature',
  0x04: 'offline enciphered PIN',
  0x05: 'offline enciphered PIN and signature',
  0x1e: 'signature',
  0x1f: 'no CVM required',
};
const CVM_CONDITIONS: Record<number, string> = {
  0x00: 'always',
  0x01: 'if unattended cash',
  0x02: 'if not unattended cash, manual cash or cashback',
  0x03: 'if terminal supports the CVM',
  0x04: 'if manual cash',
  0x05: 'if purchase with cashback',
  0x06: 'if under X',
  0x07: 'if over X',
  0x08: 'if under Y',
  0x09: 'if over Y',
};

/** A one-line meaning of a value, or undefined when there is nothing to add to the hex. */
export function explainValue(tag: number, value: Buffer): string | undefined {
  try {
    if (DOL_TAGS.has(tag))
      return parseDol(value)
        .map((e) => `${tagToHex(e.tag)} ${tagName(e.tag)} [${e.length}]`)
        .join('; ');
    if (tag === 0x95 && value.length === 5) return tvrBitsOf(value).join(', ') || 'no bit set';
    if (tag === 0x9b && value.length === 2) return tsiBitsOf(value).join(', ') || 'no bit set';
    if (tag === 0x82 && value.length === 2)
      return (
        AIP_BITS.filter(([bit]) => (value[0]! & bit) !== 0)
          .map(([, name]) => name)
          .join(', ') || 'nothing supported'
      );
    if (tag === 0x8e && value.length >= 8 && value.length % 2 === 0) {
      const rules: string[] = [];
      for (let pos = 8; pos + 1 < value.length; pos += 2) {
        const method = value[pos]!;
        rules.push(
          `${CVM_METHODS[method & 0x3f] ?? `method ${(method & 0x3f).toString(16)}`} ${CVM_CONDITIONS[value[pos + 1]!] ?? `condition ${value[pos + 1]}`}${method & 0x40 ? ', else next' : ''}`,
        );
      }
      return `X=${value.readUInt32BE(0)} Y=${value.readUInt32BE(4)}: ${rules.join('; ')}`;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
