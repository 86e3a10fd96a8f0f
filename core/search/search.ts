import { and, desc, isNull, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, counterparties } from '../db/schema/index.js';
import { contactScope, counterpartyScope } from '../access/scope.js';
import { counterpartyTextFor } from '../counterparties/counterparties.js';
import { contactTextFor } from '../contacts/contacts.js';

/**
 * `/find` and the search box: counterparties and contacts by name (typo-tolerant with pg_trgm),
 * INN, phone in any notation or e-mail, within what the actor may see; best matches first.
 */
export async function search(ctx: ServiceContext, text: string, opts: { limit?: number } = {}) {
  const t = text.trim();
  if (!t) return { counterparties: [], contacts: [] };
  const limit = Math.min(Math.max(opts.limit ?? 10, 1), 100);
  const [cps, cts] = [
    await ctx.db
      .select()
      .from(counterparties)
      .where(and(isNull(counterparties.mergedIntoId), counterpartyScope(ctx), await counterpartyTextFor(ctx, t)))
      .orderBy(desc(sql`similarity(${counterparties.name}, ${t})`), counterparties.id)
      .limit(limit),
    await ctx.db
      .select()
      .from(contacts)
      .where(and(isNull(contacts.mergedIntoId), contactScope(ctx), await contactTextFor(ctx, t)))
      .orderBy(desc(sql`similarity(${contacts.name}, ${t})`), contacts.id)
      .limit(limit),
  ];
  return { counterparties: cps, contacts: cts };
}
