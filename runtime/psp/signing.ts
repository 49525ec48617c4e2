/**
 * How the terminal and the PSP sign what they send each other (docs/psp.md, "Signing").
 *
 * Each message is signed over one canonical string: the method (or ANSWER <status>, or
 * NOTIFY), the path, the merchant and terminal ids, the timestamp, the nonce and the SHA-256
 * of the body bytes, one per line. Binding the ids keeps a message for one terminal from being
 * replayed to another; binding the body hash keeps the signature small whatever the body.
 * An answer carries the nonce of the request it answers, so an old answer cannot be replayed
 * as the answer to a new request.
 *
 * Two schemes, node:crypto only: HMAC-SHA256 with a secret both sides hold, or ECDSA P-256
 * where each side signs with its own private key and checks with the other's public key.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as cryptoSign,
  timingSafeEqual,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

export type PspSigningScheme = 'hmac-sha256' | 'ecdsa-p256';

/** The header names, lower case as node:http hands them over. */
export const PSP_HEADERS = {
  merchant: 'x-psp-merchant',
  terminal: 'x-psp-terminal',
  timestamp: 'x-psp-timestamp',
  nonce: 'x-psp-nonce',
  signature: 'x-psp-signature',
  idempotencyKey: 'idempotency-key',
} as const;

/** What is signed, one part per line (see canonicalString). */
export interface SignedParts {
  /** `POST`, `GET`, `ANSWER 200`, `NOTIFY`. */
  method: string;
  path: string;
  merchantId: string;
  terminalId: string;
  /** Milliseconds since the epoch, in decimal. */
  timestamp: string;
  nonce: string;
  body: Buffer | string;
}

export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

export function canonicalString(parts: SignedParts): string {
  return [
    parts.method,
    parts.path,
    parts.merchantId,
    parts.terminalId,
    parts.timestamp,
    parts.nonce,
    sha256Hex(parts.body),
  ].join('\n');
}

/** One side's signing: signs what it sends, checks what the other side sent. */
export interface PspSigner {
  readonly scheme: PspSigningScheme;
  /** The X-Psp-Signature value: `<scheme>=<base64>`. */
  sign(canonical: string): string;
  /** Whether a X-Psp-Signature value is this scheme's signature of the string by the other side. */
  verify(canonical: string, signature: string): boolean;
}

function signatureBytes(scheme: PspSigningScheme, signature: string): Buffer | undefined {
  const prefix = `${scheme}=`;
  if (!signature.startsWith(prefix)) return undefined;
  const text = signature.slice(prefix.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** HMAC-SHA256 with a shared secret: the same secret signs and checks both ways. */
export function hmacSigner(secret: Buffer): PspSigner {
  // A short secret can be guessed offline from one signed message.
  if (secret.length < 16) throw new RangeError('an HMAC secret must be at least 16 bytes');
  const mac = (canonical: string) => createHmac('sha256', secret).update(canonical).digest();
  return {
    scheme: 'hmac-sha256',
    sign: (canonical) => `hmac-sha256=${mac(canonical).toString('base64')}`,
    verify: (canonical, signature) => {
      const given = signatureBytes('hmac-sha256', signature);
      const expected = mac(canonical);
      return given !== undefined && given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/**
 * ECDSA P-256 over SHA-256 (signature as r||s, 64 bytes): signs with this side's private key,
 * checks with the other side's public key. Keys as PEM text or KeyObjects.
 */
export function ecdsaSigner(ownPrivateKey: KeyObject | string, peerPublicKey: KeyObject | string): PspSigner {
  const privateKey = typeof ownPrivateKey === 'string' ? createPrivateKey(ownPrivateKey) : ownPrivateKey;
  const publicKey = typeof peerPublicKey === 'string' ? createPublicKey(peerPublicKey) : peerPublicKey;
  for (const [name, key] of [
    ['private', privateKey],
    ['public', publicKey],
  ] as const) {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new RangeError(`the ${name} key is not an EC P-256 key`);
  }
  return {
    scheme: 'ecdsa-p256',
    sign: (canonical) =>
      `ecdsa-p256=${cryptoSign('sha256', Buffer.from(canonical), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64')}`,
    verify: (canonical, signature) => {
      const given = signatureBytes('ecdsa-p256', signature);
      if (given === undefined || given.length !== 64) return false;
      return cryptoVerify('sha256', Buffer.from(canonical), { key: publicKey, dsaEncoding: 'ieee-p1363' }, given);
    },
  };
}

/** A fresh nonce: 16 random bytes as hex. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** Why a message is not fresh, or undefined when it is. */
export type FreshnessProblem = 'bad-timestamp' | 'stale' | 'replayed' | 'bad-nonce';

/**
 * The freshness check of signed requests and notifications: the timestamp must be within
 * `windowMs` of now, and the nonce not seen within the window before. Nonces are remembered
 * only as long as their timestamp would still pass, so the memory stays bounded by the
 * message rate, and `maxNonces` bounds it whatever the rate.
 */
export class NonceWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    private readonly maxNonces = 100_000,
  ) {}

  /** Checks without remembering (remember only once the signature is good). */
  check(timestamp: string, nonce: string, now: number): FreshnessProblem | undefined {
    if (!/^[0-9]{1,15}$/.test(timestamp)) return 'bad-timestamp';
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return 'bad-nonce';
    if (Math.abs(now - Number(timestamp)) > this.windowMs) return 'stale';
    this.forgetOlderThan(now - this.windowMs);
    return this.seen.has(nonce) ? 'replayed' : undefined;
  }

  remember(timestamp: string, nonce: string): void {
    if (this.seen.size >= this.maxNonces) {
      // Map order is insertion order: drop the oldest.
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(nonce, Number(timestamp));
  }

  private forgetOlderThan(limit: number): void {
    for (const [nonce, at] of this.seen) if (at < limit) this.seen.delete(nonce);
  }
}
