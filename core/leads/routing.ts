import { and, asc, eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { counterparties, leads, userSegments, users } from '../db/schema/index.js';

/**
 * Who gets a new lead: the counterparty's responsible, else a manager of its segment, else a
 * round-robin over active managers on duty (the one whose last assigned lead is oldest). Among
 * managers, those with Telegram linked come first: a lead given to someone the bot cannot tell
 * waits unseen.
 */
const linkedFirst = sql`(${users.telegramId} IS NULL)`;

export async function pickResponsible(ctx: ServiceContext, counterpartyId: number | null | undefined): Promise<number | null> {
  if (counterpartyId) {
    const [cp] = await ctx.db
      .select({ responsibleId: counterparties.responsibleId, segmentId: counterparties.segmentId })
      .from(counterparties)
      .where(eq(counterparties.id, counterpartyId));
    if (cp?.responsibleId) return cp.responsibleId;
    if (cp?.segmentId) {
      const [m] = await ctx.db
        .select({ id: users.id })
        .from(userSegments)
        .innerJoin(users, eq(users.id, userSegments.userId))
        .where(and(eq(userSegments.segmentId, cp.segmentId), eq(users.active, true)))
        .orderBy(linkedFirst, sql`(SELECT max(l.created_at) FROM leads l WHERE l.responsible_id = ${users.id}) ASC NULLS FIRST`, asc(users.id))
        .limit(1);
      if (m) return m.id;
    }
  }
  const [next] = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'manager'), eq(users.active, true), eq(users.onDuty, true)))
    .orderBy(linkedFirst, sql`(SELECT max(${leads.createdAt}) FROM ${leads} WHERE ${leads.responsibleId} = ${users.id}) ASC NULLS FIRST`, asc(users.id))
    .limit(1);
  return next?.id ?? null;
}
