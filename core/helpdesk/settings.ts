import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { calendarDays, helpdeskSettings, slaPolicies, supportQueue, users } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { requireRole, requireUser } from '../access/scope.js';
import { parseInput } from '../shared/input.js';
import { audit, diff } from '../shared/audit.js';
import { lockKeys } from '../shared/locks.js';
import type { WorkCalendar } from './calendar.js';
import { ticketPriorities, type TicketPriority } from './types.js';

export interface SlaTarget {
  firstResponseMinutes: number | null;
  resolutionMinutes: number | null;
}

export interface HelpdeskSettings {
  workDays: number[];
  dayStartMinute: number;
  dayEndMinute: number;
  warnAtPercent: number;
  waitingCloseHours: number;
  solvedCloseHours: number;
  sla: Record<TicketPriority, SlaTarget>;
  /** holidays and moved working days, by date */
  days: { day: string; working: boolean; note: string | null }[];
  /** users in the support queue, in the order they were added */
  queue: { userId: number; name: string }[];
}

/** The settings are one row (id 1); the calendar, SLA targets and queue are audited under it too. */
const SETTINGS_AUDIT_ID = 1;

/** Reading: any signed-in user (the bot shows due times) and the system (the SLA clock). */
function requireReader(ctx: ServiceContext): void {
  if (ctx.actor.kind === 'system') return;
  requireUser(ctx);
}

const DEFAULTS = { workDays: [1, 2, 3, 4, 5], dayStartMinute: 540, dayEndMinute: 1080, warnAtPercent: 80, waitingCloseHours: 72, solvedCloseHours: 168 };

async function settingsRow(ctx: ServiceContext) {
  const [row] = await ctx.db.select().from(helpdeskSettings).where(eq(helpdeskSettings.id, 1));
  return row ?? { ...DEFAULTS, id: 1, updatedAt: new Date(0) };
}

/** Targets per priority; a priority without a row has no target. */
export async function loadSlaTargets(ctx: ServiceContext): Promise<Record<TicketPriority, SlaTarget>> {
  const rows = await ctx.db.select().from(slaPolicies);
  const sla = Object.fromEntries(ticketPriorities.map((p) => [p, { firstResponseMinutes: null, resolutionMinutes: null }])) as Record<TicketPriority, SlaTarget>;
  for (const r of rows) sla[r.priority] = { firstResponseMinutes: r.firstResponseMinutes, resolutionMinutes: r.resolutionMinutes };
  return sla;
}

export async function getHelpdeskSettings(ctx: ServiceContext): Promise<HelpdeskSettings> {
  requireReader(ctx);
  const row = await settingsRow(ctx);
  const days = await ctx.db.select().from(calendarDays).orderBy(asc(calendarDays.day));
  // support_queue keeps no time of adding: the oldest-served first is the order the queue goes in
  const queue = await ctx.db
    .select({ userId: supportQueue.userId, name: users.name })
    .from(supportQueue)
    .innerJoin(users, eq(users.id, supportQueue.userId))
    .orderBy(sql`${supportQueue.lastAssignedAt} ASC NULLS FIRST`, asc(supportQueue.userId));
  return {
    workDays: [...row.workDays].sort((a, b) => a - b),
    dayStartMinute: row.dayStartMinute,
    dayEndMinute: row.dayEndMinute,
    warnAtPercent: row.warnAtPercent,
    waitingCloseHours: row.waitingCloseHours,
    solvedCloseHours: row.solvedCloseHours,
    sla: await loadSlaTargets(ctx),
    days: days.map((d) => ({ day: d.day, working: d.working, note: d.note })),
    queue,
  };
}

const targetMinutes = z
  .number('целое число минут')
  .int('целое число минут')
  .min(1, 'не меньше 1 минуты')
  .max(525_600, 'не больше года')
  .nullable();

const settingsInput = z
  .object({
    workDays: z
      .array(z.number().int().min(1).max(7), 'выберите рабочие дни')
      .min(1, 'выберите хотя бы один рабочий день')
      .transform((d) => [...new Set(d)].sort((a, b) => a - b)),
    dayStartMinute: z.number('укажите начало дня').int().min(0, 'время от 00:00 до 23:59').max(1439, 'время от 00:00 до 23:59'),
    dayEndMinute: z.number('укажите конец дня').int().min(1, 'время от 00:01 до 24:00').max(1440, 'время от 00:01 до 24:00'),
    warnAtPercent: z.number('укажите процент').int('целое число процентов').min(1, 'от 1 до 99 %').max(99, 'от 1 до 99 %'),
    waitingCloseHours: z.number('укажите часы').int('целое число часов').min(1, 'не меньше 1 часа').max(8760, 'не больше года'),
    solvedCloseHours: z.number('укажите часы').int('целое число часов').min(1, 'не меньше 1 часа').max(8760, 'не больше года'),
    sla: z.object(
      Object.fromEntries(ticketPriorities.map((p) => [p, z.object({ firstResponseMinutes: targetMinutes, resolutionMinutes: targetMinutes })])) as Record<
        TicketPriority,
        z.ZodObject<{ firstResponseMinutes: typeof targetMinutes; resolutionMinutes: typeof targetMinutes }>
      >,
    ),
  })
  .superRefine((v, c) => {
    if (v.dayEndMinute <= v.dayStartMinute) c.addIssue({ code: 'custom', path: ['dayEndMinute'], message: 'конец рабочего дня позже начала' });
  });

/** Admin/head: the calendar, SLA targets, timers; audited. Bad input → invalid with field names. */
export async function saveHelpdeskSettings(ctx: ServiceContext, input: Omit<HelpdeskSettings, 'days' | 'queue'>): Promise<HelpdeskSettings> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(settingsInput, input);
  await inTransaction(ctx, async (tx) => {
    const before = await getHelpdeskSettings(tx);
    const { sla, ...plain } = data;
    await tx.db
      .insert(helpdeskSettings)
      .values({ id: 1, ...plain, updatedAt: tx.clock.now() })
      .onConflictDoUpdate({ target: helpdeskSettings.id, set: { ...plain, updatedAt: tx.clock.now() } });
    for (const p of ticketPriorities) {
      await tx.db
        .insert(slaPolicies)
        .values({ priority: p, ...sla[p] })
        .onConflictDoUpdate({ target: slaPolicies.priority, set: sla[p] });
    }
    const changes = diff(
      { ...pick(before), sla: before.sla },
      { ...plain, sla },
    );
    if (Object.keys(changes).length) await audit(tx, 'update', 'helpdesk_settings', SETTINGS_AUDIT_ID, changes);
  });
  return getHelpdeskSettings(ctx);
}

const pick = (s: HelpdeskSettings) => ({
  workDays: s.workDays,
  dayStartMinute: s.dayStartMinute,
  dayEndMinute: s.dayEndMinute,
  warnAtPercent: s.warnAtPercent,
  waitingCloseHours: s.waitingCloseHours,
  solvedCloseHours: s.solvedCloseHours,
});

const dayInput = z.object({
  day: z
    .string('укажите дату')
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'дата в виде ГГГГ-ММ-ДД')
    .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'такой даты нет'),
  working: z.boolean().nullable(),
  note: z.string().trim().max(200, 'не длиннее 200 символов').nullish(),
});

/** Admin/head: a holiday or a moved working day; `working: null` removes the exception. */
export async function setCalendarDay(ctx: ServiceContext, day: string, working: boolean | null, note?: string | null): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(dayInput, { day, working, note });
  const text = data.note || null;
  await inTransaction(ctx, async (tx) => {
    const [before] = await tx.db.select().from(calendarDays).where(eq(calendarDays.day, data.day));
    if (data.working === null) {
      if (!before) return;
      await tx.db.delete(calendarDays).where(eq(calendarDays.day, data.day));
    } else {
      await tx.db
        .insert(calendarDays)
        .values({ day: data.day, working: data.working, note: text })
        .onConflictDoUpdate({ target: calendarDays.day, set: { working: data.working, note: text } });
    }
    await audit(tx, 'calendar_day', 'helpdesk_settings', SETTINGS_AUDIT_ID, {
      [data.day]: { from: before ? { working: before.working, note: before.note } : null, to: data.working === null ? null : { working: data.working, note: text } },
    });
  });
}

/** Admin/head: who takes tickets in turn when the client has no responsible. */
export async function setSupportQueue(ctx: ServiceContext, userIds: number[]): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const ids = parseInput(z.array(z.number().int().positive().max(2_147_483_647), 'выберите сотрудников'), userIds);
  const unique = [...new Set(ids)];
  await inTransaction(ctx, async (tx) => {
    await lockKeys(tx, QUEUE_LOCK);
    if (unique.length) {
      const found = await tx.db.select({ id: users.id }).from(users).where(and(inArray(users.id, unique), eq(users.active, true)));
      if (found.length !== unique.length) throw invalid({ queue: 'в очереди могут быть только действующие сотрудники' });
    }
    const before = (await tx.db.select({ userId: supportQueue.userId }).from(supportQueue)).map((r) => r.userId).sort((a, b) => a - b);
    await tx.db.delete(supportQueue).where(unique.length ? notInArray(supportQueue.userId, unique) : undefined);
    // a newcomer has taken nothing yet: they are first in line
    if (unique.length) await tx.db.insert(supportQueue).values(unique.map((userId) => ({ userId }))).onConflictDoNothing();
    const after = [...unique].sort((a, b) => a - b);
    const changes = diff({ supportQueue: before }, { supportQueue: after });
    if (Object.keys(changes).length) await audit(tx, 'support_queue', 'helpdesk_settings', SETTINGS_AUDIT_ID, changes);
  });
}

/** The calendar as the SLA arithmetic reads it. */
export async function loadCalendar(ctx: ServiceContext): Promise<WorkCalendar> {
  const row = await settingsRow(ctx);
  const days = await ctx.db.select().from(calendarDays);
  return {
    workDays: row.workDays,
    dayStartMinute: row.dayStartMinute,
    dayEndMinute: row.dayEndMinute,
    exceptions: new Map(days.map((d) => [d.day, d.working])),
  };
}

/** Two tickets opening at once must not both go to the same person. */
const QUEUE_LOCK = 'helpdesk:support-queue';

/**
 * The next user of the support queue (the one whose last queued ticket is oldest), stamped as
 * taken; null when the queue is empty. Runs in the caller's transaction under a lock.
 */
export async function nextInSupportQueue(tx: ServiceContext): Promise<number | null> {
  return inTransaction(tx, async (t) => {
    await lockKeys(t, QUEUE_LOCK);
    const [next] = await t.db
      .select({ userId: supportQueue.userId })
      .from(supportQueue)
      .innerJoin(users, eq(users.id, supportQueue.userId))
      .where(eq(users.active, true))
      .orderBy(sql`${supportQueue.lastAssignedAt} ASC NULLS FIRST`, asc(supportQueue.userId))
      .limit(1);
    if (!next) return null;
    await t.db.update(supportQueue).set({ lastAssignedAt: t.clock.now() }).where(eq(supportQueue.userId, next.userId));
    return next.userId;
  });
}
