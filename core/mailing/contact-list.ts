import { and, asc, eq, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, counterparties } from '../db/schema/index.js';
import { contactFilterConditions, type ContactFilter } from '../contacts/contacts.js';

/** A contact with its counterparty's name, as the mailing lists and their export show it (contacts left-joined to counterparties). */
export const contactWithCounterparty = {
  id: contacts.id,
  name: contacts.name,
  position: contacts.position,
  phones: contacts.phones,
  phoneExtensions: contacts.phoneExtensions,
  emails: contacts.emails,
  counterpartyId: contacts.counterpartyId,
  counterpartyName: counterparties.name,
};

/**
 * The contacts list of the mailing page: contacts the actor may see, with their counterparty,
 * sorted by name. One row more than asked tells whether a next page exists without counting.
 */
export async function listContactsForMailing(ctx: ServiceContext, filter: ContactFilter, opts: { limit?: number; offset?: number } = {}) {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const rows = await ctx.db
    .select({
      ...contactWithCounterparty,
      counterpartyKind: counterparties.kind,
      region: counterparties.region,
      mailingTypes: sql<string[]>`ARRAY(SELECT mt.name FROM contact_mailing_types cmt JOIN mailing_types mt ON mt.id = cmt.mailing_type_id
        WHERE cmt.contact_id = ${contacts.id} ORDER BY mt.name)`,
    })
    .from(contacts)
    .leftJoin(counterparties, eq(counterparties.id, contacts.counterpartyId))
    .where(and(...(await contactFilterConditions(ctx, filter))))
    .orderBy(asc(contacts.name), asc(contacts.id))
    .limit(limit + 1)
    .offset(opts.offset ?? 0);
  return { items: rows.slice(0, limit), hasMore: rows.length > limit };
}
