import { eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { dealLines } from '../db/schema/index.js';

/**
 * Whether a deal's amount is the sum of its «Товары и услуги» (then a typed amount must not override
 * it). A file of its own so that deals.ts can ask without importing the lines' verbs, which import it.
 */
export async function dealHasLines(ctx: ServiceContext, dealId: number): Promise<boolean> {
  const [r] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(dealLines).where(eq(dealLines.dealId, dealId));
  return Number(r?.n ?? 0) > 0;
}
