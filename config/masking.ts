/**
 * The one redaction policy (PCI DSS v4 display rules), declared once and used by
 * logs, the CLI, the ISO 8583 printer and receipts — like jPOS'
 * ProtectedLogListener (`protect="2 35 45 52 55"`) and pino's redact paths.
 *
 * - A PAN shows at most its first 6 and last 4 digits (receipts: last 4 only).
 * - Track data, PIN blocks, CVV, EMV data (DE55) and key material never show.
 * - Nor does the password inside a URL (`https://user:password@host/`).
 */

export const WIPED = '[WIPED]';

/** ISO 8583 data elements that are masked (PAN) or wiped (everything else). */
export const ISO8583_PAN_FIELDS: ReadonlySet<number> = new Set([2]);
export const ISO8583_WIPED_FIELDS: ReadonlySet<number> = new Set([
  35, // track 2
  36, // track 3
  45, // track 1
  52, // PIN block
  53, // security control information (key set, KSN)
  55, // ICC data (carries track-2 equivalent, cryptograms)
  96, // key management data (1993)
  120, // often private key exchange data
]);

/** Object keys whose values are never printed, whatever their shape. Lowercased, no separators. */
const SECRET_KEY_NAMES = [
  'track',
  'track1',
  'track2',
  'track3',
  'track2equivalent',
  'trackdata',
  'pinblock',
  'pin',
  'clearpin',
  'cvv',
  'cvv2',
  'cvc',
  'icc',
  'iccdata',
  'de35',
  'de45',
  'de52',
  'de55',
  'key',
  'bdk',
  'ipek',
  'pinkey',
  'mackey',
  'datakey',
  'sessionkey',
  'masterkey',
  'secret',
  'password',
  'token',
  'bearertoken',
  'datakeyhex',
  'privatekey',
];
const PAN_KEY_NAMES = ['pan', 'de2', 'cardnumber', 'primaryaccountnumber'];

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const secretKeys = new Set(SECRET_KEY_NAMES);
const panKeys = new Set(PAN_KEY_NAMES);

/**
 * Track data under any of its spellings (track2, track2Equivalent, track1Data, ...) —
 * but not a courier's `trackingNumber`, which must stay readable.
 */
const TRACK_KEY = /^(?:iso)?track[123]?(?:equivalent|data|equivalentdata|raw)?$/;
/**
 * Key material: the names payment code gives its keys (pinKey, ipek, dataKeyHex,
 * sessionKey, zpk, ...). Deliberately not "anything ending in key": a logistics
 * record's `idempotencyKey` or `sortKey` is not a secret, and the spool refuses to
 * queue payloads that carry secrets.
 */
const KEY_MATERIAL =
  /(?:^|bdk|ipek|pin|mac|data|session|master|private|secret|api|encryption|signing|transport|working|initial|transaction|issuer|icc|card|terminal|zone|vault|aes|tdes|des)key(?:hex|material)?$|^(?:bdk|ipek|kek|zmk|zpk|tmk|tpk|tak|zak)$/;

/** True when a key (in any case or separator style) names data that must be wiped. */
export function isSecretKeyName(key: string): boolean {
  const k = normalizeKey(key);
  return secretKeys.has(k) || k.endsWith('pinblock') || TRACK_KEY.test(k) || KEY_MATERIAL.test(k);
}

export function isPanKeyName(key: string): boolean {
  return panKeys.has(normalizeKey(key));
}

/** First 6 and last 4 digits of a PAN; the rest as `*`. Short values are wiped whole. */
export function maskPan(pan: string): string {
  const digits = pan.trim();
  if (digits.length < 13) return WIPED;
  return digits.slice(0, 6) + '*'.repeat(digits.length - 10) + digits.slice(-4);
}

/** Receipt form: last 4 digits only. */
export function maskPanForReceipt(pan: string): string {
  const digits = pan.trim();
  if (digits.length < 13) return WIPED;
  return '*'.repeat(digits.length - 4) + digits.slice(-4);
}

/** A PAN-looking run of 13-19 digits inside free text (with optional spaces or dashes). */
const PAN_IN_TEXT = /(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])/g;
/** Track 2 (`;PAN=YYMM...?`, or `PAN=YYMM` / `PAN DYYMM` in hex) and track 1 (`%B...^NAME^...?`). */
const TRACK2_IN_TEXT = /;?[0-9]{12,19}[=D][0-9]{4}[0-9A-F]*\??/gi;
const TRACK1_IN_TEXT = /%?B[0-9]{12,19}\^[^^]{2,26}\^[0-9]{4}[^?]*\??/g;
/**
 * A UUID (8-4-4-4-12 hex). Its digits can line up as a Luhn-valid 13-19 digit run
 * (`01a24622-4988-7001-...` holds `24622-4988-7001`), but a UUID is an identifier the
 * technician must read whole, never a PAN: it is matched first and kept.
 */
const UUID_IN_TEXT = /(?<![0-9A-Za-z-])[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}(?![0-9A-Za-z-])/gi;
const UUID_OR_PAN_IN_TEXT = new RegExp(`(${UUID_IN_TEXT.source})|${PAN_IN_TEXT.source}`, 'gi');

/**
 * The password of a URL's user info (`scheme://user:password@host`): a back-end or proxy
 * URL in the config may carry one, and its key name (`url`) says nothing secret.
 */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#@]+(@)/gi;

/**
 * Scrubs free text: track data is wiped, PAN-like digit runs that pass Luhn are masked 6+4,
 * a URL's password is wiped (its user name stays). Used on messages that may quote input
 * (error messages, log lines) and on every string `redact` shows.
 */
export function scrubText(text: string): string {
  return text
    .replace(URL_PASSWORD, `$1${WIPED}$2`)
    .replace(TRACK1_IN_TEXT, WIPED)
    .replace(TRACK2_IN_TEXT, WIPED)
    .replace(UUID_OR_PAN_IN_TEXT, (run, uuid: string | undefined) => {
      if (uuid !== undefined) return run;
      const digits = run.replace(/[ -]/g, '');
      return luhnValid(digits) ? maskPan(digits) : run;
    });
}

export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Masks one ISO 8583 field value for display, by field number. */
export function maskIso8583Field(field: number, value: string): string {
  if (ISO8583_PAN_FIELDS.has(field)) return maskPan(value);
  if (ISO8583_WIPED_FIELDS.has(field)) return WIPED;
  return value;
}

/**
 * Deep copy of a value with secrets wiped and PANs masked, by key name, and
 * free-text strings scrubbed. Buffers are wiped unless under a known harmless key.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 12) return '[DEPTH]';
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) {
    return { type: value.name, message: scrubText(value.message), code: (value as { code?: unknown }).code };
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (isPanKeyName(key) && (typeof v === 'string' || typeof v === 'number')) out[key] = maskPan(String(v));
    else if (isSecretKeyName(key) && v !== undefined && v !== null && v !== '') out[key] = WIPED;
    else out[key] = redact(v, depth + 1);
  }
  return out;
}
