import { and, asc, isNull, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts } from '../db/schema/index.js';
import { consolidateOpenLeads } from '../leads/open-request.js';
import { mergeContacts } from './merge.js';

/**
 * A phone a channel vouches for (a WhatsApp number, a contact shared from the client's own
 * Telegram or Viber) proves that every live contact holding it is one person: they are merged
 * into the oldest, with the history of all, and their open leads into one. Returns the contact
 * the message belongs to now. Typed-in phones (forms, imports) prove nothing and are not merged.
 */
export async function mergeContactsSharingPhone(tx: ServiceContext, contactId: number, phone: string): Promise<number> {
  const same = await tx.db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(sql`${contacts.phones} @> ARRAY[${phone}]::text[]`, isNull(contacts.mergedIntoId)))
    .orderBy(asc(contacts.id))
    .limit(20);
  const ids = same.map((c) => c.id);
  if (!ids.includes(contactId)) ids.push(contactId);
  if (ids.length < 2) return contactId;
  const survivor = Math.min(...ids);
  for (const id of ids) if (id !== survivor) await mergeContacts(tx, survivor, id);
  await consolidateOpenLeads(tx, survivor);
  return survivor;
}
