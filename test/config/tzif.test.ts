/**
 * Time zones from the system's zoneinfo files (config/tzif.ts): the offsets they give agree with
 * ICU's (Intl) over transitions and DST rules, including the footer rules past 2037, the
 * southern and negative-DST zones and the version 3 rule times; broken files are refused.
 * Needs Debian's tzdata (.ci/run installs it): without it every zone would quietly go to Intl.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePosixTz, parseTzif, readZone, zoneinfoDir } from '../../config/tzif.js';
import { prng } from '../../config/prng.js';

/** The UTC offset ICU gives `timeZone` at the instant, in seconds (to the minute: ICU's longOffset has no seconds). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function intlOffsetSeconds(timeZone: string, epochSeconds: number): number {
  let formatter = formatters.get(timeZone);
  if (!formatter)
    formatters.set(timeZone, (formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })));
  const name = formatter
    .formatToParts(new Date(epochSeconds * 1000))
    .find((part) => part.type === 'timeZoneName')!.value;
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!match) throw new Error(`unexpected offset name ${name}`);
  if (!match[1]) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60;
  return match[1] === '-' ? -seconds : seconds;
}

t.ok(existsSync(join(zoneinfoDir(), 'Europe/Berlin')), `tzdata is installed (${zoneinfoDir()})`);

// Zones that stress the rules: northern and southern DST, half- and quarter-hour offsets, a
// 30-minute DST (Lord Howe), negative DST (Dublin's winter time), version 3 rule times with
// negative hours (Nuuk), zones that dropped DST (Sao Paulo, Tehran), and no DST at all.
const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'America/Santiago',
  'America/Nuuk',
  'Europe/Dublin',
  'Europe/London',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
  'Pacific/Chatham',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tehran',
  'Asia/Jakarta',
  'Asia/Tokyo',
  'Africa/Lagos',
  'Etc/GMT+5',
];

t.test('every zone agrees with Intl at 400 seeded instants from 1980 to 2100 and around each DST change', async (t) => {
  const random = prng(0x7a1f);
  const from = Date.UTC(1980, 0, 1) / 1000;
  const to = Date.UTC(2100, 0, 1) / 1000;
  for (const name of ZONES) {
    const zone = readZone(name);
    if (!zone) {
      t.fail(`${name}: no zoneinfo file`);
      continue;
    }
    const instants: number[] = [];
    for (let i = 0; i < 400; i++) instants.push(Math.floor(from + random() * (to - from)));
    // Each hour of two years, one inside the table and one far past it (the footer's rule), so
    // the seconds on either side of every change are among them.
    for (const year of [2026, 2071]) {
      for (let hour = 0; hour < 366 * 24; hour++)
        instants.push(Date.UTC(year, 0, 1) / 1000 + hour * 3600 - 1, Date.UTC(year, 0, 1) / 1000 + hour * 3600);
    }
    const wrong = instants.filter((at) => zone.offsetAt(at) !== intlOffsetSeconds(name, at)).slice(0, 3);
    t.same(
      wrong.map((at) => ({
        at: new Date(at * 1000).toISOString(),
        file: zone.offsetAt(at),
        intl: intlOffsetSeconds(name, at),
      })),
      [],
      `${name}: ${instants.length} instants`,
    );
  }
});

t.test('POSIX TZ rules: the forms a footer may hold', async (t) => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  const berlin = parsePosixTz('CET-1CEST,M3.5.0,M10.5.0/3');
  t.equal(berlin.offsetAt(at('2030-03-31T00:59:59Z')), 3600);
  t.equal(berlin.offsetAt(at('2030-03-31T01:00:00Z')), 7200, 'last Sunday of March, 02:00 standard time');
  t.equal(berlin.offsetAt(at('2030-10-27T00:59:59Z')), 7200);
  t.equal(berlin.offsetAt(at('2030-10-27T01:00:00Z')), 3600, 'last Sunday of October, 03:00 daylight time');
  t.equal(parsePosixTz('<+0545>-5:45').offsetAt(0), 5 * 3600 + 45 * 60, 'a quoted name and minutes');
  t.equal(
    parsePosixTz('EST5EDT,M3.2.0,M11.1.0').offsetAt(at('2030-07-01T12:00:00Z')),
    -4 * 3600,
    'DST one hour ahead by default',
  );
  // Julian days: J60 is 1 March in any year; 59 (counted from 0) is 29 February in a leap year.
  const julian = parsePosixTz('AAA0BBB,J60/0,J300/0');
  t.equal(julian.offsetAt(at('2028-02-29T23:59:59Z')), 0);
  t.equal(julian.offsetAt(at('2028-03-01T00:00:00Z')), 3600);
  const zeroBased = parsePosixTz('AAA0BBB,59/0,J300/0');
  t.equal(zeroBased.offsetAt(at('2028-02-29T00:00:00Z')), 3600, 'day 59 of a leap year is 29 February');
  // All year daylight time (version 3: from 1 January 00:00 to 31 December 25:00).
  t.equal(parsePosixTz('EST5EDT,0/0,J365/25').offsetAt(at('2030-12-31T20:00:00Z')), -4 * 3600);
  for (const bad of [
    '',
    'CE-1',
    'CET-1CEST',
    'CET-1CEST,M3.5.0',
    'CET-1CEST,M3.5.0,X',
    '<CET-1',
    'CET-1CEST,M3.5.0,M10.5.0/3 extra',
  ]) {
    t.throws(() => parsePosixTz(bad), /POSIX TZ rule/, JSON.stringify(bad));
  }
});

t.test('a file that is not TZif is no zone; a TZif file cut short is an error naming the zone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-tzif-'));
  writeFileSync(join(dir, 'Not_A_Zone'), 'hello, this is not a zoneinfo file at all, no, not at all');
  t.equal(readZone('Not_A_Zone', dir), undefined);
  t.equal(readZone('Missing/Zone', dir), undefined);
  t.equal(readZone('../etc/passwd', dir), undefined, 'a name is never a path out of the directory');
  const whole = readFileSync(join(zoneinfoDir(), 'Europe/Berlin'));
  for (const length of [44, 100, whole.length - 20, whole.length - 1]) {
    t.throws(
      () => parseTzif(whole.subarray(0, length), 'Europe/Berlin'),
      /time zone Europe\/Berlin: the zoneinfo file is truncated/,
      `cut at ${length} of ${whole.length}`,
    );
  }
  t.doesNotThrow(() => parseTzif(whole, 'Europe/Berlin'));
});
