import { and, eq, gt, inArray, isNull, lte } from 'drizzle-orm';
import { inTransaction, systemActor, type ServiceContext } from '../context.js';
import type { Services } from '../services.js';
import { contacts, counterparties, helpdeskSettings, tickets, users } from '../db/schema/index.js';
import { notify, type Notification } from '../notifications/notify.js';
import { audit, recordHistory } from '../shared/audit.js';
import { dateInZone, formatInZone } from '../validation/time.js';
import { addWorkingMinutes, workingMinutesBetween, type WorkCalendar } from './calendar.js';
import { formatWorkingMinutes, ticketStatusLabels } from './labels.js';
import { loadCalendar, loadSlaTargets } from './settings.js';
import type { Ticket, TicketPriority } from './types.js';

export const HELPDESK_TICK_JOB = 'helpdesk.tick';

export interface SlaTimes {
  firstResponseDueAt: Date | null;
  firstResponseWarnAt: Date | null;
  resolutionDueAt: Date | null;
  resolutionWarnAt: Date | null;
}

function validZone(tz: string | undefined): string | undefined {
  if (!tz) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    return undefined;
  }
}

/** The zone a ticket's hours are read in: its assignee's, else the team's (ctx.timeZone, config TIME_ZONE). */
export async function ticketTimeZone(tx: ServiceContext, assigneeId: number | null): Promise<string> {
  if (!assigneeId) return tx.timeZone;
  const [u] = await tx.db.select({ tz: users.timeZone }).from(users).where(eq(users.id, assigneeId));
  return validZone(u?.tz) ?? tx.timeZone;
}

async function warnPercent(tx: ServiceContext): Promise<number> {
  const [row] = await tx.db.select({ p: helpdeskSettings.warnAtPercent }).from(helpdeskSettings).where(eq(helpdeskSettings.id, 1));
  return row?.p ?? 80;
}

/** Due and warn instants of one target from `from`. */
function target(cal: WorkCalendar, tz: string, from: Date, minutes: number | null, percent: number): { due: Date | null; warn: Date | null } {
  if (!minutes) return { due: null, warn: null };
  return {
    due: addWorkingMinutes(cal, tz, from, minutes),
    warn: addWorkingMinutes(cal, tz, from, Math.max(1, Math.floor((minutes * percent) / 100))),
  };
}

/** Targets for a ticket opened at `from` with this priority, in the assignee's time zone (TIME_ZONE when none). */
export async function slaTimes(tx: ServiceContext, priority: TicketPriority, assigneeId: number | null, from: Date): Promise<SlaTimes> {
  const [cal, sla, tz, percent] = await Promise.all([loadCalendar(tx), loadSlaTargets(tx), ticketTimeZone(tx, assigneeId), warnPercent(tx)]);
  const first = target(cal, tz, from, sla[priority].firstResponseMinutes, percent);
  const resolution = target(cal, tz, from, sla[priority].resolutionMinutes, percent);
  return { firstResponseDueAt: first.due, firstResponseWarnAt: first.warn, resolutionDueAt: resolution.due, resolutionWarnAt: resolution.warn };
}

/** «Ждём клиента» begins: the resolution clock stops (the working minutes left are kept). Returns the columns to set. */
export async function pauseResolution(tx: ServiceContext, ticket: Ticket, now: Date): Promise<Partial<Ticket>> {
  // no target, or already paused: nothing runs that could stop
  if (!ticket.resolutionDueAt) return {};
  const cal = await loadCalendar(tx);
  const tz = await ticketTimeZone(tx, ticket.assigneeId);
  return {
    resolutionPausedMinutes: workingMinutesBetween(cal, tz, now, ticket.resolutionDueAt),
    resolutionDueAt: null,
    resolutionWarnAt: null,
  };
}

/** The client answered or the manager moved on: the resolution clock runs again from now. Returns the columns to set. */
export async function resumeResolution(tx: ServiceContext, ticket: Ticket, now: Date): Promise<Partial<Ticket>> {
  if (ticket.resolutionPausedMinutes === null) return {};
  const [cal, sla, tz, percent] = await Promise.all([loadCalendar(tx), loadSlaTargets(tx), ticketTimeZone(tx, ticket.assigneeId), warnPercent(tx)]);
  const left = ticket.resolutionPausedMinutes;
  // the warning comes when the same share of the whole target is left as on the first run
  const total = sla[ticket.priority].resolutionMinutes ?? left;
  const leftAtWarn = Math.ceil((total * (100 - percent)) / 100);
  return {
    resolutionDueAt: addWorkingMinutes(cal, tz, now, left),
    resolutionWarnAt: left > leftAtWarn ? addWorkingMinutes(cal, tz, now, left - leftAtWarn) : now,
    resolutionPausedMinutes: null,
  };
}

const firstLabel = 'ответа';
const resolutionLabel = 'решения';

interface Recipient {
  id: number;
  tz: string;
}

/** Heads hear of breaches; without an active head, admins. */
async function supervisors(ctx: ServiceContext): Promise<Recipient[]> {
  const active = await ctx.db
    .select({ id: users.id, tz: users.timeZone, role: users.role })
    .from(users)
    .where(and(eq(users.active, true), inArray(users.role, ['head', 'admin'])));
  const heads = active.filter((u) => u.role === 'head');
  return (heads.length ? heads : active).map((u) => ({ id: u.id, tz: u.tz }));
}

/** «14:30» today in the reader's zone, «12.05.2025, 14:30» on another day. */
function dueText(due: Date, now: Date, tz: string): string {
  if (dateInZone(due, tz) === dateInZone(now, tz)) {
    return new Intl.DateTimeFormat('ru-RU', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(due);
  }
  return formatInZone(due, tz);
}

type Kind = 'first' | 'resolution';

/**
 * Stamps and returns the tickets whose warning (or breach) of one target is due now. The stamp and
 * the notices go in one transaction: two ticks at once stamp each ticket once, and only the one that
 * stamped it tells anyone.
 */
async function stampDue(tx: ServiceContext, kind: Kind, stage: 'warn' | 'breach', now: Date): Promise<Ticket[]> {
  const t = tickets;
  const cols =
    kind === 'first'
      ? { due: t.firstResponseDueAt, warn: t.firstResponseWarnAt, warned: t.firstResponseWarnedAt, breached: t.firstResponseBreachedAt, met: t.firstResponseAt }
      : { due: t.resolutionDueAt, warn: t.resolutionWarnAt, warned: t.resolutionWarnedAt, breached: t.resolutionBreachedAt, met: t.solvedAt };
  // a waiting ticket still owes its first answer; its resolution clock is paused (due is null)
  const statuses = kind === 'first' ? (['new', 'in_progress', 'waiting'] as const) : (['new', 'in_progress'] as const);
  const common = and(inArray(t.status, [...statuses]), isNull(cols.met));
  const where =
    stage === 'warn'
      ? and(common, isNull(cols.warned), isNull(cols.breached), lte(cols.warn, now), gt(cols.due, now))
      : and(common, isNull(cols.breached), lte(cols.due, now));
  const stampCol = stage === 'warn' ? (kind === 'first' ? 'firstResponseWarnedAt' : 'resolutionWarnedAt') : kind === 'first' ? 'firstResponseBreachedAt' : 'resolutionBreachedAt';
  return tx.db
    .update(t)
    .set({ [stampCol]: now })
    .where(where)
    .returning();
}

async function clientNames(ctx: ServiceContext, rows: Ticket[]): Promise<Map<number, string>> {
  const contactIds = [...new Set(rows.map((r) => r.contactId).filter((x): x is number => !!x))];
  const cpIds = [...new Set(rows.map((r) => r.counterpartyId).filter((x): x is number => !!x))];
  const cs = contactIds.length ? await ctx.db.select({ id: contacts.id, name: contacts.name }).from(contacts).where(inArray(contacts.id, contactIds)) : [];
  const cps = cpIds.length ? await ctx.db.select({ id: counterparties.id, name: counterparties.name }).from(counterparties).where(inArray(counterparties.id, cpIds)) : [];
  const cName = new Map(cs.map((c) => [c.id, c.name]));
  const cpName = new Map(cps.map((c) => [c.id, c.name]));
  return new Map(rows.map((r) => [r.id, (r.counterpartyId && cpName.get(r.counterpartyId)) || (r.contactId && cName.get(r.contactId)) || 'клиент']));
}

async function zonesOf(ctx: ServiceContext, ids: number[]): Promise<Map<number, string>> {
  const list = [...new Set(ids)];
  if (!list.length) return new Map();
  const rows = await ctx.db.select({ id: users.id, tz: users.timeZone }).from(users).where(inArray(users.id, list));
  return new Map(rows.map((r) => [r.id, validZone(r.tz) ?? ctx.timeZone]));
}

async function warnings(tx: ServiceContext, kind: Kind, now: Date): Promise<number> {
  const rows = await stampDue(tx, kind, 'warn', now);
  if (!rows.length) return 0;
  const cal = await loadCalendar(tx);
  const names = await clientNames(tx, rows);
  const zones = await zonesOf(tx, rows.map((r) => r.assigneeId).filter((x): x is number => !!x));
  const dayMinutes = Math.max(1, cal.dayEndMinute - cal.dayStartMinute);
  const list: Notification[] = [];
  for (const r of rows) {
    if (!r.assigneeId) continue;
    const due = kind === 'first' ? r.firstResponseDueAt! : r.resolutionDueAt!;
    const left = workingMinutesBetween(cal, zones.get(r.assigneeId) ?? tx.timeZone, now, due);
    list.push({
      kind: 'ticket_sla_warning',
      userId: r.assigneeId,
      ticketId: r.id,
      text: `До срока ${kind === 'first' ? firstLabel : resolutionLabel} по обращению №${r.id} («${r.subject}», ${names.get(r.id)}) осталось ${formatWorkingMinutes(Math.max(1, left), dayMinutes)}`,
      dedupeKey: `ticket:${r.id}:${kind}:warn:${due.getTime()}`,
    });
  }
  await notify(tx, list);
  return rows.length;
}

async function breaches(tx: ServiceContext, kind: Kind, now: Date): Promise<number> {
  const rows = await stampDue(tx, kind, 'breach', now);
  if (!rows.length) return 0;
  const heads = await supervisors(tx);
  const zones = await zonesOf(tx, rows.map((r) => r.assigneeId).filter((x): x is number => !!x));
  const list: Notification[] = [];
  for (const r of rows) {
    const due = kind === 'first' ? r.firstResponseDueAt! : r.resolutionDueAt!;
    const to: Recipient[] = [...heads];
    if (r.assigneeId && !to.some((u) => u.id === r.assigneeId)) to.push({ id: r.assigneeId, tz: zones.get(r.assigneeId) ?? tx.timeZone });
    for (const u of to) {
      list.push({
        kind: 'ticket_sla_breach',
        userId: u.id,
        ticketId: r.id,
        text: `Обращение №${r.id} просрочено: ${kind === 'first' ? 'нет первого ответа' : 'не решено'} (срок был ${dueText(due, now, u.tz)})`,
        dedupeKey: `ticket:${r.id}:${kind}:breach:${due.getTime()}`,
      });
    }
    await recordHistory(tx, 'ticket', r.id, 'sla_breach', kind === 'first' ? 'Просрочен первый ответ' : 'Просрочено решение', { dueAt: due.toISOString() });
  }
  await notify(tx, list);
  return rows.length;
}

/** «Ждём клиента» and «Решено» that stayed so long enough close themselves. */
async function autoClose(tx: ServiceContext, now: Date): Promise<number> {
  const [s] = await tx.db.select().from(helpdeskSettings).where(eq(helpdeskSettings.id, 1));
  const waitingHours = s?.waitingCloseHours ?? 72;
  const solvedHours = s?.solvedCloseHours ?? 168;
  const t = tickets;
  const waiting = await tx.db
    .update(t)
    .set({ status: 'closed', closedAt: now, updatedAt: now })
    .where(and(eq(t.status, 'waiting'), lte(t.waitingSince, new Date(now.getTime() - waitingHours * 3_600_000))))
    .returning({ id: t.id });
  const solved = await tx.db
    .update(t)
    .set({ status: 'closed', closedAt: now, updatedAt: now })
    .where(and(eq(t.status, 'solved'), lte(t.solvedAt, new Date(now.getTime() - solvedHours * 3_600_000))))
    .returning({ id: t.id });
  for (const [rows, from, why] of [
    [waiting, 'waiting', `закрыто: клиент не ответил за ${waitingHours} ч`],
    [solved, 'solved', `закрыто: прошло ${solvedHours} ч после решения`],
  ] as const) {
    for (const r of rows) {
      await recordHistory(tx, 'ticket', r.id, 'status_changed', `${ticketStatusLabels[from]} → ${ticketStatusLabels.closed}, ${why}`, { from, to: 'closed', auto: true });
      await audit(tx, 'update', 'ticket', r.id, { status: { from, to: 'closed' } });
    }
  }
  return waiting.length + solved.length;
}

/**
 * One pass of the HelpDesk clock, run every minute by a job (and by tests with a fake clock): warns
 * assignees before a breach, tells heads at a breach (each once), closes «Ждём клиента» and «Решено»
 * tickets after their set time.
 */
export async function helpdeskTick(ctx: ServiceContext): Promise<{ warned: number; breached: number; closed: number }> {
  const now = ctx.clock.now();
  return inTransaction(ctx, async (tx) => {
    const warned = (await warnings(tx, 'first', now)) + (await warnings(tx, 'resolution', now));
    const breached = (await breaches(tx, 'first', now)) + (await breaches(tx, 'resolution', now));
    const closed = await autoClose(tx, now);
    return { warned, breached, closed };
  });
}

/** Worker: the tick job and its schedule. */
export async function registerHelpdeskJobs(services: Services): Promise<void> {
  services.jobs.process(HELPDESK_TICK_JOB, async () => helpdeskTick(services.ctx(systemActor('обращения'))));
  await services.jobs.upsertRepeatable('helpdesk-tick', HELPDESK_TICK_JOB, {}, 60_000);
}
