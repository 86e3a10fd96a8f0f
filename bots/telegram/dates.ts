import { dateInZone, localTimeInZone } from '../../core/validation/time.js';

/**
 * A deadline typed by a person, in their time zone: «25.12.2026 14:30», «25.12 14:30»,
 * «сегодня 18:00», «завтра 10:00», «25.12.2026» (10:00). Null when it is not a date.
 */
export function parseDeadline(input: string, now: Date, timeZone: string): Date | null {
  const t = input.trim().toLowerCase().replace(/\s+/g, ' ');
  const time = /(?:\s|^)(\d{1,2})[:.](\d{2})$/.exec(t);
  const hh = time ? Number(time[1]) : 10;
  const mm = time ? Number(time[2]) : 0;
  if (hh > 23 || mm > 59) return null;
  const datePart = (time ? t.slice(0, time.index) : t).trim();
  const today = dateInZone(now, timeZone);
  let day: string | null = null;
  if (datePart === 'сегодня' || (datePart === '' && time)) day = today;
  else if (datePart === 'завтра') day = dateInZone(new Date(now.getTime() + 86_400_000), timeZone);
  else if (datePart === 'послезавтра') day = dateInZone(new Date(now.getTime() + 2 * 86_400_000), timeZone);
  else {
    const m = /^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?$/.exec(datePart);
    if (!m) return null;
    const year = m[3] ? Number(m[3]) : Number(today.slice(0, 4));
    const month = Number(m[2]);
    const d = Number(m[1]);
    const probe = new Date(Date.UTC(year, month - 1, d));
    if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== d) return null;
    day = `${year}-${String(month).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  }
  return localTimeInZone(day, hh, mm, timeZone);
}

/**
 * A calendar day typed by a person: «сегодня», «вчера», «25.11» (this year), «25.11.2026».
 * 'YYYY-MM-DD', or null when it is not a date.
 */
export function parseDay(input: string, now: Date, timeZone: string): string | null {
  const t = input.trim().toLowerCase();
  if (t === 'сегодня') return dateInZone(now, timeZone);
  if (t === 'вчера') return dateInZone(new Date(now.getTime() - 86_400_000), timeZone);
  const m = /^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?$/.exec(t);
  if (!m) return null;
  const year = m[3] ? Number(m[3]) : Number(dateInZone(now, timeZone).slice(0, 4));
  const month = Number(m[2]);
  const d = Number(m[1]);
  const probe = new Date(Date.UTC(year, month - 1, d));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== d) return null;
  return probe.toISOString().slice(0, 10);
}
