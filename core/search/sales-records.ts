import { and, desc, eq, ilike, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { deals, leads } from '../db/schema/index.js';
import { dealScope, leadScope } from '../access/scope.js';
import { escapeLike } from '../counterparties/counterparties.js';
import type { Lead } from '../leads/leads.js';
import type { Deal } from '../deals/deals.js';

/**
 * What a typed query asks for: «12» or «№12» is a lead or a deal by number, «лид 12» only a lead,
 * «сделка 7» only a deal; anything else is a part of a title.
 */
export function readSalesQuery(text: string): { kind: 'lead' | 'deal' | 'any'; id?: number; title?: string } {
  const t = text.trim().replace(/\s+/g, ' ');
  const m = /^(?:(лид|lead|сделка|сделку|deal)\s*)?(?:№|#|n)?\s*(\d{1,9})$/i.exec(t);
  if (m && Number(m[2]) > 0) {
    const word = (m[1] ?? '').toLowerCase();
    const kind = word === 'лид' || word === 'lead' ? 'lead' : word ? 'deal' : 'any';
    return { kind, id: Number(m[2]) };
  }
  return { kind: 'any', title: t };
}

/**
 * `/find` for the selling records: leads and deals by number or by a part of the title, within
 * what the actor may see (R3): another segment's lead is simply not found. Newest first.
 */
export async function findSalesRecords(ctx: ServiceContext, text: string, opts: { limit?: number } = {}): Promise<{ leads: Lead[]; deals: Deal[] }> {
  const q = readSalesQuery(text);
  const limit = Math.min(Math.max(opts.limit ?? 10, 1), 50);
  if (!q.id && (!q.title || q.title.length < 2)) return { leads: [], deals: [] };
  const leadCond: SQL = q.id ? eq(leads.id, q.id) : ilike(leads.title, `%${escapeLike(q.title!)}%`);
  const dealCond: SQL = q.id ? eq(deals.id, q.id) : ilike(deals.title, `%${escapeLike(q.title!)}%`);
  const foundLeads =
    q.kind === 'deal' ? [] : await ctx.db.select().from(leads).where(and(leadCond, leadScope(ctx))).orderBy(desc(leads.id)).limit(limit);
  const foundDeals =
    q.kind === 'lead' ? [] : await ctx.db.select().from(deals).where(and(dealCond, dealScope(ctx))).orderBy(desc(deals.id)).limit(limit);
  return { leads: foundLeads, deals: foundDeals };
}
