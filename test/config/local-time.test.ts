/**
 * The terminal's wall clock (config/local-time.ts): the date and time a clock in the box's
 * IANA zone shows at an instant, with the offset in force then (daylight saving time moves it).
 */
import t from 'tap';
import { isTimeZone, systemTimeZone, wallClock, wallClockAtOffset } from '../../config/local-time.js';

t.test('22:30 UTC is 07:30 the next day in Tokyo (UTC+9, no DST)', async (t) => {
  t.same(wallClock(new Date('2026-11-29T22:30:00Z'), 'Asia/Tokyo'), {
    year: 2026,
    month: 11,
    day: 30,
    hour: 7,
    minute: 30,
    second: 0,
    utcOffsetMinutes: 540,
  });
  t.same(wallClock(new Date('2026-11-29T22:30:00Z'), 'UTC'), {
    year: 2026,
    month: 11,
    day: 29,
    hour: 22,
    minute: 30,
    second: 0,
    utcOffsetMinutes: 0,
  });
});

t.test('the offset is the one in force at the instant: a DST switch day', async (t) => {
  // Berlin: 29 March 2026, 01:00 UTC, CET (UTC+1) becomes CEST (UTC+2).
  t.same(wallClock(new Date('2026-03-29T00:59:59Z'), 'Europe/Berlin'), {
    year: 2026,
    month: 3,
    day: 29,
    hour: 1,
    minute: 59,
    second: 59,
    utcOffsetMinutes: 60,
  });
  t.same(wallClock(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin'), {
    year: 2026,
    month: 3,
    day: 29,
    hour: 3,
    minute: 0,
    second: 0,
    utcOffsetMinutes: 120,
  });
  // New York: 1 November 2026, 06:00 UTC, EDT (UTC-4) becomes EST (UTC-5).
  t.equal(wallClock(new Date('2026-11-01T05:59:59Z'), 'America/New_York').utcOffsetMinutes, -240);
  t.equal(wallClock(new Date('2026-11-01T06:00:00Z'), 'America/New_York').utcOffsetMinutes, -300);
  t.equal(
    wallClock(new Date('2026-11-01T06:00:00Z'), 'America/New_York').hour,
    1,
    'the hour from 01:00 to 02:00 comes twice',
  );
});

t.test('midnight reads 00, not 24; a half-hour zone keeps its minutes', async (t) => {
  t.same(wallClock(new Date('2026-06-30T15:00:00Z'), 'Asia/Tokyo'), {
    year: 2026,
    month: 7,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    utcOffsetMinutes: 540,
  });
  t.same(wallClock(new Date('2026-06-30T18:29:59.900Z'), 'Asia/Kolkata'), {
    year: 2026,
    month: 6,
    day: 30,
    hour: 23,
    minute: 59,
    second: 59,
    utcOffsetMinutes: 330,
  });
});

t.test('a fixed offset, without a zone', async (t) => {
  t.same(wallClockAtOffset(new Date('2026-11-29T22:30:00Z'), 8 * 60), {
    year: 2026,
    month: 11,
    day: 30,
    hour: 6,
    minute: 30,
    second: 0,
    utcOffsetMinutes: 480,
  });
});

t.test('zone names: IANA names and UTC are known, anything else is not', async (t) => {
  for (const name of ['UTC', 'Asia/Tokyo', 'Europe/Berlin', 'America/Los_Angeles']) t.ok(isTimeZone(name), name);
  for (const name of ['Mars/Olympus', '', 'Tokyo', '+05:30']) t.notOk(isTimeZone(name), JSON.stringify(name));
  t.ok(isTimeZone(systemTimeZone()), 'the system zone is one');
});
