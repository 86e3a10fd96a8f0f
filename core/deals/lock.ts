import { eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { deals } from '../db/schema/index.js';
import { getDeal, type Deal } from './deals.js';

/**
 * The deal, locked for the rest of the transaction and read after the lock: whoever comes second
 * (another manager's «Счёт и договор», the head closing the deal) waits and then sees the row as the
 * first one left it. Access is checked by getDeal as usual.
 */
export async function lockDeal(tx: ServiceContext, id: number): Promise<Deal> {
  await tx.db.execute(sql`SELECT 1 FROM ${deals} WHERE ${eq(deals.id, id)} FOR UPDATE`);
  return getDeal(tx, id);
}
