import { and, asc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { actorTimeZone, actorUserId, inTransaction, type ServiceContext } from '../context.js';
import { actionResults, actions, users, works } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff, recordHistory } from '../shared/audit.js';
import { idField, optionalText } from '../shared/fields.js';
import { workScope } from '../access/scope.js';
import { scheduleWorkReminder } from './reminders.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getLead } from '../leads/leads.js';
import { getDeal } from '../deals/deals.js';
import { dateInZone, startOfDayInZone } from '../validation/time.js';

export type Work = typeof works.$inferSelect;

export const workInput = z.object({
  actionId: idField,
  plannedResultId: idField.nullish(),
  deadline: z.coerce.date('укажите срок'),
  comment: optionalText,
  responsibleId: idField.optional(),
  counterpartyId: idField.nullish(),
  contactId: idField.nullish(),
  leadId: idField.nullish(),
  dealId: idField.nullish(),
});
export type WorkInput = z.input<typeof workInput>;

async function resultAllowed(ctx: ServiceContext, actionId: number, resultId: number): Promise<boolean> {
  const [row] = await ctx.db
    .select({ a: actionResults.actionId })
    .from(actionResults)
    .where(and(eq(actionResults.actionId, actionId), eq(actionResults.resultId, resultId)));
  return !!row;
}

const actorZone = (ctx: ServiceContext) => actorTimeZone(ctx.actor);

/** «25.11 10:00» in a zone: how a moved deadline reads in the history. */
function shortWhen(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('ru-RU', { timeZone, day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('day')}.${get('month')} ${get('hour')}:${get('minute')}`;
}

/**
 * Plans a work (R11) on a lead, deal, contact or counterparty, or several of the same client. A
 * messenger lead without a counterparty is enough: counterpartyId stays null and the work hangs on
 * the lead (listWorks by counterparty finds it once the lead has one). Every linked record is read
 * through the actor's access rules.
 */
export async function createWork(ctx: ServiceContext, input: WorkInput, basedOnId?: number): Promise<Work> {
  const data = parseInput(workInput, input);
  if (!data.leadId && !data.dealId && !data.contactId && !data.counterpartyId) {
    throw invalid({ leadId: 'укажите, к чему относится работа: лид, сделка, контакт или контрагент' });
  }
  const [action] = await ctx.db.select().from(actions).where(eq(actions.id, data.actionId));
  if (!action) throw invalid({ actionId: 'нет такого действия' });
  if (data.plannedResultId && !(await resultAllowed(ctx, data.actionId, data.plannedResultId))) {
    throw invalid({ plannedResultId: `результат не подходит к действию «${action.name}»` });
  }
  // every linked record is read through the actor's access rules, and all must be the same client's
  const deal = data.dealId ? await getDeal(ctx, data.dealId) : null;
  const lead = data.leadId ? await getLead(ctx, data.leadId) : null;
  const contact = data.contactId ? await getContact(ctx, data.contactId) : null;
  if (data.counterpartyId) await getCounterparty(ctx, data.counterpartyId);
  const linked = [
    { field: 'counterpartyId', cp: data.counterpartyId ?? null, contact: null },
    deal && { field: 'dealId', cp: deal.counterpartyId, contact: deal.contactId },
    lead && { field: 'leadId', cp: lead.counterpartyId, contact: lead.contactId },
    contact && { field: 'contactId', cp: contact.counterpartyId, contact: contact.id },
  ].filter((l) => !!l);
  const counterpartyId = linked.find((l) => l.cp)?.cp ?? null;
  for (const l of linked) {
    if (l.cp && l.cp !== counterpartyId) throw invalid({ [l.field]: 'запись относится к другому клиенту' });
  }
  if (deal && lead && deal.leadId && deal.leadId !== lead.id) throw invalid({ dealId: 'сделка относится к другому лиду' });
  if (!counterpartyId) {
    // without a company the person is the client: a lead and a contact of two people do not mix
    const people = new Set(linked.map((l) => l.contact).filter((c) => c));
    if (people.size > 1) throw invalid({ contactId: 'запись относится к другому клиенту' });
  }
  const responsibleId = data.responsibleId ?? actorUserId(ctx.actor) ?? undefined;
  if (!responsibleId) throw invalid({ responsibleId: 'укажите ответственного' });
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager' && responsibleId !== ctx.actor.userId) {
    throw forbidden('Менеджер планирует работы только себе');
  }
  const [u] = await ctx.db.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, responsibleId));
  if (!u) throw invalid({ responsibleId: 'нет такого пользователя' });
  if (!u.active) throw invalid({ responsibleId: 'пользователь отключён' });
  return inTransaction(ctx, async (tx) => {
    const [work] = await tx.db
      .insert(works)
      .values({
        actionId: data.actionId,
        plannedResultId: data.plannedResultId ?? null,
        deadline: data.deadline,
        comment: data.comment ?? null,
        responsibleId,
        counterpartyId,
        contactId: data.contactId ?? null,
        leadId: data.leadId ?? null,
        dealId: data.dealId ?? null,
        basedOnId: basedOnId ?? null,
        createdBy: actorUserId(tx.actor),
        createdAt: tx.clock.now(),
      })
      .returning();
    await audit(tx, 'create', 'work', work!.id, created({ actionId: work!.actionId, deadline: work!.deadline, responsibleId, counterpartyId, leadId: work!.leadId, dealId: work!.dealId, contactId: work!.contactId, basedOnId: basedOnId ?? null }));
    await scheduleWorkReminder(tx, work!);
    return work!;
  });
}

export async function getWork(ctx: ServiceContext, id: number): Promise<Work> {
  const scope = workScope(ctx);
  const [row] = await ctx.db
    .select({ w: works, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(works)
    .where(eq(works.id, id));
  if (!row) throw notFound('Работа');
  if (!row.visible) throw forbidden('Эта работа вам недоступна');
  return row.w;
}

/**
 * Records the actual result, which must be one the work's action allows. Whoever presses it is kept
 * as completedBy; the work still counts for its responsible in plan vs actual.
 */
export async function completeWork(ctx: ServiceContext, workId: number, input: { resultId: number; comment?: string | null }): Promise<Work> {
  const data = parseInput(z.object({ resultId: idField, comment: optionalText.nullish() }), input);
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Работа уже завершена');
  if (!(await resultAllowed(ctx, work.actionId, data.resultId))) throw invalid({ resultId: 'этот результат не разрешён для действия работы' });
  return inTransaction(ctx, async (tx) => {
    // the status guard makes a double press complete it once
    const [after] = await tx.db
      .update(works)
      .set({ status: 'done', actualResultId: data.resultId, resultComment: data.comment ?? null, completedAt: tx.clock.now(), completedBy: actorUserId(tx.actor) })
      .where(and(eq(works.id, workId), eq(works.status, 'planned')))
      .returning();
    if (!after) throw conflict('Работа уже завершена');
    await audit(tx, 'complete', 'work', workId, {
      status: { from: 'planned', to: 'done' },
      actualResultId: { from: null, to: data.resultId },
      completedBy: { from: null, to: after.completedBy },
    });
    return after;
  });
}

/** «Отменить» with the reason, which is required; who cancelled is kept as completedBy. */
export async function cancelWork(ctx: ServiceContext, workId: number, input: { reason: string }): Promise<Work> {
  const data = parseInput(z.object({ reason: z.string('укажите причину отмены').trim().min(1, 'укажите причину отмены').max(1000, 'не длиннее 1000 символов') }), input);
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Работа уже завершена');
  return inTransaction(ctx, async (tx) => {
    const [after] = await tx.db
      .update(works)
      .set({ status: 'cancelled', completedAt: tx.clock.now(), completedBy: actorUserId(tx.actor), cancelReason: data.reason })
      .where(and(eq(works.id, workId), eq(works.status, 'planned')))
      .returning();
    if (!after) throw conflict('Работа уже завершена');
    await audit(tx, 'cancel', 'work', workId, { status: { from: 'planned', to: 'cancelled' }, cancelReason: { from: null, to: data.reason }, completedBy: { from: null, to: after.completedBy } });
    return after;
  });
}

/** The record whose history tells about a work's changes: the most specific one it hangs on. */
function historyTarget(work: Work): { type: 'deal' | 'lead' | 'contact' | 'counterparty' | 'work'; id: number } {
  if (work.dealId) return { type: 'deal', id: work.dealId };
  if (work.leadId) return { type: 'lead', id: work.leadId };
  if (work.contactId) return { type: 'contact', id: work.contactId };
  if (work.counterpartyId) return { type: 'counterparty', id: work.counterpartyId };
  return { type: 'work', id: work.id };
}

async function recordDeadlineMove(ctx: ServiceContext, before: Work, after: Work, comment: string | null): Promise<void> {
  const tz = actorZone(ctx);
  const [action] = await ctx.db.select({ name: actions.name }).from(actions).where(eq(actions.id, after.actionId));
  const target = historyTarget(after);
  const text = `Срок перенесён: ${shortWhen(before.deadline, tz)} → ${shortWhen(after.deadline, tz)} (работа №${after.id} «${action?.name ?? ''}»)${comment ? `. ${comment}` : ''}`;
  await recordHistory(ctx, target.type, target.id, 'work_rescheduled', text, {
    workId: after.id,
    from: before.deadline.toISOString(),
    to: after.deadline.toISOString(),
    comment,
  });
}

/** «Перенести»: a planned work gets a new deadline (and a new reminder); the history says from what to what. */
export async function rescheduleWork(ctx: ServiceContext, workId: number, input: { deadline: Date | string; comment?: string | null }): Promise<Work> {
  const data = parseInput(z.object({ deadline: z.coerce.date('укажите новый срок'), comment: optionalText.nullish() }), input);
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Перенести можно только запланированную работу');
  if (data.deadline.getTime() === work.deadline.getTime()) throw invalid({ deadline: 'новый срок совпадает с прежним' });
  return inTransaction(ctx, async (tx) => {
    const [after] = await tx.db
      .update(works)
      .set({ deadline: data.deadline })
      .where(and(eq(works.id, workId), eq(works.status, 'planned')))
      .returning();
    if (!after) throw conflict('Перенести можно только запланированную работу');
    await audit(tx, 'reschedule', 'work', workId, { deadline: { from: work.deadline.toISOString(), to: after.deadline.toISOString() }, ...(data.comment ? { comment: { from: null, to: data.comment } } : {}) });
    await recordDeadlineMove(tx, work, after, data.comment ?? null);
    await scheduleWorkReminder(tx, after);
    return after;
  });
}

export async function updateWork(ctx: ServiceContext, workId: number, patch: Partial<WorkInput>): Promise<Work> {
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Завершённую работу нельзя изменить');
  const data = parseInput(workInput, { ...followUpDraft(work), ...patch });
  if (data.plannedResultId && !(await resultAllowed(ctx, data.actionId, data.plannedResultId))) {
    throw invalid({ plannedResultId: 'результат не подходит к действию' });
  }
  const values = { actionId: data.actionId, plannedResultId: data.plannedResultId ?? null, deadline: data.deadline, comment: data.comment ?? null };
  return inTransaction(ctx, async (tx) => {
    const [after] = await tx.db.update(works).set(values).where(eq(works.id, workId)).returning();
    await audit(tx, 'update', 'work', workId, diff(work as unknown as Record<string, unknown>, values));
    if (after!.deadline.getTime() !== work.deadline.getTime()) {
      await recordDeadlineMove(tx, work, after!, null);
      await scheduleWorkReminder(tx, after!);
    }
    return after!;
  });
}

/** «Работа на основании текущей»: the fields of an existing work, to edit before creating the follow-up. */
export function followUpDraft(work: Work): WorkInput {
  return {
    actionId: work.actionId,
    plannedResultId: work.plannedResultId,
    deadline: work.deadline,
    comment: work.comment,
    responsibleId: work.responsibleId,
    counterpartyId: work.counterpartyId,
    contactId: work.contactId,
    leadId: work.leadId,
    dealId: work.dealId,
  };
}

/**
 * Creates a follow-up copied from an existing work, with the given changes (e.g. a new deadline).
 * A manager following up a colleague's work plans it for themselves.
 */
export async function createFollowUpWork(ctx: ServiceContext, fromWorkId: number, changes: Partial<WorkInput> = {}): Promise<Work> {
  const source = await getWork(ctx, fromWorkId);
  const draft = followUpDraft(source);
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager') draft.responsibleId = ctx.actor.userId;
  return createWork(ctx, { ...draft, ...changes }, source.id);
}

/**
 * The works of a client: those on the counterparty and those on its leads, deals and contacts
 * (a messenger lead's works planned before it had a counterparty are found this way, with no copy
 * of the link to keep in step).
 */
export function worksOfCounterparty(counterpartyId: number): SQL {
  return sql`(${works.counterpartyId} = ${counterpartyId}
    OR ${works.leadId} IN (SELECT l.id FROM leads l WHERE l.counterparty_id = ${counterpartyId})
    OR ${works.dealId} IN (SELECT d.id FROM deals d WHERE d.counterparty_id = ${counterpartyId})
    OR ${works.contactId} IN (SELECT c.id FROM contacts c WHERE c.counterparty_id = ${counterpartyId}))`;
}

/** The works of a person: on the contact and on their leads and deals. */
export function worksOfContact(contactId: number): SQL {
  return sql`(${works.contactId} = ${contactId}
    OR ${works.leadId} IN (SELECT l.id FROM leads l WHERE l.contact_id = ${contactId})
    OR ${works.dealId} IN (SELECT d.id FROM deals d WHERE d.contact_id = ${contactId}))`;
}

export const workFilterInput = z.object({
  responsibleId: idField.optional(),
  status: z.enum(['planned', 'done', 'cancelled']).optional(),
  /** done and cancelled together («Завершённые») */
  finished: z.boolean().optional(),
  counterpartyId: idField.optional(),
  contactId: idField.optional(),
  leadId: idField.optional(),
  dealId: idField.optional(),
  /** planned works due before this instant (today's and overdue) */
  dueBefore: z.coerce.date().optional(),
});
export type WorkFilter = z.input<typeof workFilterInput>;

export async function listWorks(ctx: ServiceContext, filter: WorkFilter = {}, opts: { limit?: number; offset?: number } = {}): Promise<Work[]> {
  const f = parseInput(workFilterInput, filter);
  const conds: (SQL | undefined)[] = [workScope(ctx)];
  if (f.responsibleId) conds.push(eq(works.responsibleId, f.responsibleId));
  if (f.status) conds.push(eq(works.status, f.status));
  if (f.counterpartyId) conds.push(worksOfCounterparty(f.counterpartyId));
  if (f.contactId) conds.push(worksOfContact(f.contactId));
  if (f.leadId) conds.push(eq(works.leadId, f.leadId));
  if (f.dealId) conds.push(eq(works.dealId, f.dealId));
  if (f.dueBefore) conds.push(eq(works.status, 'planned'), lt(works.deadline, f.dueBefore));
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  if (f.finished) {
    // the latest finished first
    conds.push(inArray(works.status, ['done', 'cancelled']));
    return ctx.db
      .select()
      .from(works)
      .where(and(...conds))
      .orderBy(sql`${works.completedAt} DESC NULLS LAST`, sql`${works.id} DESC`)
      .limit(limit)
      .offset(opts.offset ?? 0);
  }
  return ctx.db
    .select()
    .from(works)
    .where(and(...conds))
    // planned first, by deadline; then the finished ones
    .orderBy(sql`CASE ${works.status} WHEN 'planned' THEN 0 ELSE 1 END`, asc(works.deadline), asc(works.id))
    .limit(limit)
    .offset(opts.offset ?? 0);
}

export interface WorksAgenda {
  overdue: Work[];
  today: Work[];
  week: Work[];
  later: Work[];
}

/** The calendar date `days` after a YYYY-MM-DD date. */
function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The instants an agenda is cut at, for the person's own calendar: now, tomorrow's midnight, next Monday's. */
export function agendaBounds(now: Date, timeZone: string): { now: Date; tomorrow: Date; nextWeek: Date } {
  const today = dateInZone(now, timeZone);
  const [y, m, d] = today.split('-').map(Number) as [number, number, number];
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay(); // 0 = Sunday
  const toMonday = weekday === 0 ? 1 : 8 - weekday;
  return { now, tomorrow: startOfDayInZone(addDays(today, 1), timeZone), nextWeek: startOfDayInZone(addDays(today, toMonday), timeZone) };
}

/**
 * «Мои работы» as a to-do list: planned works overdue, due today, the rest of this week (Monday to
 * Sunday) and later, by the person's local days. A manager gets their own; the head and the admin
 * everyone's or one manager's (`responsibleId`).
 */
export async function worksAgenda(ctx: ServiceContext, input: { responsibleId?: number; timeZone: string }, opts: { limitPerBucket?: number } = {}): Promise<WorksAgenda> {
  let responsibleId = input.responsibleId;
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager') {
    if (responsibleId && responsibleId !== ctx.actor.userId) throw forbidden('Менеджер видит только свои работы');
    responsibleId = ctx.actor.userId;
  }
  const b = agendaBounds(ctx.clock.now(), input.timeZone);
  const limit = Math.min(Math.max(opts.limitPerBucket ?? 100, 1), 500);
  const base = [workScope(ctx), eq(works.status, 'planned'), responsibleId ? eq(works.responsibleId, responsibleId) : undefined];
  const bucket = (...range: SQL[]) =>
    ctx.db
      .select()
      .from(works)
      .where(and(...base, ...range))
      .orderBy(asc(works.deadline), asc(works.id))
      .limit(limit);
  const [overdue, today, week, later] = await Promise.all([
    bucket(lt(works.deadline, b.now)),
    bucket(gte(works.deadline, b.now), lt(works.deadline, b.tomorrow)),
    bucket(gte(works.deadline, b.tomorrow), lt(works.deadline, b.nextWeek)),
    bucket(gte(works.deadline, b.nextWeek)),
  ]);
  return { overdue, today, week, later };
}
