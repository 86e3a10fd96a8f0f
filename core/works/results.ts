import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { results } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { requireRole } from '../access/scope.js';
import type { Result } from './actions.js';

/** Renames a result of the «Результат» reference book. */
export async function renameResult(ctx: ServiceContext, id: number, name: string): Promise<Result> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(z.object({ name: z.string().trim().min(1, 'укажите название') }), { name });
  const [dup] = await ctx.db.select({ id: results.id }).from(results).where(and(eq(results.name, data.name), ne(results.id, id)));
  if (dup) throw conflict(`Результат «${data.name}» уже есть`);
  const [row] = await ctx.db.update(results).set({ name: data.name }).where(eq(results.id, id)).returning();
  if (!row) throw notFound('Результат');
  return row;
}
