/** Option checks shared by the framers: each failure names the option and the framer. */
import { PosError } from '../../config/errors.js';

export function requirePositiveInteger(
  framer: string,
  option: string,
  value: unknown,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw new PosError(
      'CODPOS_USAGE_FRAMER_OPTION',
      `${framer}: option "${option}" must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function requireByte(framer: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new PosError(
      'CODPOS_USAGE_FRAMER_OPTION',
      `${framer}: option "${option}" must be a byte value 0..255, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
