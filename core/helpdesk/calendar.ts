// CONTRACT (helper B owns this file).

/** The working calendar: ISO weekdays (1 = Monday … 7 = Sunday), hours, and exceptions by date (YYYY-MM-DD). */
export interface WorkCalendar {
  workDays: number[];
  /** minutes from midnight, local time */
  dayStartMinute: number;
  dayEndMinute: number;
  /** date → working (a moved working Saturday) or not (a holiday) */
  exceptions: Map<string, boolean>;
}

/** The instant `minutes` working minutes after `from`, in the time zone `tz`. */
export function addWorkingMinutes(cal: WorkCalendar, tz: string, from: Date, minutes: number): Date {
  void [cal, tz, from, minutes];
  throw new Error('not implemented');
}

/** Working minutes between two instants (0 when b <= a). */
export function workingMinutesBetween(cal: WorkCalendar, tz: string, a: Date, b: Date): number {
  void [cal, tz, a, b];
  throw new Error('not implemented');
}
