/**
 * Courier PINs as the back-end hands them to the terminal: never the PIN, a scrypt hash
 * (`scrypt$N$r$p$salt$hash`, base64), so check-in works offline against the cached list and a
 * stolen terminal does not give PINs away. Verification compares in constant time.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

export function hashCourierPin(pin: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(pin, salt, KEY_LENGTH, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `pin` matches `stored`; false for a wrong PIN or a hash in another format. */
export function verifyCourierPin(pin: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  if (expected.length < 16 || !/^\d+$/.test(n) || !/^\d+$/.test(r) || !/^\d+$/.test(p) || Number(n) > 1 << 20) return false;
  const actual = scryptSync(pin, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 });
  return timingSafeEqual(actual, expected);
}
