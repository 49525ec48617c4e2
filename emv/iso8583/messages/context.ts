/**
 * What every POS message needs from its surroundings, injected rather than read from
 * hidden globals: the terminal's identity, a clock, and counters for the STAN and the
 * batch. The runtime passes persistent counters from the spool; tests pass fixed ones.
 */
import { PosError } from '../../../config/errors.js';
import { ISO8583_ERRORS } from '../errors.js';

export interface MessageContext {
  /** DE41, 8 characters. */
  terminalId: string;
  /** DE42, 15 characters. */
  merchantId: string;
  /** DE49, ISO 4217 numeric (e.g. "840"). */
  currency: string;
  /** DE24, the acquirer's network international identifier (3 digits), when the host wants it. */
  nii?: string;
  /** Now. DE7 is sent in UTC; DE12/13 in the terminal's local time (UTC + utcOffsetMinutes). */
  clock: () => Date;
  /** Minutes the terminal's local time is ahead of UTC (default 0). */
  utcOffsetMinutes?: number;
  /** The next system trace audit number (1..999999) for DE11. */
  nextStan: () => number;
}

/** An in-memory STAN counter (1..999999, then wraps to 1); the runtime's lives in the spool. */
export function stanCounter(last = 0): () => number {
  let value = last;
  return () => {
    value = value >= 999_999 ? 1 : value + 1;
    return value;
  };
}

/** The date-time fields of one message, all from one reading of the clock. */
export interface MessageTimes {
  /** DE7 MMDDhhmmss, UTC. */
  transmission: string;
  /** DE12 hhmmss, local. */
  localTime: string;
  /** DE13 MMDD, local. */
  localDate: string;
  /** The Date they came from. */
  at: Date;
}

export function messageTimes(context: MessageContext): MessageTimes {
  const at = context.clock();
  const local = new Date(at.getTime() + (context.utcOffsetMinutes ?? 0) * 60_000);
  return {
    transmission: mmdd(at) + hhmmss(at),
    localTime: hhmmss(local),
    localDate: mmdd(local),
    at,
  };
}

/** DE11 as 6 digits from the context's counter. */
export function nextStan(context: MessageContext): string {
  const stan = context.nextStan();
  if (!Number.isInteger(stan) || stan < 1 || stan > 999_999) {
    throw new PosError(ISO8583_ERRORS.BAD_VALUE, `ISO 8583 message: the STAN counter gave ${stan}; a STAN runs from 1 to 999999`, { details: { field: '11' } });
  }
  return String(stan).padStart(6, '0');
}

/**
 * A retrieval reference number (DE37, 12 characters) in the common YDDDhh + STAN form:
 * last digit of the year, day of the year, hour (local), and the 6-digit STAN.
 */
export function retrievalReference(times: MessageTimes, stan: string, utcOffsetMinutes = 0): string {
  const local = new Date(times.at.getTime() + utcOffsetMinutes * 60_000);
  const startOfYear = Date.UTC(local.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((local.getTime() - startOfYear) / 86_400_000) + 1;
  return String(local.getUTCFullYear() % 10) + String(dayOfYear).padStart(3, '0') + two(local.getUTCHours()) + stan;
}

/** An amount in minor units as the 12 digits of DE4 (or any n12 amount field). */
export function amountField(minorUnits: number | bigint, field = '4'): string {
  const value = BigInt(minorUnits);
  if (value < 0n || value > 999_999_999_999n) {
    throw new PosError(ISO8583_ERRORS.BAD_VALUE, `ISO 8583 field ${field}: an amount is 0 to 999999999999 minor units, not ${String(minorUnits)}`, { details: { field } });
  }
  return value.toString().padStart(12, '0');
}

function mmdd(d: Date): string {
  return two(d.getUTCMonth() + 1) + two(d.getUTCDate());
}

function hhmmss(d: Date): string {
  return two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds());
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}
