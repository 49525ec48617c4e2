/**
 * What the scanner read from a consignee's wallet: a consumer-presented QR (CPM, base64 of
 * BER-TLV, so it starts "hQ" = byte 85) or a plain wallet token the PSP issued. A token is
 * defined here as 16 to 32 letters and digits ([0-9A-Za-z]) that is not a valid CPM and does not
 * start like an MPM payload ("000201"). The text may carry card data: no error message repeats
 * it, only what was wrong and where.
 */
import { PosError } from '../../config/errors.js';
import { parseCpm, type CpmPayload } from './cpm.js';

export type ConsumerCode = { kind: 'cpm'; cpm: CpmPayload } | { kind: 'token'; token: string };

export const WALLET_TOKEN_MIN_LENGTH = 16;
export const WALLET_TOKEN_MAX_LENGTH = 32;
const TOKEN_CHARACTER = /[0-9A-Za-z]/;
/** Base64 of a TLV that starts with tag 85 (the CPM payload format indicator). */
const CPM_PREFIX = 'hQ';
/** The start of every MPM payload: its payload format indicator, 00 02 01. */
const MPM_PREFIX = '000201';

function codeError(message: string, details: Record<string, unknown>): PosError {
  return new PosError('CODPOS_QR_CONSUMER_CODE', `QR: the scanned wallet code ${message}`, { details });
}

function isWalletToken(text: string): boolean {
  if (text.length < WALLET_TOKEN_MIN_LENGTH || text.length > WALLET_TOKEN_MAX_LENGTH) return false;
  for (const character of text) if (!TOKEN_CHARACTER.test(character)) return false;
  return true;
}

/** Classifies and decodes a scanned consumer code; anything else is a CODPOS_QR_* naming why. */
export function parseConsumerCode(text: string): ConsumerCode {
  if (text.startsWith(CPM_PREFIX)) {
    try {
      return { kind: 'cpm', cpm: parseCpm(text) };
    } catch (error) {
      // A token may start "hQ" by chance: it is a token when it is not a valid CPM.
      if (isWalletToken(text)) return { kind: 'token', token: text };
      throw error;
    }
  }
  // A merchant's code scanned by mistake must not go to the PSP as a token, even when it is all digits and letters.
  if (text.startsWith(MPM_PREFIX)) {
    throw codeError('is a merchant-presented code (MPM), not a consumer-presented one', { length: text.length });
  }
  if (isWalletToken(text)) return { kind: 'token', token: text };
  if (text.length === 0) throw codeError('is empty', { length: 0 });
  const bad = Array.from(text).findIndex((character) => !TOKEN_CHARACTER.test(character));
  if (bad >= 0) {
    throw codeError(
      `is not a CPM code (no "hQ" start) and not a wallet token: position ${bad} is not a letter or digit`,
      {
        offset: bad,
        length: text.length,
      },
    );
  }
  throw codeError(
    `is not a CPM code (no "hQ" start) and not a wallet token: ${text.length} characters, a token has ${WALLET_TOKEN_MIN_LENGTH} to ${WALLET_TOKEN_MAX_LENGTH}`,
    { length: text.length },
  );
}
