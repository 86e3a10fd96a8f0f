import { and, asc, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { lossReasons } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { requireRole } from '../access/scope.js';

/** «Причины отказа»: why a deal was lost or a lead closed. */
export type LossReason = typeof lossReasons.$inferSelect;

/** The book in its order; archived reasons only when asked (they stay on old deals but are not offered). */
export async function listLossReasons(ctx: ServiceContext, opts: { includeArchived?: boolean } = {}): Promise<LossReason[]> {
  return ctx.db
    .select()
    .from(lossReasons)
    .where(opts.includeArchived ? undefined : eq(lossReasons.archived, false))
    .orderBy(asc(lossReasons.sortOrder), asc(lossReasons.name));
}

/** A reason a deal or lead may be closed with now: it exists and is not archived. */
export async function usableLossReason(ctx: ServiceContext, id: number, field = 'lossReasonId'): Promise<LossReason> {
  const [row] = Number.isInteger(id) && id > 0 && id <= 2_147_483_647 ? await ctx.db.select().from(lossReasons).where(eq(lossReasons.id, id)) : [];
  if (!row) throw invalid({ [field]: 'укажите причину отказа' });
  if (row.archived) throw invalid({ [field]: `причина «${row.name}» в архиве: выберите другую` });
  return row;
}

const reasonInput = z.object({
  name: z.string('укажите название').trim().min(1, 'укажите название').max(200, 'не длиннее 200 символов'),
  sortOrder: z.coerce.number('порядок: целое число').int('порядок: целое число').min(-1_000_000).max(1_000_000).optional(),
  archived: z.boolean().optional(),
});

async function ensureUniqueName(ctx: ServiceContext, name: string, exceptId?: number): Promise<void> {
  const [dup] = await ctx.db
    .select({ id: lossReasons.id })
    .from(lossReasons)
    .where(exceptId ? and(eq(lossReasons.name, name), ne(lossReasons.id, exceptId)) : eq(lossReasons.name, name));
  if (dup) throw conflict(`Причина «${name}» уже есть`);
}

export async function createLossReason(ctx: ServiceContext, input: { name: string; sortOrder?: number | string }): Promise<LossReason> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(reasonInput, input);
  await ensureUniqueName(ctx, data.name);
  const [row] = await ctx.db
    .insert(lossReasons)
    .values({ name: data.name, sortOrder: data.sortOrder ?? 100 })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`Причина «${data.name}» уже есть`);
  return row;
}

/** Renames, reorders, archives or brings back a reason. */
export async function updateLossReason(
  ctx: ServiceContext,
  id: number,
  input: { name: string; sortOrder?: number | string; archived?: boolean },
): Promise<LossReason> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(reasonInput, input);
  const [before] = Number.isInteger(id) && id > 0 ? await ctx.db.select().from(lossReasons).where(eq(lossReasons.id, id)) : [];
  if (!before) throw notFound('Причина отказа');
  await ensureUniqueName(ctx, data.name, id);
  const [row] = await ctx.db
    .update(lossReasons)
    .set({ name: data.name, sortOrder: data.sortOrder ?? before.sortOrder, archived: data.archived ?? before.archived })
    .where(eq(lossReasons.id, id))
    .returning();
  return row!;
}
