import { sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { documentCounters } from '../db/schema/index.js';
import type { DocumentKind } from './types.js';

/**
 * The next number of an organisation's invoices or contracts in a year. The counter row is bumped by
 * an upsert that holds its lock until the caller's transaction ends: a second manager pressing at the
 * same moment waits and gets the next number, and a document that fails to be made rolls its number
 * back with it — no gaps, no doubles.
 */
export async function nextNumber(tx: ServiceContext, organizationId: number, kind: DocumentKind, year: number): Promise<number> {
  const [row] = await tx.db
    .insert(documentCounters)
    .values({ organizationId, kind, year, lastNumber: 1 })
    .onConflictDoUpdate({
      target: [documentCounters.organizationId, documentCounters.kind, documentCounters.year],
      set: { lastNumber: sql`${documentCounters.lastNumber} + 1` },
    })
    .returning({ n: documentCounters.lastNumber });
  return row!.n;
}
