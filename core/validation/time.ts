/** Times are stored in UTC; people see them in their own zone (default Europe/Moscow). */
export function formatInZone(date: Date, timeZone = 'Europe/Moscow'): string {
  return new Intl.DateTimeFormat('ru-RU', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function dateInZone(date: Date, timeZone = 'Europe/Moscow'): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

/** The UTC instant of local midnight of a calendar date in a zone. */
export function startOfDayInZone(day: string, timeZone = 'Europe/Moscow'): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  const offset = zoneOffsetMs(new Date(guess), timeZone);
  const first = new Date(guess - offset);
  // around a DST change the offset at the result may differ from the guess's
  return new Date(guess - zoneOffsetMs(first, timeZone));
}

/** The instant of a wall-clock time (hh:mm) on a calendar date in a zone: what a person means by «20 мая, 10:30». */
export function localTimeInZone(day: string, hh: number, mm: number, timeZone = 'Europe/Moscow'): Date {
  return new Date(startOfDayInZone(day, timeZone).getTime() + (hh * 60 + mm) * 60_000);
}

function zoneOffsetMs(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}
