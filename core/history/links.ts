import { sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getLead } from '../leads/leads.js';
import { getDeal } from '../deals/deals.js';

export type HistoryEntity = 'counterparty' | 'contact' | 'lead' | 'deal';

/**
 * What belongs to a record, as conditions on the aliases the history and the documents tab use:
 * works `w`, calls `c`, messages through their conversation `cv` (null: a deal has none of its
 * own) and letters `em`. Reading the record first applies the access rules (and resolves a
 * merged-away id to its survivor).
 */
export interface RecordLinks {
  id: number;
  works: SQL;
  calls: SQL;
  messages: SQL | null;
  emails: SQL;
}

export async function recordLinks(ctx: ServiceContext, entity: HistoryEntity, id: number): Promise<RecordLinks> {
  if (entity === 'counterparty') {
    const cp = await getCounterparty(ctx, id);
    const contactIds = sql`(SELECT id FROM contacts WHERE counterparty_id = ${cp.id})`;
    return {
      id: cp.id,
      works: sql`w.counterparty_id = ${cp.id}`,
      calls: sql`c.counterparty_id = ${cp.id} OR c.contact_id IN ${contactIds}`,
      messages: sql`cv.contact_id IN ${contactIds}`,
      emails: sql`em.counterparty_id = ${cp.id} OR em.contact_id IN ${contactIds}`,
    };
  }
  if (entity === 'contact') {
    const c = await getContact(ctx, id);
    return { id: c.id, works: sql`w.contact_id = ${c.id}`, calls: sql`c.contact_id = ${c.id}`, messages: sql`cv.contact_id = ${c.id}`, emails: sql`em.contact_id = ${c.id}` };
  }
  if (entity === 'lead') {
    const l = await getLead(ctx, id);
    return {
      id: l.id,
      works: sql`w.lead_id = ${l.id}`,
      calls: sql`c.lead_id = ${l.id}`,
      messages: l.contactId ? sql`cv.lead_id = ${l.id} OR cv.contact_id = ${l.contactId}` : sql`cv.lead_id = ${l.id}`,
      emails: sql`em.lead_id = ${l.id}`,
    };
  }
  const d = await getDeal(ctx, id);
  return { id: d.id, works: sql`w.deal_id = ${d.id}`, calls: sql`c.deal_id = ${d.id}`, messages: null, emails: sql`em.deal_id = ${d.id}` };
}
