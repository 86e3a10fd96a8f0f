/**
 * Working-time arithmetic for the HelpDesk SLA: pure functions over a weekly calendar with dated
 * exceptions, read in an IANA time zone. Work goes day by day (a target of a week is a handful of
 * steps, not ten thousand minutes), and each day's hours are turned into instants through the
 * zone's offset on that day, so a DST change moves the instants, never the wall-clock hours.
 */

/** The working calendar: ISO weekdays (1 = Monday … 7 = Sunday), hours, and exceptions by date (YYYY-MM-DD). */
export interface WorkCalendar {
  workDays: number[];
  /** minutes from midnight, local time */
  dayStartMinute: number;
  dayEndMinute: number;
  /** date → working (a moved working Saturday) or not (a holiday) */
  exceptions: Map<string, boolean>;
}

const MINUTE = 60_000;
/** ten years of days: a calendar without a single working day must fail, not spin */
const MAX_DAYS = 3660;

/** The calendar date (YYYY-MM-DD) and the zone's offset at an instant; formatters are costly, so one per zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

function wallClock(at: Date, tz: string): { y: number; m: number; d: number; asUtc: number } {
  const parts = formatter(tz).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const y = get('year');
  const m = get('month');
  const d = get('day');
  return { y, m, d, asUtc: Date.UTC(y, m - 1, d, get('hour'), get('minute'), get('second')) };
}

const offsetMs = (at: Date, tz: string) => wallClock(at, tz).asUtc - Math.floor(at.getTime() / 1000) * 1000;

const ymd = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);

/** The local date of an instant in a zone. */
export function localDay(at: Date, tz: string): string {
  const w = wallClock(at, tz);
  return ymd(w.y, w.m, w.d);
}

function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return ymd(y, m, d + 1);
}

/** ISO weekday of a date: 1 = Monday … 7 = Sunday. */
function isoWeekday(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay() || 7;
}

/** The instant of a wall-clock minute of a date in a zone (a minute skipped by DST lands an hour later). */
export function wallTime(day: string, minute: number, tz: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d) + minute * MINUTE;
  const first = guess - offsetMs(new Date(guess), tz);
  // the offset at the result may differ from the guess's when a change lies between them
  return new Date(guess - offsetMs(new Date(first), tz));
}

export function isWorkingDay(cal: WorkCalendar, day: string): boolean {
  return cal.exceptions.get(day) ?? cal.workDays.includes(isoWeekday(day));
}

/** A day's working hours as instants, or null on a day off. */
function hoursOf(cal: WorkCalendar, day: string, tz: string): { start: number; end: number } | null {
  if (!isWorkingDay(cal, day) || cal.dayEndMinute <= cal.dayStartMinute) return null;
  return { start: wallTime(day, cal.dayStartMinute, tz).getTime(), end: wallTime(day, cal.dayEndMinute, tz).getTime() };
}

/** The instant `minutes` working minutes after `from`, in the time zone `tz`. */
export function addWorkingMinutes(cal: WorkCalendar, tz: string, from: Date, minutes: number): Date {
  if (minutes <= 0) return from;
  let left = minutes * MINUTE;
  let day = localDay(from, tz);
  for (let i = 0; i < MAX_DAYS; i++, day = nextDay(day)) {
    const h = hoursOf(cal, day, tz);
    if (!h) continue;
    const cur = Math.max(from.getTime(), h.start);
    if (cur >= h.end) continue;
    if (left <= h.end - cur) return new Date(cur + left);
    left -= h.end - cur;
  }
  throw new Error('the working calendar has no working days');
}

/** Working minutes between two instants (0 when b <= a). */
export function workingMinutesBetween(cal: WorkCalendar, tz: string, a: Date, b: Date): number {
  if (b.getTime() <= a.getTime()) return 0;
  let total = 0;
  const last = localDay(b, tz);
  let day = localDay(a, tz);
  for (let i = 0; i < MAX_DAYS * 10; i++, day = nextDay(day)) {
    const h = hoursOf(cal, day, tz);
    if (h) total += Math.max(0, Math.min(b.getTime(), h.end) - Math.max(a.getTime(), h.start));
    if (day === last) break;
  }
  return Math.round(total / MINUTE);
}
