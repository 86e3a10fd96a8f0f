import { asc, eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { campaigns } from '../db/schema/index.js';

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

/** Campaigns by name, for filters and pickers (the reference book with lead counts is campaign-book.ts). */
export async function listCampaigns(ctx: ServiceContext): Promise<Campaign[]> {
  return ctx.db.select().from(campaigns).orderBy(asc(campaigns.name));
}

export async function findCampaign(ctx: ServiceContext, id: number): Promise<Campaign | null> {
  const [row] = await ctx.db.select().from(campaigns).where(eq(campaigns.id, id));
  return row ?? null;
}
