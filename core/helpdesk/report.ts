import { and, eq, gte, inArray, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { tickets, users } from '../db/schema/index.js';
import { forbidden } from '../errors.js';
import { requireUser } from '../access/scope.js';
import { workingMinutesBetween } from './calendar.js';
import { loadCalendar } from './settings.js';
import { ticketTimeZone } from './sla.js';
import { isOverdue } from './overdue.js';
import { openTicketStatuses, type TicketReportRow } from './types.js';

const UNASSIGNED = 'Не назначено';

export function median(values: number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const inPeriod = (at: Date | null, from: Date, to: Date) => !!at && at >= from && at < to;

/**
 * The HelpDesk report per assignee over [from, to): created, open now, overdue now, solved, median
 * first response and resolution in working minutes, average rating. A manager gets only their own row.
 * Times are working minutes in the assignee's zone (the team's for unassigned tickets), from the
 * ticket's opening; the period's tickets are few enough to count in memory with the same calendar
 * arithmetic the SLA uses.
 */
export async function ticketReport(
  ctx: ServiceContext,
  period: { from: Date; to: Date; assigneeId?: number | undefined },
): Promise<{ rows: TicketReportRow[]; total: TicketReportRow }> {
  let only: number | undefined = period.assigneeId;
  if (ctx.actor.kind !== 'system') {
    const me = requireUser(ctx);
    if (me.role === 'manager') {
      if (only !== undefined && only !== me.userId) throw forbidden();
      only = me.userId;
    }
  }
  const { from, to } = period;
  const now = ctx.clock.now();
  const t = tickets;
  const touched = or(
    and(gte(t.createdAt, from), lt(t.createdAt, to)),
    and(gte(t.solvedAt, from), lt(t.solvedAt, to)),
    and(isNull(t.solvedAt), gte(t.closedAt, from), lt(t.closedAt, to)),
    and(gte(t.ratedAt, from), lt(t.ratedAt, to)),
    inArray(t.status, [...openTicketStatuses]),
  );
  const who: SQL | undefined = only !== undefined ? eq(t.assigneeId, only) : undefined;
  const list = await ctx.db.select().from(t).where(and(touched, who));

  const cal = await loadCalendar(ctx);
  const ids = [...new Set(list.map((r) => r.assigneeId).filter((x): x is number => !!x))];
  if (only !== undefined && !ids.includes(only)) ids.push(only);
  const people = ids.length ? await ctx.db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, ids)) : [];
  const names = new Map(people.map((p) => [p.id, p.name]));
  const zones = new Map<number | null, string>();
  for (const id of [null, ...ids]) zones.set(id, await ticketTimeZone(ctx, id));

  interface Acc {
    row: TicketReportRow;
    first: number[];
    resolution: number[];
    ratings: number[];
  }
  const blank = (assigneeId: number | null, assigneeName: string): Acc => ({
    row: { assigneeId, assigneeName, created: 0, open: 0, overdue: 0, solved: 0, medianFirstResponseMinutes: null, medianResolutionMinutes: null, averageRating: null, rated: 0 },
    first: [],
    resolution: [],
    ratings: [],
  });
  const groups = new Map<number | null, Acc>();
  const total = blank(null, 'Итого');
  if (only !== undefined) groups.set(only, blank(only, names.get(only) ?? ''));

  for (const tk of list) {
    const key = tk.assigneeId;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = blank(key, key ? (names.get(key) ?? '') : UNASSIGNED)));
    const tz = zones.get(key) ?? zones.get(null)!;
    for (const a of [g, total]) {
      if (inPeriod(tk.createdAt, from, to)) {
        a.row.created++;
        if (tk.firstResponseAt) a.first.push(workingMinutesBetween(cal, tz, tk.createdAt, tk.firstResponseAt));
      }
      if (openTicketStatuses.includes(tk.status)) a.row.open++;
      if (isOverdue(tk, now)) a.row.overdue++;
      if (inPeriod(tk.solvedAt ?? tk.closedAt, from, to)) a.row.solved++;
      if (tk.solvedAt && inPeriod(tk.solvedAt, from, to)) a.resolution.push(workingMinutesBetween(cal, tz, tk.createdAt, tk.solvedAt));
      if (tk.rating !== null && inPeriod(tk.ratedAt, from, to)) a.ratings.push(tk.rating);
    }
  }

  const finish = (a: Acc): TicketReportRow => ({
    ...a.row,
    medianFirstResponseMinutes: median(a.first),
    medianResolutionMinutes: median(a.resolution),
    averageRating: a.ratings.length ? Math.round((a.ratings.reduce((s, x) => s + x, 0) / a.ratings.length) * 10) / 10 : null,
    rated: a.ratings.length,
  });
  const rows = [...groups.values()]
    .map(finish)
    .sort((a, b) => (a.assigneeId === null ? 1 : b.assigneeId === null ? -1 : a.assigneeName.localeCompare(b.assigneeName, 'ru')));
  return { rows, total: finish(total) };
}
