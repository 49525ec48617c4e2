/**
 * The qualifier bits the Visa-style kernel and card exchange (Book C-3 annex A): the reader's
 * Terminal Transaction Qualifiers (9F66, 4 bytes) and the card's Card Transaction Qualifiers
 * (9F6C, 2 bytes), each bit as [byte index from 0, mask].
 */
export type QualifierBit = readonly [byte: number, mask: number];

export const TTQ = {
  contactChipSupported: [0, 0x10],
  offlineOnlyReader: [0, 0x08],
  onlinePinSupported: [0, 0x04],
  signatureSupported: [0, 0x02],
  onlineCryptogramRequired: [1, 0x80],
  cvmRequired: [1, 0x40],
  issuerUpdateSupported: [2, 0x80],
  consumerDeviceCvmSupported: [2, 0x40],
} as const satisfies Record<string, QualifierBit>;

export const CTQ = {
  onlinePinRequired: [0, 0x80],
  signatureRequired: [0, 0x40],
  goOnlineIfOdaFails: [0, 0x20],
  switchInterfaceIfOdaFails: [0, 0x10],
  consumerDeviceCvmPerformed: [1, 0x80],
  issuerUpdateSupported: [1, 0x40],
} as const satisfies Record<string, QualifierBit>;

export function hasBit(value: Buffer | undefined, [byte, mask]: QualifierBit): boolean {
  return value !== undefined && ((value[byte] ?? 0) & mask) !== 0;
}

/** A copy of `value` with the bit set. */
export function withBit(value: Buffer, [byte, mask]: QualifierBit): Buffer {
  const out = Buffer.from(value);
  out[byte]! |= mask;
  return out;
}
