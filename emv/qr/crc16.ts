/**
 * CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR),
 * the checksum of EMVCo merchant-presented QR tag 63: computed over the payload's UTF-8 bytes
 * up to and including "6304", written as four upper-case hex digits.
 */

/** The CRC of `data` (a string is taken as its UTF-8 bytes), 0..0xFFFF. */
export function crc16Ccitt(data: Buffer | string): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** The CRC as tag 63 shows it: four upper-case hex digits ("A13A"). */
export function crc16Hex(data: Buffer | string): string {
  return crc16Ccitt(data).toString(16).toUpperCase().padStart(4, '0');
}
