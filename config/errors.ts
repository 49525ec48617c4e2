/**
 * One error type for the whole runtime, with a stable code per area
 * (`CODPOS_<AREA>_<WHAT>`, in the spirit of fastify's FST_ERR_*).
 *
 * It lives in config/ because config is the one leaf every layer (emv, spool,
 * drivers, runtime) may import: the dependency rule of DESIGN.md keeps emv and
 * spool free of anything else of ours.
 *
 * The codes themselves, their meanings and HTTP statuses, are in config/error-codes.ts.
 */
import { ERROR_CODES, type ErrorCodeInfo } from './error-codes.js';

/**
 * Areas, the exit code the CLI gives when an error of that area ends a command, and the
 * HTTP status the local API answers with (a code of config/error-codes.ts may say otherwise):
 * the caller's mistakes 400, a device or the acquirer not there 503, anything else 500.
 */
export const ERROR_AREAS = {
  USAGE: { exitCode: 2, httpStatus: 400, about: 'bad command line or input given to a command' },
  CONFIG: { exitCode: 2, httpStatus: 500, about: 'configuration file or CODPOS_* environment is invalid' },
  ISO8583: { exitCode: 2, httpStatus: 500, about: 'an ISO 8583 message could not be encoded or decoded' },
  TLV: { exitCode: 2, httpStatus: 500, about: 'BER-TLV data could not be encoded or decoded' },
  QR: {
    exitCode: 2,
    httpStatus: 400,
    about: 'an EMV QR payment payload (merchant- or consumer-presented) is malformed',
  },
  CRYPTO: { exitCode: 2, httpStatus: 500, about: 'bad key, block or cryptographic input' },
  DEVICE: { exitCode: 3, httpStatus: 503, about: 'a device (scanner, reader, PIN pad, printer) failed or is absent' },
  HOST: { exitCode: 4, httpStatus: 503, about: 'the acquirer host link failed' },
  UPLINK: { exitCode: 4, httpStatus: 500, about: 'the logistics back-end link failed' },
  PSP: { exitCode: 4, httpStatus: 503, about: 'the payment service provider link (QR payments) failed' },
  FLEET: { exitCode: 4, httpStatus: 503, about: 'the fleet link (the MQTT broker of terminal management) failed' },
  PARAMS: {
    exitCode: 8,
    httpStatus: 422,
    about: 'a parameter package was refused (signature, version or content); the running parameters are unchanged',
  },
  SPOOL: { exitCode: 5, httpStatus: 500, about: 'the on-box store (SQLite spool) failed or refused a record' },
  EMV: { exitCode: 6, httpStatus: 500, about: 'the card or the EMV kernel failed' },
  DAEMON: { exitCode: 7, httpStatus: 500, about: 'the daemon could not start or is not reachable' },
  INTERNAL: { exitCode: 1, httpStatus: 500, about: 'a bug: please report it with the log' },
} as const;

export type ErrorArea = keyof typeof ERROR_AREAS;

/**
 * A registered code (config/error-codes.ts): a code that is not there, or is misspelt, is a
 * compile error wherever a code is written.
 */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether a string (a code read from the wire, say) is a registered code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** A registered code's one-line meaning. */
export function meaningOf(code: ErrorCode): string {
  return ERROR_CODES[code].meaning;
}

export interface PosErrorOptions {
  cause?: unknown;
  /** The fault is a lost link or unplugged device: the owner should reopen, not give up. */
  disconnected?: boolean;
  /** Structured facts for logs and `--json` output (never card data). */
  details?: Record<string, unknown>;
}

export class PosError extends Error {
  override readonly name = 'PosError';
  readonly code: ErrorCode;
  readonly area: ErrorArea;
  readonly disconnected: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: PosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.area = areaOf(code);
    this.disconnected = options.disconnected ?? false;
    this.details = options.details;
  }

  /** The CLI exit code: the code's own where it has one, else its area's. */
  get exitCode(): number {
    return exitCodeOf(this.code);
  }

  /** The local API's HTTP status: the code's own where it has one, else its area's. */
  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

export function exitCodeOf(code: ErrorCode): number {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.exitCode ?? ERROR_AREAS[areaOf(code)].exitCode;
}

export function httpStatusOf(code: ErrorCode): number {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.httpStatus ?? ERROR_AREAS[areaOf(code)].httpStatus;
}

export function areaOf(code: ErrorCode): ErrorArea {
  const area = code.slice('CODPOS_'.length).split('_')[0] as ErrorArea;
  if (!(area in ERROR_AREAS)) throw new TypeError(`error code ${code} names no known area`);
  return area;
}

export function isPosError(value: unknown, code?: ErrorCode): value is PosError {
  return value instanceof PosError && (code === undefined || value.code === code);
}

/** The exit code for any thrown value: a PosError's area, otherwise INTERNAL. */
export function exitCodeFor(error: unknown): number {
  return error instanceof PosError ? error.exitCode : ERROR_AREAS.INTERNAL.exitCode;
}
