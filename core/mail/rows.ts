import type { SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';

/** Raw rows of a query on either engine (postgres-js gives an array, PGlite `{ rows }`). */
export async function execRows<T>(ctx: ServiceContext, query: SQL): Promise<T[]> {
  const r = await ctx.db.execute(query);
  return (Array.isArray(r) ? r : (r as unknown as { rows: T[] }).rows) as T[];
}
