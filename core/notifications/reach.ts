import { and, eq, inArray, isNotNull, or } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { users } from '../db/schema/index.js';

/**
 * The people of `ids` the bot can tell (active, Telegram linked), or when it can tell none of them
 * the heads of sales (else the admins) it can: a client's request always reaches a person. One
 * query, since client messages ask it.
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
