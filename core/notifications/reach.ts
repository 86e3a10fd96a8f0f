import { and, eq, inArray, isNotNull, or } from 'drizzle-orm';
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

/**
 * The people of `ids` the bot can tell, or when it can tell none of them the heads (else admins)
 * it can: one query, since every client message asks it.
 */
export async function reachableOrFallback(ctx: ServiceContext, ids: number[]): Promise<number[]> {
  const rows = await ctx.db
    .select({ id: users.id, role: users.role })
    .from(users)
    .where(
      and(
        eq(users.active, true),
        isNotNull(users.telegramId),
        ids.length ? or(inArray(users.id, ids), inArray(users.role, ['head', 'admin'])) : inArray(users.role, ['head', 'admin']),
      ),
    );
  const wanted = new Set(ids);
  const told = rows.filter((u) => wanted.has(u.id));
  if (told.length) return told.map((u) => u.id);
  const heads = rows.filter((u) => u.role === 'head');
  return (heads.length ? heads : rows.filter((u) => u.role === 'admin')).map((u) => u.id);
}
