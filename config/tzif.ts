/**
 * Time zones read from the operating system's zoneinfo files (TZif, RFC 8536), the way the C
 * library reads them, instead of through Intl. Intl would do: but the first Intl.DateTimeFormat
 * maps ICU's time zone and locale data into the process, about 7 MB of the daemon's resident
 * memory (measured with `npm run bench -- daemon`), on a box whose whole budget is 70 MB. The
 * files are also what the box's package manager keeps current, where ICU's copy ages with Node.
 *
 * A zone is its transitions (instants where the UTC offset changes) and, for instants past the
 * last one, the POSIX TZ rule in the file's footer (e.g. `CET-1CEST,M3.5.0,M10.5.0/3`).
 * config/local-time.ts falls back to Intl when a zone has no file here (a box without tzdata).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A zone's UTC offsets over time. */
export interface ZoneOffsets {
  /** Seconds the zone is ahead of UTC at `epochSeconds` (negative west of Greenwich). */
  offsetAt(epochSeconds: number): number;
}

/** Where zoneinfo files live: `TZDIR` as the C library reads it, else Debian's place. */
export function zoneinfoDir(): string {
  return process.env.TZDIR || '/usr/share/zoneinfo';
}

/** Names as the tz database spells them (`America/Argentina/Buenos_Aires`, `Etc/GMT+5`): never a path out of the directory. */
const ZONE_NAME = /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/;

/**
 * The zone `name` from its zoneinfo file, or undefined when there is no such file or it is not
 * a TZif file (the caller then asks Intl). Thrown only for a file that claims to be TZif and
 * is not whole: a truncated zone file must not pass for another offset.
 */
export function readZone(name: string, dir = zoneinfoDir()): ZoneOffsets | undefined {
  if (!ZONE_NAME.test(name)) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, name));
  } catch {
    return undefined;
  }
  if (bytes.length < 44 || bytes.toString('latin1', 0, 4) !== 'TZif') return undefined;
  return parseTzif(bytes, name);
}

interface Counts {
  isUtc: number;
  isStd: number;
  leap: number;
  time: number;
  type: number;
  char: number;
}

function readCounts(bytes: Buffer, at: number): Counts {
  const count = (index: number) => bytes.readUInt32BE(at + 20 + 4 * index);
  return { isUtc: count(0), isStd: count(1), leap: count(2), time: count(3), type: count(4), char: count(5) };
}

function blockLength(counts: Counts, timeSize: number): number {
  return (
    counts.time * timeSize +
    counts.time +
    counts.type * 6 +
    counts.char +
    counts.leap * (timeSize + 4) +
    counts.isStd +
    counts.isUtc
  );
}

/** A TZif file (any version) as offsets; `name` only names the file in an error. */
export function parseTzif(bytes: Buffer, name = 'zone'): ZoneOffsets {
  const truncated = () => new RangeError(`time zone ${name}: the zoneinfo file is truncated or malformed`);
  if (bytes.length < 44 || bytes.toString('latin1', 0, 4) !== 'TZif') throw truncated();
  const version = bytes[4]!;
  let counts = readCounts(bytes, 0);
  let at = 44;
  let timeSize = 4;
  // Version 2 and later repeat the data with 64-bit times after the version 1 block, then a footer.
  if (version >= 0x32) {
    at += blockLength(counts, 4);
    if (bytes.length < at + 44 || bytes.toString('latin1', at, at + 4) !== 'TZif') throw truncated();
    counts = readCounts(bytes, at);
    at += 44;
    timeSize = 8;
  }
  if (counts.type === 0 || bytes.length < at + blockLength(counts, timeSize)) throw truncated();
  const transitions: number[] = [];
  for (let i = 0; i < counts.time; i++) {
    transitions.push(timeSize === 8 ? Number(bytes.readBigInt64BE(at + 8 * i)) : bytes.readInt32BE(at + 4 * i));
  }
  at += counts.time * timeSize;
  const typeOf = [...bytes.subarray(at, at + counts.time)];
  at += counts.time;
  const offsets: number[] = [];
  for (let i = 0; i < counts.type; i++) offsets.push(bytes.readInt32BE(at + 6 * i));
  if (typeOf.some((type) => type >= counts.type)) throw truncated();
  at += counts.type * 6 + counts.char + counts.leap * (timeSize + 4) + counts.isStd + counts.isUtc;

  let rule: ZoneOffsets | undefined;
  if (timeSize === 8) {
    const end = bytes.indexOf(0x0a, at + 1);
    if (bytes[at] !== 0x0a || end < 0) throw truncated();
    const footer = bytes.toString('latin1', at + 1, end);
    if (footer !== '') rule = parsePosixTz(footer);
  }

  return {
    offsetAt(epochSeconds: number): number {
      if (transitions.length === 0 || epochSeconds < transitions[0]!) {
        // Before the first transition: type 0 (RFC 8536 3.2), or the rule when there is no table.
        return transitions.length === 0 && rule ? rule.offsetAt(epochSeconds) : offsets[0]!;
      }
      if (epochSeconds >= transitions[transitions.length - 1]! && rule) return rule.offsetAt(epochSeconds);
      // The last transition at or before the instant.
      let low = 0;
      let high = transitions.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (transitions[middle]! <= epochSeconds) low = middle;
        else high = middle - 1;
      }
      return offsets[typeOf[low]!]!;
    },
  };
}

/** A POSIX TZ rule date: `Jn` (1-365, no Feb 29), `n` (0-365), or `Mm.w.d` (month, week 1-5 with 5 the last, weekday 0 = Sunday). */
type RuleDate =
  | { kind: 'julian1'; day: number }
  | { kind: 'julian0'; day: number }
  | { kind: 'month'; month: number; week: number; weekday: number };

/**
 * A POSIX TZ string as RFC 8536 section 3.3 allows it in a footer (with its version 3
 * extensions: hours from -167 to 167 in a rule's time). Offsets in the string count west of
 * Greenwich; the result counts east, as everything else here does.
 */
export function parsePosixTz(text: string): ZoneOffsets {
  let at = 0;
  const fail = (what: string): never => {
    throw new RangeError(`POSIX TZ rule ${JSON.stringify(text)}: ${what} at character ${at + 1}`);
  };
  const name = () => {
    if (text[at] === '<') {
      const close = text.indexOf('>', at);
      if (close < 0) fail('an unclosed <name>');
      at = close + 1;
    } else {
      const start = at;
      while (at < text.length && /[A-Za-z]/.test(text[at]!)) at++;
      if (at - start < 3) fail('a zone abbreviation of 3 letters or more expected');
    }
  };
  const time = (): number => {
    const match = /^([+-]?)(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?/.exec(text.slice(at));
    if (!match) return fail('a time expected');
    at += match[0].length;
    const seconds = Number(match[2]) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0);
    return match[1] === '-' ? -seconds : seconds;
  };
  const date = (): RuleDate => {
    const match = /^(?:J(\d{1,3})|M(\d{1,2})\.(\d)\.(\d)|(\d{1,3}))/.exec(text.slice(at));
    if (!match) return fail('a rule date (Jn, n or Mm.w.d) expected');
    at += match[0].length;
    if (match[1] !== undefined) return { kind: 'julian1', day: Number(match[1]) };
    if (match[5] !== undefined) return { kind: 'julian0', day: Number(match[5]) };
    return { kind: 'month', month: Number(match[2]), week: Number(match[3]), weekday: Number(match[4]) };
  };

  name();
  const standard = -time();
  if (at === text.length) return { offsetAt: () => standard };
  name();
  const daylight = at < text.length && text[at] !== ',' ? -time() : standard + 3600;
  if (text[at] !== ',') fail('a daylight saving time rule expected');
  at++;
  const startDate = date();
  const startTime = text[at] === '/' ? (at++, time()) : 7200;
  if (text[at] !== ',') fail('the end of daylight saving time expected');
  at++;
  const endDate = date();
  const endTime = text[at] === '/' ? (at++, time()) : 7200;
  if (at !== text.length) fail('unexpected text');

  return {
    offsetAt(epochSeconds: number): number {
      const year = new Date((epochSeconds + standard) * 1000).getUTCFullYear();
      // The change to daylight time happens at a standard-time wall clock, the change back at a daylight-time one.
      const start = ruleDaySeconds(year, startDate) + startTime - standard;
      const end = ruleDaySeconds(year, endDate) + endTime - daylight;
      const inDaylight =
        start < end ? epochSeconds >= start && epochSeconds < end : !(epochSeconds >= end && epochSeconds < start);
      return inDaylight ? daylight : standard;
    },
  };
}

/** Midnight (as if UTC) of the rule date's day in `year`, in seconds since the epoch. */
function ruleDaySeconds(year: number, date: RuleDate): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const dayMs = 86_400_000;
  let ms: number;
  if (date.kind === 'julian1') {
    ms = Date.UTC(year, 0, 1) + (date.day - 1 + (leap && date.day >= 60 ? 1 : 0)) * dayMs;
  } else if (date.kind === 'julian0') {
    ms = Date.UTC(year, 0, 1) + date.day * dayMs;
  } else {
    const firstWeekday = new Date(Date.UTC(year, date.month - 1, 1)).getUTCDay();
    let day = 1 + ((date.weekday - firstWeekday + 7) % 7) + (date.week - 1) * 7;
    const monthLength = new Date(Date.UTC(year, date.month, 0)).getUTCDate();
    while (day > monthLength) day -= 7;
    ms = Date.UTC(year, date.month - 1, day);
  }
  return ms / 1000;
}
