import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { actorTimeZone, type ServiceContext } from '../context.js';
import { dealStages, deals } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { dayField, idField } from '../shared/fields.js';
import { dealScope } from '../access/scope.js';
import { startOfDayInZone } from '../validation/time.js';
import type { Deal, DealStage } from './deals.js';

/** Deals shown in one column of the board; the count and the sum cover all of the column. */
export const PIPELINE_COLUMN_LIMIT = 50;

export interface PipelineColumn {
  stage: DealStage;
  count: number;
  sumKopecks: bigint;
  deals: Deal[];
}

export const pipelineFilterInput = z.object({
  responsibleId: idField.optional(),
  from: dayField.optional(),
  to: dayField.optional(),
});
export type PipelineFilter = z.input<typeof pipelineFilterInput>;

const nextDay = (d: string) => new Date(Date.parse(d + 'T00:00:00Z') + 86_400_000).toISOString().slice(0, 10);

/**
 * The conditions of the board and the list for a period: an open deal counts on the day it was
 * created, a closed one on the day it closed (days of the actor's time zone).
 */
export function dealPeriodCondition(ctx: ServiceContext, from?: string, to?: string): SQL | undefined {
  if (!from && !to) return undefined;
  const tz = actorTimeZone(ctx.actor);
  const at = sql`coalesce(${deals.closedAt}, ${deals.createdAt})`;
  const conds: SQL[] = [];
  if (from) conds.push(sql`${at} >= ${startOfDayInZone(from, tz).toISOString()}::timestamptz`);
  if (to) conds.push(sql`${at} < ${startOfDayInZone(nextDay(to), tz).toISOString()}::timestamptz`);
  return and(...conds);
}

/**
 * The pipeline board (R10): a column per stage with the number and sum of the visible deals in it
 * (R3: dealScope), and the latest-updated deals of each column.
 */
export async function dealPipeline(ctx: ServiceContext, filter: PipelineFilter = {}): Promise<{ stages: PipelineColumn[] }> {
  const f = parseInput(pipelineFilterInput, filter);
  if (f.from && f.to && f.from > f.to) throw invalid({ to: 'конец периода раньше начала' });
  const where = and(dealScope(ctx), f.responsibleId ? eq(deals.responsibleId, f.responsibleId) : undefined, dealPeriodCondition(ctx, f.from, f.to));
  const [stages, totals] = await Promise.all([
    ctx.db.select().from(dealStages).orderBy(asc(dealStages.sortOrder), asc(dealStages.id)),
    ctx.db
      .select({ stageId: deals.stageId, n: sql<number>`count(*)::int`, sum: sql<string>`coalesce(sum(${deals.amountKopecks}), 0)::text` })
      .from(deals)
      .where(where)
      .groupBy(deals.stageId),
  ]);
  const byStage = new Map(totals.map((t) => [t.stageId, t]));
  const columns: PipelineColumn[] = [];
  for (const stage of stages) {
    const t = byStage.get(stage.id);
    const shown = t
      ? await ctx.db
          .select()
          .from(deals)
          .where(and(where, eq(deals.stageId, stage.id)))
          .orderBy(desc(deals.updatedAt), desc(deals.id))
          .limit(PIPELINE_COLUMN_LIMIT)
      : [];
    columns.push({ stage, count: t ? Number(t.n) : 0, sumKopecks: t ? BigInt(t.sum) : 0n, deals: shown });
  }
  return { stages: columns };
}
