import { sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { leads } from '../db/schema/index.js';
import { leadScope } from '../access/scope.js';
import { leadSources, type LeadSource } from './leads.js';
import { leadSourceLabels } from './labels.js';

export { leadSourceLabels } from './labels.js';

/** Each source with the number of leads from it that the actor may see. */
export async function leadSourceCounts(ctx: ServiceContext): Promise<{ source: LeadSource; label: string; leads: number }[]> {
  const scope = leadScope(ctx);
  const rows = await ctx.db
    .select({ source: leads.source, n: sql<number>`count(*)::int` })
    .from(leads)
    .where(scope)
    .groupBy(leads.source);
  const counts = new Map(rows.map((r) => [r.source, r.n]));
  return leadSources.map((source) => ({ source, label: leadSourceLabels[source], leads: counts.get(source) ?? 0 }));
}
