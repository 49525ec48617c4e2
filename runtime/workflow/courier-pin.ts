/**
 * Courier PINs as the back-end hands them to the terminal: never the PIN, a scrypt hash
 * (`scrypt$N$r$p$salt$hash`, base64), so check-in works offline against the cached list and a
 * stolen terminal does not give PINs away. Verification compares in constant time.
 *
 * Verifying runs scrypt on libuv's thread pool (`crypto.scrypt`), not on the main thread: at
 * N=16384 it costs ~80 ms and 16 MB, which would stall every request and payment meanwhile.
 * The hash's parameters come from the back-end, so what one verification may cost is capped:
 * a hash asking for more memory or more passes than the box can spend is refused, not run.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { PosError } from '../../config/errors.js';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/** The memory one verification may take: scrypt needs about 128 * N * r bytes. */
export const MAX_PIN_HASH_MEMORY = 32 * 1024 * 1024;
/** The passes one verification may run (p multiplies the time, not the memory). */
export const MAX_PIN_HASH_PARALLELISM = 4;

/** Hashes a PIN as the back-end does (the simulator and the test plans use it; never on the daemon's path). */
export function hashCourierPin(pin: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(pin, salt, KEY_LENGTH, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * True when `pin` matches `stored`; false for a wrong PIN or a hash in another format.
 * A hash whose parameters ask for more than the caps above is refused with
 * CODPOS_UPLINK_PIN_HASH_TOO_COSTLY (the back-end must hash with cheaper parameters).
 */
export async function verifyCourierPin(pin: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  if (expected.length < 16 || !/^\d{1,10}$/.test(n) || !/^\d{1,10}$/.test(r) || !/^\d{1,10}$/.test(p)) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  const memory = 128 * cost.N * cost.r;
  if (memory > MAX_PIN_HASH_MEMORY || cost.p > MAX_PIN_HASH_PARALLELISM) {
    throw new PosError(
      'CODPOS_UPLINK_PIN_HASH_TOO_COSTLY',
      `the courier PIN hash from the back-end asks scrypt for N=${cost.N}, r=${cost.r}, p=${cost.p} (${mib(memory)} MiB, ${cost.p} pass(es)); ` +
        `this terminal verifies at most ${mib(MAX_PIN_HASH_MEMORY)} MiB (128 * N * r) and ${MAX_PIN_HASH_PARALLELISM} passes: have the back-end hash PINs with cheaper parameters`,
      {
        details: {
          ...cost,
          memoryBytes: memory,
          maxMemoryBytes: MAX_PIN_HASH_MEMORY,
          maxParallelism: MAX_PIN_HASH_PARALLELISM,
        },
      },
    );
  }
  const actual = await new Promise<Buffer | undefined>((resolve) => {
    // maxmem a little above the cap: node counts scrypt's block buffers on top of 128 * N * r.
    try {
      scrypt(
        pin,
        Buffer.from(salt, 'base64'),
        expected.length,
        { ...cost, maxmem: MAX_PIN_HASH_MEMORY + 1024 * 1024 },
        (error, key) => resolve(error ? undefined : key),
      );
    } catch {
      resolve(undefined); // parameters checked before the work starts (N not a power of two, say) throw here
    }
  });
  // Parameters scrypt itself refuses (N not a power of two, say) verify nothing, as a foreign format does.
  return actual !== undefined && timingSafeEqual(actual, expected);
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1);
}
