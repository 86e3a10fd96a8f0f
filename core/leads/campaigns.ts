import { asc, eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { campaigns, leads } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';

export type Campaign = typeof campaigns.$inferSelect;

/** R15: the campaign is the (utm_source, utm_medium, utm_campaign) triple; created on first sight. */
export async function findOrCreateCampaign(
  ctx: ServiceContext,
  utm: { utm_source?: string | undefined; utm_medium?: string | undefined; utm_campaign?: string | undefined },
): Promise<Campaign | null> {
  const utmSource = (utm.utm_source ?? '').trim().slice(0, 200);
  const utmMedium = (utm.utm_medium ?? '').trim().slice(0, 200);
  const utmCampaign = (utm.utm_campaign ?? '').trim().slice(0, 200);
  if (!utmSource && !utmCampaign) return null;
  const name = [utmSource, utmMedium, utmCampaign].filter(Boolean).join(' / ');
  await ctx.db.insert(campaigns).values({ name, utmSource, utmMedium, utmCampaign, createdAt: ctx.clock.now() }).onConflictDoNothing();
  const [row] = await ctx.db
    .select()
    .from(campaigns)
    .where(sql`${campaigns.utmSource} = ${utmSource} AND ${campaigns.utmMedium} = ${utmMedium} AND ${campaigns.utmCampaign} = ${utmCampaign}`);
  return row!;
}

export async function listCampaigns(ctx: ServiceContext) {
  return ctx.db
    .select({ campaign: campaigns, leads: sql<number>`(SELECT count(*)::int FROM ${leads} WHERE ${leads.campaignId} = ${campaigns.id})` })
    .from(campaigns)
    .orderBy(asc(campaigns.name));
}

export async function renameCampaign(ctx: ServiceContext, id: number, name: string): Promise<void> {
  const [row] = await ctx.db.update(campaigns).set({ name: name.trim() }).where(eq(campaigns.id, id)).returning();
  if (!row) throw notFound('Кампания');
}

export async function deleteCampaign(ctx: ServiceContext, id: number): Promise<void> {
  const [used] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(leads).where(eq(leads.campaignId, id));
  if (used!.n > 0) throw conflict(`Кампания используется в лидах: ${used!.n}`);
  const [row] = await ctx.db.delete(campaigns).where(eq(campaigns.id, id)).returning();
  if (!row) throw notFound('Кампания');
}
