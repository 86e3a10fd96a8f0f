import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { dealStages } from '../db/schema/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { requireRole } from '../access/scope.js';
import type { DealStage } from './deals.js';

/**
 * Edits a stage of the reference book (name, order, whether it closes a deal as won or lost, and the
 * document event that moves a deal here by itself: one stage per event, so setting it here clears it
 * on the stage that had it).
 */
export async function updateDealStage(
  ctx: ServiceContext,
  id: number,
  input: { name: string; sortOrder?: number | string; isWon?: boolean; isLost?: boolean; enterOn?: string | null },
): Promise<DealStage> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(
    z.object({
      name: z.string().trim().min(1, 'укажите название'),
      sortOrder: z.coerce.number('порядок: целое число').int('порядок: целое число').default(100),
      isWon: z.boolean().default(false),
      isLost: z.boolean().default(false),
      enterOn: z
        .enum(['proposal_made', 'proposal_sent', 'invoice_made', 'invoice_sent', ''], 'нет такого события')
        .nullish()
        .transform((v) => v || null),
    }),
    input,
  );
  if (data.isWon && data.isLost) throw invalid({ isLost: 'стадия не может быть и выигрышем, и проигрышем' });
  const [dup] = await ctx.db.select({ id: dealStages.id }).from(dealStages).where(and(eq(dealStages.name, data.name), ne(dealStages.id, id)));
  if (dup) throw conflict(`Стадия «${data.name}» уже есть`);
  if (data.enterOn && (data.isWon || data.isLost)) throw invalid({ enterOn: 'документ не закрывает сделку: выберите стадию «в работе»' });
  return inTransaction(ctx, async (tx) => {
    if (data.enterOn) await tx.db.update(dealStages).set({ enterOn: null }).where(and(eq(dealStages.enterOn, data.enterOn), ne(dealStages.id, id)));
    const [row] = await tx.db.update(dealStages).set(data).where(eq(dealStages.id, id)).returning();
    if (!row) throw notFound('Стадия');
    return row;
  });
}
