/**
 * The terminal's wall clock: what a clock on the box's wall in its IANA time zone reads at
 * an instant. The card (9A, 9F21), the acquirer (DE12, DE13, the RRN's day and hour) and the
 * expiry checks all need the same local date, and it must follow daylight saving time, so it
 * is read for each instant, never as an offset fixed at start: from the system's zoneinfo file
 * (config/tzif.ts says why not Intl), and through Intl only for a zone with no file here.
 *
 * It lives in config/ because the config schema checks a zone name with it and config is the
 * one leaf that emv and runtime may both import (DESIGN.md's dependency rule).
 */

import { readlinkSync } from 'node:fs';
import { readZone, type ZoneOffsets } from './tzif.js';

/** One reading of the wall clock. Months and days count from 1. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Minutes the zone is ahead of UTC at that instant (negative west of Greenwich). */
  utcOffsetMinutes: number;
}

// A terminal has one zone: its file is read once (null: no file, Intl answers).
const zones = new Map<string, ZoneOffsets | null>();

function zoneFile(timeZone: string): ZoneOffsets | undefined {
  let zone = zones.get(timeZone);
  if (zone === undefined) {
    zone = readZone(timeZone) ?? null;
    zones.set(timeZone, zone);
  }
  return zone ?? undefined;
}

// Building a DateTimeFormat costs far more than using one.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    // en-US with h23: numeric parts in a known order, and midnight as 00 (not 24).
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `name` is a time zone this runtime knows (an IANA name such as `Asia/Tokyo`, or `UTC`). */
export function isTimeZone(name: string): boolean {
  if (typeof name !== 'string' || name === '') return false;
  if (name === 'UTC' || zoneFile(name) !== undefined) return true;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The zone the operating system is set to, read as the C library does: `TZ` when it names a
 * zone, else where /etc/localtime links into the zoneinfo tree; Intl when neither says, `UTC`
 * when nothing does.
 */
export function systemTimeZone(): string {
  const fromEnv = process.env.TZ?.replace(/^:/, '');
  if (fromEnv && isTimeZone(fromEnv)) return fromEnv;
  try {
    const link = /\/zoneinfo\/(.+)$/.exec(readlinkSync('/etc/localtime'))?.[1];
    if (link && isTimeZone(link)) return link;
  } catch {
    // Not a link (a copied file) or no file: Intl knows other ways.
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/**
 * The wall clock in `timeZone` at `at`. A zone the runtime does not know is a RangeError
 * from Intl: callers check the name once (the config schema does) rather than per reading.
 */
export function wallClock(at: Date, timeZone: string): WallClock {
  if (timeZone === 'UTC') return wallClockAtOffset(at, 0);
  const zone = zoneFile(timeZone);
  if (zone !== undefined) {
    // An offset may have seconds (local mean time before 1900): the reading has them, as Intl's does.
    const offsetSeconds = zone.offsetAt(Math.floor(at.getTime() / 1000));
    return {
      ...utcFields(new Date(at.getTime() + offsetSeconds * 1000)),
      utcOffsetMinutes: Math.round(offsetSeconds / 60),
    };
  }
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const reading = {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
  // The wall clock read as if it were UTC, minus the instant (to the whole second the parts have).
  const asUtc = Date.UTC(reading.year, reading.month - 1, reading.day, reading.hour, reading.minute, reading.second);
  const utcOffsetMinutes = Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
  return { ...reading, utcOffsetMinutes };
}

/** The wall clock `utcOffsetMinutes` ahead of UTC at `at`: a fixed offset, no daylight saving time. */
export function wallClockAtOffset(at: Date, utcOffsetMinutes: number): WallClock {
  return { ...utcFields(new Date(at.getTime() + utcOffsetMinutes * 60_000)), utcOffsetMinutes };
}

/** The date and time fields of `shifted` read in UTC. */
function utcFields(shifted: Date): Omit<WallClock, 'utcOffsetMinutes'> {
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    second: shifted.getUTCSeconds(),
  };
}
