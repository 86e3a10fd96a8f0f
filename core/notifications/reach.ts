import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { users } from '../db/schema/index.js';

/** Those of these users the bot can tell: active and with Telegram linked. */
export async function reachable(ctx: ServiceContext, ids: number[]): Promise<number[]> {
  if (!ids.length) return [];
  const rows = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(and(inArray(users.id, ids), eq(users.active, true), isNotNull(users.telegramId)));
  return rows.map((r) => r.id);
}

/**
 * Who is told when the people a client's request belongs to cannot be (nobody is responsible,
 * or the responsible has not linked Telegram): the heads of sales who can be told, else the
 * admins who can. A request must always reach a person.
 */
export async function fallbackRecipients(ctx: ServiceContext): Promise<number[]> {
  const rows = await ctx.db
    .select({ id: users.id, role: users.role })
    .from(users)
    .where(and(eq(users.active, true), isNotNull(users.telegramId), inArray(users.role, ['head', 'admin'])));
  const heads = rows.filter((u) => u.role === 'head');
  return (heads.length ? heads : rows).map((u) => u.id);
}
