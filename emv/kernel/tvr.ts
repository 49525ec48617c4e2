/**
 * Terminal Verification Results (tag 95, 5 bytes) and Transaction Status Information
 * (tag 9B, 2 bytes), every bit named as in EMV Book 3 annex C5 and C6. Bits are
 * addressed as [byte (1-based), bit (8 = most significant)] like the books do.
 */

export type BitAddress = readonly [byte: number, bit: number];

export const TVR = {
  // Byte 1
  offlineDataAuthenticationNotPerformed: [1, 8],
  sdaFailed: [1, 7],
  iccDataMissing: [1, 6],
  cardOnExceptionFile: [1, 5],
  ddaFailed: [1, 4],
  cdaFailed: [1, 3],
  sdaSelected: [1, 2],
  // Byte 2
  differentApplicationVersions: [2, 8],
  expiredApplication: [2, 7],
  applicationNotYetEffective: [2, 6],
  serviceNotAllowed: [2, 5],
  newCard: [2, 4],
  // Byte 3
  cardholderVerificationNotSuccessful: [3, 8],
  unrecognisedCvm: [3, 7],
  pinTryLimitExceeded: [3, 6],
  pinPadNotPresentOrNotWorking: [3, 5],
  pinNotEntered: [3, 4],
  onlinePinEntered: [3, 3],
  // Byte 4
  exceedsFloorLimit: [4, 8],
  lowerConsecutiveOfflineLimitExceeded: [4, 7],
  upperConsecutiveOfflineLimitExceeded: [4, 6],
  selectedRandomlyForOnline: [4, 5],
  merchantForcedOnline: [4, 4],
  // Byte 5
  defaultTdolUsed: [5, 8],
  issuerAuthenticationFailed: [5, 7],
  scriptFailedBeforeFinalGenerateAc: [5, 6],
  scriptFailedAfterFinalGenerateAc: [5, 5],
} as const satisfies Record<string, BitAddress>;

export type TvrBit = keyof typeof TVR;

export const TSI = {
  offlineDataAuthenticationPerformed: [1, 8],
  cardholderVerificationPerformed: [1, 7],
  cardRiskManagementPerformed: [1, 6],
  issuerAuthenticationPerformed: [1, 5],
  terminalRiskManagementPerformed: [1, 4],
  scriptProcessingPerformed: [1, 3],
} as const satisfies Record<string, BitAddress>;

export type TsiBit = keyof typeof TSI;

/** A named bit field over a Buffer (kept as a Buffer so DOLs read the live value). */
export class BitField<Name extends string> {
  readonly bytes: Buffer;
  constructor(
    private readonly names: Record<Name, BitAddress>,
    length: number,
  ) {
    this.bytes = Buffer.alloc(length);
  }

  set(name: Name): void {
    const [byte, bit] = this.names[name];
    this.bytes[byte - 1]! |= 1 << (bit - 1);
  }

  has(name: Name): boolean {
    return isSet(this.bytes, this.names[name]);
  }

  /** Names of the bits that are set, in book order. */
  setBits(): Name[] {
    return namesOfSetBits(this.names, this.bytes);
  }

  hex(): string {
    return this.bytes.toString('hex').toUpperCase();
  }
}

export const newTvr = () => new BitField<TvrBit>(TVR, 5);
export const newTsi = () => new BitField<TsiBit>(TSI, 2);

function isSet(value: Buffer, [byte, bit]: BitAddress): boolean {
  return ((value[byte - 1] ?? 0) & (1 << (bit - 1))) !== 0;
}

function namesOfSetBits<Name extends string>(names: Record<Name, BitAddress>, value: Buffer): Name[] {
  return (Object.keys(names) as Name[]).filter((n) => isSet(value, names[n]));
}

/** Names of the TVR bits set in a 5-byte value (for logs, receipts and tests). */
export const tvrBitsOf = (value: Buffer): TvrBit[] => namesOfSetBits(TVR, value);

export const tsiBitsOf = (value: Buffer): TsiBit[] => namesOfSetBits(TSI, value);
