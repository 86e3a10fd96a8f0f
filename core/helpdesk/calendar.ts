/**
 * Working-time arithmetic for the HelpDesk SLA: pure functions over a weekly calendar with dated
 * exceptions, read in an IANA time zone. Work goes day by day (a target of a week is a handful of
 * steps, not ten thousand minutes), and each day's hours are turned into instants through the
 * zone's offset on that day, so a DST change moves the instants, never the wall-clock hours.
 */
import { formatInZone, startOfDayInZone } from '../validation/time.js';

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
const DAY = 86_400_000;
/** ten years of days: a calendar without a single working day must fail, not spin */
const MAX_DAYS = 3660;

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const utcDay = (day: string) => Date.parse(`${day}T00:00:00Z`);
const nextDay = (day: string) => ymd(utcDay(day) + DAY);

/** ISO weekday of a date: 1 = Monday … 7 = Sunday. */
const isoWeekday = (day: string) => new Date(utcDay(day)).getUTCDay() || 7;

/**
 * Local midnights, kept: a time.ts helper builds an Intl formatter per call (about a millisecond), and
 * a report walks thousands of days. Dates and hours in a zone are all read through them.
 */
const midnights = new Map<string, number>();
const MIDNIGHTS_MAX = 50_000;
function midnight(day: string, tz: string): number {
  const key = `${tz}|${day}`;
  let m = midnights.get(key);
  if (m === undefined) {
    if (midnights.size >= MIDNIGHTS_MAX) midnights.clear();
    m = startOfDayInZone(day, tz).getTime();
    midnights.set(key, m);
  }
  return m;
}

/** The local date of an instant: the UTC date or a neighbour (zone offsets stay within ±14 h). */
function localDay(at: number, tz: string): string {
  const day = ymd(at);
  if (at < midnight(day, tz)) return ymd(utcDay(day) - DAY);
  const next = nextDay(day);
  return at >= midnight(next, tz) ? next : day;
}

/** What the zone's clock shows at an instant, as minutes from midnight of `day` (formatInZone reads «дд.мм.гггг, чч:мм»). */
function clockMinute(at: number, day: string, tz: string): number {
  const [dd, mm, yyyy, hh, mi] = formatInZone(new Date(at), tz).match(/\d+/g)!.map(Number) as [number, number, number, number, number];
  return (Date.UTC(yyyy, mm - 1, dd) - utcDay(day)) / MINUTE + hh * 60 + mi;
}

/**
 * The instant of a wall-clock minute of a date in a zone. Midnight + minutes is right unless the
 * day is not 24 hours long (a DST change): then the clock may show an hour more or less, and we step
 * back by what it shows extra. A minute skipped by the change lands an hour later.
 */
function wallTime(day: string, minute: number, tz: string): number {
  const start = midnight(day, tz);
  const guess = start + minute * MINUTE;
  if (midnight(nextDay(day), tz) - start === DAY) return guess;
  const drift = clockMinute(guess, day, tz) - minute;
  if (!drift) return guess;
  const fixed = guess - drift * MINUTE;
  return clockMinute(fixed, day, tz) === minute ? fixed : guess;
}

function isWorkingDay(cal: WorkCalendar, day: string): boolean {
  return cal.exceptions.get(day) ?? cal.workDays.includes(isoWeekday(day));
}

/** A day's working hours as instants, or null on a day off. */
function hoursOf(cal: WorkCalendar, day: string, tz: string): { start: number; end: number } | null {
  if (!isWorkingDay(cal, day) || cal.dayEndMinute <= cal.dayStartMinute) return null;
  return { start: wallTime(day, cal.dayStartMinute, tz), end: wallTime(day, cal.dayEndMinute, tz) };
}

/** The instant `minutes` working minutes after `from`, in the time zone `tz`. */
export function addWorkingMinutes(cal: WorkCalendar, tz: string, from: Date, minutes: number): Date {
  if (minutes <= 0) return from;
  let left = minutes * MINUTE;
  let day = localDay(from.getTime(), tz);
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
  const last = localDay(b.getTime(), tz);
  let day = localDay(a.getTime(), tz);
  for (let i = 0; i < MAX_DAYS * 10; i++, day = nextDay(day)) {
    const h = hoursOf(cal, day, tz);
    if (h) total += Math.max(0, Math.min(b.getTime(), h.end) - Math.max(a.getTime(), h.start));
    if (day === last) break;
  }
  return Math.round(total / MINUTE);
}
