/** config/calendar.ts: the one check of a YYYY-MM-DD date that the API, the CLI and parameter packages use. */
import t from 'tap';
import { isCalendarDay, isoDateParts } from '../../config/calendar.js';

t.test('isoDateParts reads YYYY-MM-DD and nothing else', async (t) => {
  t.same(isoDateParts('2026-12-05'), { year: 2026, month: 12, day: 5 });
  for (const text of ['2026-12-5', '26-12-05', '2026/12/05', '2026-12-05T00:00', ' 2026-12-05', ''])
    t.equal(isoDateParts(text), undefined, JSON.stringify(text));
});

t.test('isCalendarDay: the days that exist, and the ones Date would roll over', async (t) => {
  const days: Array<[number, number, number, boolean]> = [
    [2026, 2, 28, true],
    [2026, 2, 29, false],
    [2024, 2, 29, true], // leap year
    [2100, 2, 29, false], // a century not divisible by 400
    [2000, 2, 29, true],
    [2026, 4, 31, false],
    [2026, 12, 31, true],
    [2026, 13, 1, false],
    [2026, 0, 10, false],
    [2026, 1, 0, false],
  ];
  for (const [year, month, day, exists] of days)
    t.equal(isCalendarDay(year, month, day), exists, `${year}-${month}-${day}`);
});
