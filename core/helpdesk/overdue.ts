import { lt, sql } from 'drizzle-orm';
import { tickets } from '../db/schema/index.js';
import { openTicketStatuses, type Ticket } from './types.js';

/**
 * «Просрочено», the one definition the lists, the report, the card and the bot share: an open
 * ticket (new, in work, waiting) whose first answer is late, or whose resolution is late while its
 * clock runs (new, in work: a waiting ticket's resolution is paused). Solved and closed tickets are
 * never overdue, whatever their stamps say.
 */
export function isOverdue(
  t: Pick<Ticket, 'status' | 'firstResponseAt' | 'firstResponseDueAt' | 'solvedAt' | 'resolutionDueAt'>,
  now: Date,
): boolean {
  if (!openTicketStatuses.includes(t.status)) return false;
  const firstLate = !t.firstResponseAt && !!t.firstResponseDueAt && t.firstResponseDueAt < now;
  const resolutionLate = !t.solvedAt && (t.status === 'new' || t.status === 'in_progress') && !!t.resolutionDueAt && t.resolutionDueAt < now;
  return firstLate || resolutionLate;
}

/** isOverdue as SQL over `tickets`; `now` compared through drizzle (postgres-js needs typed params). */
export const overdueSql = (now: Date) => sql<boolean>`(${tickets.status} IN ('new', 'in_progress', 'waiting') AND (
  (${tickets.firstResponseAt} IS NULL AND ${lt(tickets.firstResponseDueAt, now)})
  OR (${tickets.solvedAt} IS NULL AND ${tickets.status} IN ('new', 'in_progress') AND ${lt(tickets.resolutionDueAt, now)})))`;
