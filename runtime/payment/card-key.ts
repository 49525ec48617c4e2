/**
 * A name for a card that is not its PAN: an HMAC of the PAN under a key made at start and
 * never stored, so the payment flow can tell "the same card" (the chip that failed and the
 * stripe swiped after it) without keeping or passing the PAN. It means nothing outside this
 * process, and nothing after a restart.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PROCESS_KEY = randomBytes(32);

export function cardKeyOf(pan: string): string {
  return createHmac('sha256', PROCESS_KEY).update(pan).digest('base64url').slice(0, 22);
}
