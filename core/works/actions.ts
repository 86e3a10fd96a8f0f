import { asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { actionResults, actions, results, works } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { requireRole } from '../access/scope.js';

export type Action = typeof actions.$inferSelect;
export type Result = typeof results.$inferSelect;

const nameInput = z.object({ name: z.string().trim().min(1, 'укажите название') });

export async function listActions(ctx: ServiceContext): Promise<(Action & { results: Result[] })[]> {
  const all = await ctx.db.select().from(actions).orderBy(asc(actions.name));
  const links = await ctx.db
    .select({ actionId: actionResults.actionId, result: results })
    .from(actionResults)
    .innerJoin(results, eq(results.id, actionResults.resultId))
    .orderBy(asc(results.name));
  return all.map((a) => ({ ...a, results: links.filter((l) => l.actionId === a.id).map((l) => l.result) }));
}

/** The action named so in the book (e.g. «Позвонить», seeded by migrations/0002), or null. */
export async function actionByName(ctx: ServiceContext, name: string): Promise<Action | null> {
  const [row] = await ctx.db.select().from(actions).where(eq(actions.name, name));
  return row ?? null;
}

export async function listResults(ctx: ServiceContext): Promise<Result[]> {
  return ctx.db.select().from(results).orderBy(asc(results.name));
}

export async function allowedResults(ctx: ServiceContext, actionId: number): Promise<Result[]> {
  return ctx.db
    .select({ id: results.id, name: results.name })
    .from(actionResults)
    .innerJoin(results, eq(results.id, actionResults.resultId))
    .where(eq(actionResults.actionId, actionId))
    .orderBy(asc(results.name));
}

export async function createResult(ctx: ServiceContext, name: string): Promise<Result> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(nameInput, { name });
  const [row] = await ctx.db.insert(results).values(data).onConflictDoNothing().returning();
  if (!row) throw conflict(`Результат «${data.name}» уже есть`);
  return row;
}

/** Creates an action with the results it allows. */
export async function createAction(ctx: ServiceContext, input: { name: string; resultIds: number[] }): Promise<Action> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(nameInput.extend({ resultIds: z.array(z.coerce.number().int().positive()).default([]) }), input);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.insert(actions).values({ name: data.name }).onConflictDoNothing().returning();
    if (!row) throw conflict(`Действие «${data.name}» уже есть`);
    await setLinks(tx as never, row.id, data.resultIds);
    return row;
  });
}

export async function updateAction(ctx: ServiceContext, id: number, input: { name: string; resultIds: number[] }): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(nameInput.extend({ resultIds: z.array(z.coerce.number().int().positive()).default([]) }), input);
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx.update(actions).set({ name: data.name }).where(eq(actions.id, id)).returning();
    if (!row) throw notFound('Действие');
    await tx.delete(actionResults).where(eq(actionResults.actionId, id));
    await setLinks(tx as never, id, data.resultIds);
  });
}

async function setLinks(db: ServiceContext['db'], actionId: number, resultIds: number[]) {
  const ids = [...new Set(resultIds)];
  if (!ids.length) return;
  const found = await db.select({ id: results.id }).from(results).where(inArray(results.id, ids));
  if (found.length !== ids.length) throw invalid({ resultIds: 'нет такого результата' });
  await db.insert(actionResults).values(ids.map((resultId) => ({ actionId, resultId })));
}

export async function deleteAction(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [used] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(works).where(eq(works.actionId, id));
  if (used!.n > 0) throw conflict(`Действие используется в работах: ${used!.n}`);
  const [row] = await ctx.db.delete(actions).where(eq(actions.id, id)).returning();
  if (!row) throw notFound('Действие');
}

export async function deleteResult(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [used] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(works)
    .where(sql`${works.plannedResultId} = ${id} OR ${works.actualResultId} = ${id}`);
  const [linked] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(actionResults).where(eq(actionResults.resultId, id));
  if (used!.n > 0 || linked!.n > 0) throw conflict(`Результат используется: в работах ${used!.n}, в действиях ${linked!.n}`);
  const [row] = await ctx.db.delete(results).where(eq(results.id, id)).returning();
  if (!row) throw notFound('Результат');
}
