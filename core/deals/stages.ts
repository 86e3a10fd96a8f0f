import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { dealStages } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { requireRole } from '../access/scope.js';
import type { DealStage } from './deals.js';

/** Edits a stage of the reference book (name, order, whether it closes a deal as won or lost). */
export async function updateDealStage(
  ctx: ServiceContext,
  id: number,
  input: { name: string; sortOrder?: number | string; isWon?: boolean; isLost?: boolean },
): Promise<DealStage> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(
    z.object({
      name: z.string().trim().min(1, 'укажите название'),
      sortOrder: z.coerce.number('порядок: целое число').int('порядок: целое число').default(100),
      isWon: z.boolean().default(false),
      isLost: z.boolean().default(false),
    }),
    input,
  );
  if (data.isWon && data.isLost) throw invalid({ isLost: 'стадия не может быть и выигрышем, и проигрышем' });
  const [dup] = await ctx.db.select({ id: dealStages.id }).from(dealStages).where(and(eq(dealStages.name, data.name), ne(dealStages.id, id)));
  if (dup) throw conflict(`Стадия «${data.name}» уже есть`);
  const [row] = await ctx.db.update(dealStages).set(data).where(eq(dealStages.id, id)).returning();
  if (!row) throw notFound('Стадия');
  return row;
}
