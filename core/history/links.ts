import { sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getLead } from '../leads/leads.js';
import { getDeal } from '../deals/deals.js';
import { getTicket } from '../helpdesk/tickets.js';

export type HistoryEntity = 'counterparty' | 'contact' | 'lead' | 'deal';
/** The records with a timeline: the cards' records, and a ticket (R23: its own events beside its conversation). */
export type TimelineEntity = HistoryEntity | 'ticket';

/**
 * What belongs to a record, as conditions on the aliases the history and the documents tab use:
 * works `w`, calls `c`, messages through their conversation `cv` (null: a deal has none of its
 * own), letters `em` and notes `n`. Reading the record first applies the access rules (and resolves a
 * merged-away id to its survivor).
 */
export interface RecordLinks {
  id: number;
  works: SQL;
  calls: SQL;
  messages: SQL | null;
  emails: SQL;
  /** the record's own notes and those of the records that roll up into it (a lead's on its counterparty) */
  notes: SQL;
}

/** Notes on records of one kind, by a subquery of their ids. */
const notesOn = (entity: TimelineEntity, ids: SQL) => sql`(n.entity_type = ${entity}::entity_type AND n.entity_id IN ${ids})`;

/**
 * Reads a record through its getX verb: not_found or forbidden by the access rules, and the id of
 * the record as it is now (a merged-away contact or counterparty answers with its survivor).
 */
export async function readRecord(ctx: ServiceContext, entity: HistoryEntity, id: number): Promise<number> {
  if (entity === 'counterparty') return (await getCounterparty(ctx, id)).id;
  if (entity === 'contact') return (await getContact(ctx, id)).id;
  if (entity === 'lead') return (await getLead(ctx, id)).id;
  return (await getDeal(ctx, id)).id;
}

export async function recordLinks(ctx: ServiceContext, entity: TimelineEntity, id: number): Promise<RecordLinks> {
  if (entity === 'ticket') {
    // what was said on the ticket: its messages and letters; works and calls belong to the client's records
    const t = await getTicket(ctx, id);
    return {
      id: t.id,
      works: sql`false`,
      calls: sql`false`,
      messages: sql`m.ticket_id = ${t.id}`,
      emails: sql`em.ticket_id = ${t.id}`,
      notes: notesOn('ticket', sql`(${t.id})`),
    };
  }
  if (entity === 'counterparty') {
    const cp = await getCounterparty(ctx, id);
    const contactIds = sql`(SELECT id FROM contacts WHERE counterparty_id = ${cp.id})`;
    return {
      id: cp.id,
      // as listWorks counts them: a messenger lead's works planned before it had a counterparty are the client's too
      works: sql`w.counterparty_id = ${cp.id} OR w.lead_id IN (SELECT id FROM leads WHERE counterparty_id = ${cp.id})
        OR w.deal_id IN (SELECT id FROM deals WHERE counterparty_id = ${cp.id}) OR w.contact_id IN ${contactIds}`,
      calls: sql`c.counterparty_id = ${cp.id} OR c.contact_id IN ${contactIds}`,
      messages: sql`cv.contact_id IN ${contactIds}`,
      emails: sql`em.counterparty_id = ${cp.id} OR em.contact_id IN ${contactIds}`,
      notes: sql`${notesOn('counterparty', sql`(${cp.id})`)} OR ${notesOn('contact', contactIds)}
        OR ${notesOn('lead', sql`(SELECT id FROM leads WHERE counterparty_id = ${cp.id})`)}
        OR ${notesOn('deal', sql`(SELECT id FROM deals WHERE counterparty_id = ${cp.id})`)}`,
    };
  }
  if (entity === 'contact') {
    const c = await getContact(ctx, id);
    return {
      id: c.id,
      works: sql`w.contact_id = ${c.id} OR w.lead_id IN (SELECT id FROM leads WHERE contact_id = ${c.id}) OR w.deal_id IN (SELECT id FROM deals WHERE contact_id = ${c.id})`,
      calls: sql`c.contact_id = ${c.id}`,
      messages: sql`cv.contact_id = ${c.id}`,
      emails: sql`em.contact_id = ${c.id}`,
      notes: sql`${notesOn('contact', sql`(${c.id})`)}
        OR ${notesOn('lead', sql`(SELECT id FROM leads WHERE contact_id = ${c.id})`)}
        OR ${notesOn('deal', sql`(SELECT id FROM deals WHERE contact_id = ${c.id})`)}`,
    };
  }
  if (entity === 'lead') {
    const l = await getLead(ctx, id);
    return {
      id: l.id,
      works: sql`w.lead_id = ${l.id}`,
      calls: sql`c.lead_id = ${l.id}`,
      messages: l.contactId ? sql`cv.lead_id = ${l.id} OR cv.contact_id = ${l.contactId}` : sql`cv.lead_id = ${l.id}`,
      emails: sql`em.lead_id = ${l.id}`,
      notes: notesOn('lead', sql`(${l.id})`),
    };
  }
  const d = await getDeal(ctx, id);
  return {
    id: d.id,
    works: sql`w.deal_id = ${d.id}`,
    calls: sql`c.deal_id = ${d.id}`,
    messages: null,
    emails: sql`em.deal_id = ${d.id}`,
    // the deal goes on from its lead: what was noted there is read here too
    notes: d.leadId ? sql`${notesOn('deal', sql`(${d.id})`)} OR ${notesOn('lead', sql`(${d.leadId})`)}` : notesOn('deal', sql`(${d.id})`),
  };
}
