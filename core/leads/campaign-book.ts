import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { campaigns, leads } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';
import { parseInput } from '../shared/input.js';
import { requireRole } from '../access/scope.js';
import { findOrCreateCampaign, type Campaign } from './campaigns.js';

/** Campaigns with their lead counts. */
export async function listCampaignBook(ctx: ServiceContext): Promise<{ campaign: Campaign; leads: number }[]> {
  const r = await ctx.db.execute(sql`
    SELECT c.id, c.name, c.utm_source, c.utm_medium, c.utm_campaign, c.created_at,
      (SELECT count(*)::int FROM leads l WHERE l.campaign_id = c.id) AS leads
    FROM campaigns c ORDER BY c.name`);
  const rows = (Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows) as Record<string, unknown>[];
  return rows.map((x) => ({
    campaign: {
      id: Number(x.id),
      name: String(x.name),
      utmSource: String(x.utm_source),
      utmMedium: String(x.utm_medium),
      utmCampaign: String(x.utm_campaign),
      createdAt: new Date(x.created_at as string),
    },
    leads: Number(x.leads),
  }));
}

/**
 * The campaigns reference book as the head edits it: a campaign entered by hand before its first
 * lead arrives, renamed or deleted. Campaigns met in incoming leads are created by the lead
 * pipeline itself.
 */
export async function createCampaign(
  ctx: ServiceContext,
  input: { name: string; utmSource?: string; utmMedium?: string; utmCampaign?: string },
): Promise<Campaign> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(
    z
      .object({
        name: z.string().trim().min(1, 'укажите название').max(200),
        utmSource: z.string().trim().max(200).default(''),
        utmMedium: z.string().trim().max(200).default(''),
        utmCampaign: z.string().trim().max(200).default(''),
      })
      .refine((d) => d.utmSource || d.utmCampaign, { path: ['utmSource'], message: 'укажите utm_source или utm_campaign' }),
    input,
  );
  const before = await findOrCreateCampaign(ctx, { utm_source: data.utmSource, utm_medium: data.utmMedium, utm_campaign: data.utmCampaign });
  if (!before) throw conflict('Не удалось создать кампанию');
  await renameCampaign(ctx, before.id, data.name);
  return { ...before, name: data.name };
}

export async function editCampaign(ctx: ServiceContext, id: number, name: string): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const data = parseInput(z.object({ name: z.string().trim().min(1, 'укажите название').max(200) }), { name });
  await renameCampaign(ctx, id, data.name);
}

export async function removeCampaign(ctx: ServiceContext, id: number): Promise<void> {
  requireRole(ctx, 'admin', 'head');
  const [used] = await ctx.db.select({ n: sql<number>`count(*)::int` }).from(leads).where(eq(leads.campaignId, id));
  if (used!.n > 0) throw conflict(`Кампания используется в лидах: ${used!.n}`);
  const [row] = await ctx.db.delete(campaigns).where(eq(campaigns.id, id)).returning();
  if (!row) throw notFound('Кампания');
}

async function renameCampaign(ctx: ServiceContext, id: number, name: string): Promise<void> {
  const [row] = await ctx.db.update(campaigns).set({ name }).where(eq(campaigns.id, id)).returning();
  if (!row) throw notFound('Кампания');
}
