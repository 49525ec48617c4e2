/**
 * What every POS message needs from its surroundings, injected rather than read from
 * hidden globals: the terminal's identity, a clock, and counters for the STAN and the
 * batch. The runtime passes persistent counters from the spool; tests pass fixed ones.
 */
import { PosError } from '../../../config/errors.js';
import { wallClock, wallClockAtOffset, type WallClock } from '../../../config/local-time.js';
import { ISO8583_ERRORS } from '../errors.js';
import type { IsoFields } from '../message.js';
import { DE } from './fields.js';

export interface MessageContext {
  /** DE41, 8 characters. */
  terminalId: string;
  /** DE42, 15 characters. */
  merchantId: string;
  /** DE49, ISO 4217 numeric (e.g. "840"). */
  currency: string;
  /** DE24, the acquirer's network international identifier (3 digits), when the host wants it. */
  nii?: string;
  /** Now. DE7 is sent in UTC; DE12/13 (and the RRN's day and hour) in the terminal's local time. */
  clock: () => Date;
  /**
   * The terminal's IANA time zone (e.g. `Asia/Tokyo`): DE12/13 are its wall clock at each
   * message's instant, daylight saving time included. The daemon sets it from `terminal.timeZone`.
   */
  timeZone?: string;
  /** Without `timeZone`: a fixed offset of the local time ahead of UTC, in minutes (default 0). */
  utcOffsetMinutes?: number;
  /** The next system trace audit number (1..999999) for DE11. */
  nextStan: () => number;
  /**
   * DE18, the merchant category code (4 digits, ISO 18245), put in the 0200, 0220 and 0400;
   * absent when the host's dialect has no DE18.
   */
  merchantCategoryCode?: string;
  /**
   * Which code a reversal's reason takes in DE25 (see `REVERSAL_REASON_CODES`): `1987` (2 digits,
   * the 1987 layouts' n2 POS condition code; the default) or `1993` (4 digits, the message
   * reason code of a dialect whose DE25 is n4, like iso93b).
   */
  reversalReasonLayout?: '1987' | '1993';
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
  /** The terminal's wall clock at `at` (DE12/13 and the RRN are read from it). */
  local: WallClock;
}

export function messageTimes(context: MessageContext): MessageTimes {
  const at = context.clock();
  const utc = wallClockAtOffset(at, 0);
  const local = localClock(context, at);
  return {
    transmission: mmdd(utc) + hhmmss(utc),
    localTime: hhmmss(local),
    localDate: mmdd(local),
    at,
    local,
  };
}

/** The terminal's wall clock at `at`: by its time zone when the context names one, else by the fixed offset. */
export function localClock(context: Pick<MessageContext, 'timeZone' | 'utcOffsetMinutes'>, at: Date): WallClock {
  return context.timeZone !== undefined
    ? wallClock(at, context.timeZone)
    : wallClockAtOffset(at, context.utcOffsetMinutes ?? 0);
}

/** DE11 as 6 digits from the context's counter. */
export function nextStan(context: MessageContext): string {
  const stan = context.nextStan();
  if (!Number.isInteger(stan) || stan < 1 || stan > 999_999) {
    throw new PosError(
      ISO8583_ERRORS.BAD_VALUE,
      `ISO 8583 message: the STAN counter gave ${stan}; a STAN runs from 1 to 999999`,
      { details: { field: '11' } },
    );
  }
  return String(stan).padStart(6, '0');
}

/**
 * A retrieval reference number (DE37, 12 characters) in the common YDDDhh + STAN form:
 * last digit of the year, day of the year, hour (all local), and the 6-digit STAN.
 */
export function retrievalReference(times: MessageTimes, stan: string): string {
  const { local } = times;
  const dayOfYear =
    Math.round((Date.UTC(local.year, local.month - 1, local.day) - Date.UTC(local.year, 0, 1)) / 86_400_000) + 1;
  return String(local.year % 10) + String(dayOfYear).padStart(3, '0') + two(local.hour) + stan;
}

/** An amount in minor units as the 12 digits of DE4 (or any n12 amount field). */
export function amountField(minorUnits: number | bigint, field = '4'): string {
  const value = BigInt(minorUnits);
  if (value < 0n || value > 999_999_999_999n) {
    throw new PosError(
      ISO8583_ERRORS.BAD_VALUE,
      `ISO 8583 field ${field}: an amount is 0 to 999999999999 minor units, not ${String(minorUnits)}`,
      { details: { field } },
    );
  }
  return value.toString().padStart(12, '0');
}

function mmdd(c: WallClock): string {
  return two(c.month) + two(c.day);
}

function hhmmss(c: WallClock): string {
  return two(c.hour) + two(c.minute) + two(c.second);
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/**
 * DE7, DE11, DE12/DE13, DE41, DE42 and DE49: what every financial, advice and batch message of
 * this terminal carries. DE7 is the sending instant (UTC); DE12/DE13 the transaction's local time:
 * the sending instant's, or an earlier one's for a message about an earlier transaction.
 */
export function terminalFields(
  context: MessageContext,
  sent: MessageTimes,
  stan: string,
  local: Pick<MessageTimes, 'localTime' | 'localDate'> = sent,
): IsoFields {
  return {
    [DE.TRANSMISSION]: sent.transmission,
    [DE.STAN]: stan,
    [DE.LOCAL_TIME]: local.localTime,
    [DE.LOCAL_DATE]: local.localDate,
    [DE.TERMINAL_ID]: context.terminalId,
    [DE.MERCHANT_ID]: context.merchantId,
    [DE.CURRENCY]: context.currency,
  };
}
