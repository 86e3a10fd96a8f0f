import { sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';

/**
 * Transaction-scoped locks on string keys, taken in the given order and released at commit or
 * rollback: one client's inbound messages, one call's events (and a click-to-call's answer) are
 * taken in turn, so repeats and races make one row, never two.
 */
export async function lockKeys(ctx: ServiceContext, ...keys: (string | null | undefined)[]): Promise<void> {
  const list = keys.filter((k): k is string => !!k);
  if (!list.length) return;
  const one = (k: string) => sql`pg_advisory_xact_lock(hashtextextended(${k}, 0))`;
  await ctx.db.execute(sql`SELECT ${sql.join(list.map(one), sql`, `)}`);
}
