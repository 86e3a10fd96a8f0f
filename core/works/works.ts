import { and, asc, eq, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { actionResults, actions, users, works } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { audit, created, diff } from '../shared/audit.js';
import { idField, optionalText } from '../shared/fields.js';
import { workScope } from '../access/scope.js';
import { scheduleWorkReminder } from './reminders.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getLead } from '../leads/leads.js';
import { getDeal } from '../deals/deals.js';

export type Work = typeof works.$inferSelect;

export const workInput = z.object({
  actionId: idField,
  plannedResultId: idField.nullish(),
  deadline: z.coerce.date('укажите срок'),
  comment: optionalText,
  responsibleId: idField.optional(),
  counterpartyId: idField.optional(),
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

/**
 * Plans a work on a counterparty (R11), optionally on a contact, lead or deal; the counterparty
 * may come from any of them. Every linked record must be visible to the actor.
 */
export async function createWork(ctx: ServiceContext, input: WorkInput, basedOnId?: number): Promise<Work> {
  const data = parseInput(workInput, input);
  const [action] = await ctx.db.select().from(actions).where(eq(actions.id, data.actionId));
  if (!action) throw invalid({ actionId: 'нет такого действия' });
  if (data.plannedResultId && !(await resultAllowed(ctx, data.actionId, data.plannedResultId))) {
    throw invalid({ plannedResultId: `результат не подходит к действию «${action.name}»` });
  }
  // every linked record is read through the actor's access rules, and must belong to the same client
  const linked = [
    data.dealId ? { field: 'dealId', cp: (await getDeal(ctx, data.dealId)).counterpartyId } : null,
    data.leadId ? { field: 'leadId', cp: (await getLead(ctx, data.leadId)).counterpartyId } : null,
    data.contactId ? { field: 'contactId', cp: (await getContact(ctx, data.contactId)).counterpartyId } : null,
  ].filter((l) => l !== null);
  const counterpartyId = data.counterpartyId ?? linked.find((l) => l.cp)?.cp ?? null;
  if (!counterpartyId) throw invalid({ counterpartyId: 'работа ведётся с контрагентом: укажите его' });
  await getCounterparty(ctx, counterpartyId);
  for (const l of linked) {
    if (l.cp && l.cp !== counterpartyId) throw invalid({ [l.field]: 'запись относится к другому контрагенту' });
  }
  const responsibleId = data.responsibleId ?? (ctx.actor.kind === 'user' ? ctx.actor.userId : undefined);
  if (!responsibleId) throw invalid({ responsibleId: 'укажите ответственного' });
  if (ctx.actor.kind === 'user' && ctx.actor.role === 'manager' && responsibleId !== ctx.actor.userId) {
    throw forbidden('Менеджер планирует работы только себе');
  }
  const [u] = await ctx.db.select({ id: users.id }).from(users).where(eq(users.id, responsibleId));
  if (!u) throw invalid({ responsibleId: 'нет такого пользователя' });
  const [work] = await ctx.db
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
      createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
      createdAt: ctx.clock.now(),
    })
    .returning();
  await audit(ctx, 'create', 'work', work!.id, created({ actionId: work!.actionId, deadline: work!.deadline, counterpartyId, basedOnId: basedOnId ?? null }));
  await scheduleWorkReminder(ctx, work!);
  return work!;
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

/** Records the actual result, which must be one the work's action allows. */
export async function completeWork(ctx: ServiceContext, workId: number, input: { resultId: number; comment?: string }): Promise<Work> {
  const data = parseInput(z.object({ resultId: idField, comment: optionalText }), input);
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Работа уже завершена');
  if (!(await resultAllowed(ctx, work.actionId, data.resultId))) throw invalid({ resultId: 'этот результат не разрешён для действия работы' });
  const now = ctx.clock.now();
  // the status guard makes a double press complete it once
  const [after] = await ctx.db
    .update(works)
    .set({ status: 'done', actualResultId: data.resultId, resultComment: data.comment ?? null, completedAt: now })
    .where(and(eq(works.id, workId), eq(works.status, 'planned')))
    .returning();
  if (!after) throw conflict('Работа уже завершена');
  await audit(ctx, 'complete', 'work', workId, { status: { from: 'planned', to: 'done' }, actualResultId: { from: null, to: data.resultId } });
  return after;
}

export async function cancelWork(ctx: ServiceContext, workId: number): Promise<Work> {
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Работа уже завершена');
  const [after] = await ctx.db.update(works).set({ status: 'cancelled', completedAt: ctx.clock.now() }).where(eq(works.id, workId)).returning();
  await audit(ctx, 'cancel', 'work', workId, { status: { from: 'planned', to: 'cancelled' } });
  return after!;
}

export async function updateWork(ctx: ServiceContext, workId: number, patch: Partial<WorkInput>): Promise<Work> {
  const work = await getWork(ctx, workId);
  if (work.status !== 'planned') throw conflict('Завершённую работу нельзя изменить');
  const data = parseInput(workInput, { ...followUpDraft(work), ...patch });
  if (data.plannedResultId && !(await resultAllowed(ctx, data.actionId, data.plannedResultId))) {
    throw invalid({ plannedResultId: 'результат не подходит к действию' });
  }
  const values = { actionId: data.actionId, plannedResultId: data.plannedResultId ?? null, deadline: data.deadline, comment: data.comment ?? null };
  const [after] = await ctx.db.update(works).set(values).where(eq(works.id, workId)).returning();
  await audit(ctx, 'update', 'work', workId, diff(work as unknown as Record<string, unknown>, values));
  if (after!.deadline.getTime() !== work.deadline.getTime()) await scheduleWorkReminder(ctx, after!);
  return after!;
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

/** Creates a follow-up copied from an existing work, with the given changes (e.g. a new deadline). */
export async function createFollowUpWork(ctx: ServiceContext, fromWorkId: number, changes: Partial<WorkInput> = {}): Promise<Work> {
  const source = await getWork(ctx, fromWorkId);
  return createWork(ctx, { ...followUpDraft(source), ...changes }, source.id);
}

export const workFilterInput = z.object({
  responsibleId: idField.optional(),
  status: z.enum(['planned', 'done', 'cancelled']).optional(),
  counterpartyId: idField.optional(),
  leadId: idField.optional(),
  dealId: idField.optional(),
  /** planned works due before this instant (today's and overdue) */
  dueBefore: z.coerce.date().optional(),
});

export async function listWorks(
  ctx: ServiceContext,
  filter: z.input<typeof workFilterInput> = {},
  opts: { limit?: number; offset?: number } = {},
): Promise<Work[]> {
  const f = parseInput(workFilterInput, filter);
  const conds: (SQL | undefined)[] = [workScope(ctx)];
  if (f.responsibleId) conds.push(eq(works.responsibleId, f.responsibleId));
  if (f.status) conds.push(eq(works.status, f.status));
  if (f.counterpartyId) conds.push(eq(works.counterpartyId, f.counterpartyId));
  if (f.leadId) conds.push(eq(works.leadId, f.leadId));
  if (f.dealId) conds.push(eq(works.dealId, f.dealId));
  if (f.dueBefore) conds.push(eq(works.status, 'planned'), lt(works.deadline, f.dueBefore));
  return ctx.db
    .select()
    .from(works)
    .where(and(...conds))
    .orderBy(asc(works.deadline), asc(works.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500))
    .offset(opts.offset ?? 0);
}

