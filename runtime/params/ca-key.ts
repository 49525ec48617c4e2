/**
 * Checks on a certification authority public key as a package brings it (EMV Book 2, 11.2.2):
 * a key mangled on the way, or already expired, is refused with the package instead of failing
 * every card issued under it.
 */
import { createHash } from 'node:crypto';
import { isCalendarDay } from '../../config/calendar.js';
import { PosError } from '../../config/errors.js';
import type { CaKeyParams } from './types.js';

/** EMV Book 2 allows CA moduli up to 248 bytes; below 64 bytes (512 bits) no scheme has issued one. */
export const CA_MODULUS_MIN_BYTES = 64;
export const CA_MODULUS_MAX_BYTES = 248;
/** The two exponents EMV allows (Book 2, 5.1 and 6.1). */
const EXPONENTS = ['03', '010001'];

/** SHA-1 over RID || index || modulus || exponent, as 40 upper-case hex digits. */
export function caKeyChecksum(key: Pick<CaKeyParams, 'rid' | 'index' | 'modulus' | 'exponent'>): string {
  return createHash('sha1')
    .update(Buffer.from(key.rid + key.index + key.modulus + key.exponent, 'hex'))
    .digest('hex')
    .toUpperCase();
}

/** The last moment a key with this YYMMDD expiry is used (the end of that day, UTC), or undefined for no real date. */
export function caKeyExpiryEnd(expiry: string): Date | undefined {
  const m = /^([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(expiry);
  if (m === null) return undefined;
  const year = 2000 + Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (!isCalendarDay(year, month, day)) return undefined;
  return new Date(Date.UTC(year, month - 1, day) + 86_400_000 - 1);
}

const isHex = (text: string, digits?: number) =>
  /^[0-9A-Fa-f]*$/.test(text) && text.length % 2 === 0 && (digits === undefined || text.length === digits);

/** Throws CODPOS_PARAMS_CA_KEY naming the key (rid/index) and the check it fails. */
export function checkCaKey(key: CaKeyParams, now: Date): void {
  const name = `CA key ${key.rid}/${key.index}`;
  const fail: (check: string, problem: string) => never = (check, problem) => {
    throw new PosError('CODPOS_PARAMS_CA_KEY', `${name}: ${problem}`, {
      details: { rid: key.rid, index: key.index, check },
    });
  };
  if (!isHex(key.rid, 10)) fail('rid', 'the RID must be 5 bytes (10 hex digits)');
  if (!isHex(key.index, 2)) fail('index', 'the index must be 1 byte (2 hex digits)');
  if (!isHex(key.modulus) || key.modulus.length === 0) fail('modulus', 'the modulus must be hex, whole bytes');
  const modulusBytes = key.modulus.length / 2;
  if (modulusBytes < CA_MODULUS_MIN_BYTES || modulusBytes > CA_MODULUS_MAX_BYTES)
    fail(
      'modulus',
      `the modulus is ${modulusBytes} bytes; EMV CA keys are ${CA_MODULUS_MIN_BYTES} to ${CA_MODULUS_MAX_BYTES}`,
    );
  if (!EXPONENTS.includes(key.exponent.toUpperCase()))
    fail('exponent', `the exponent must be 03 or 010001, not ${JSON.stringify(key.exponent)}`);
  const end = caKeyExpiryEnd(key.expiry);
  if (end === undefined) fail('expiry', `the expiry ${JSON.stringify(key.expiry)} is not a YYMMDD date`);
  if (now.getTime() > end.getTime())
    fail('expiry', `expired on 20${key.expiry.slice(0, 2)}-${key.expiry.slice(2, 4)}-${key.expiry.slice(4, 6)}`);
  if (!isHex(key.checksum, 40)) fail('checksum', 'the checksum must be 20 bytes (40 hex digits)');
  const expected = caKeyChecksum(key);
  if (key.checksum.toUpperCase() !== expected)
    fail('checksum', `the SHA-1 checksum ${key.checksum.toUpperCase()} does not match the key (${expected})`);
}

/** Every key checked, and no RID/index twice (which one would the kernel use?). */
export function checkCaKeys(keys: readonly CaKeyParams[], now: Date): void {
  const seen = new Set<string>();
  for (const key of keys) {
    checkCaKey(key, now);
    const id = `${key.rid}/${key.index}`.toUpperCase();
    if (seen.has(id))
      throw new PosError('CODPOS_PARAMS_CA_KEY', `CA key ${key.rid}/${key.index}: listed twice`, {
        details: { rid: key.rid, index: key.index, check: 'duplicate' },
      });
    seen.add(id);
  }
}
