/**
 * Calendar days as the API, the CLI and parameter packages write them. Their shape alone lets
 * 2026-02-30 through: a day that has no records would report an empty day, and a CA key that
 * expires on it would never be checked right. One check for every place that reads a date.
 */

/** YYYY-MM-DD as its numbers, or undefined when the text has another shape (it may still be no day: isCalendarDay). */
export function isoDateParts(text: string): { year: number; month: number; day: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  return match ? { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) } : undefined;
}

/** Whether year, month (1-12) and day name a day of the calendar: Date.UTC rolls 2026-02-30 over into March. */
export function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
