/**
 * Meaning of the DLE EOT status bytes (Epson ESC/POS; every byte has bits 1
 * and 4 set and bit 0 and 7 clear, which is how a status byte is told apart).
 */
export interface PrinterStatus {
  offline: boolean;
  coverOpen: boolean;
  paperNearEnd: boolean;
  paperOut: boolean;
  /** Autocutter or unrecoverable error. */
  error: boolean;
}

export function isStatusByte(byte: number): boolean {
  return (byte & 0x93) === 0x12;
}

/** Combines the answers to DLE EOT 1, 2, 3 and 4. */
export function parseStatus(printer: number, offlineCause: number, errorCause: number, paper: number): PrinterStatus {
  return {
    offline: (printer & 0x08) !== 0,
    coverOpen: (offlineCause & 0x04) !== 0,
    paperNearEnd: (paper & 0x0c) !== 0,
    paperOut: (paper & 0x60) !== 0 || (offlineCause & 0x20) !== 0,
    error: (errorCause & 0x68) !== 0 || (offlineCause & 0x40) !== 0,
  };
}

export function encodeStatus(status: PrinterStatus): [number, number, number, number] {
  const blocked = status.coverOpen || status.paperOut || status.error;
  return [
    0x12 | (status.offline || blocked ? 0x08 : 0),
    0x12 | (status.coverOpen ? 0x04 : 0) | (status.paperOut ? 0x20 : 0) | (status.error ? 0x40 : 0),
    0x12 | (status.error ? 0x20 : 0),
    0x12 | (status.paperNearEnd || status.paperOut ? 0x0c : 0) | (status.paperOut ? 0x60 : 0),
  ];
}

/** Why the printer cannot print now, or undefined when it can. */
export function blockingReason(status: PrinterStatus): string | undefined {
  if (status.paperOut) return 'paper out';
  if (status.coverOpen) return 'cover open';
  if (status.error) return 'printer error';
  if (status.offline) return 'offline';
  return undefined;
}
