import { inArray } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, counterparties, deals, leads } from '../db/schema/index.js';

/** The kinds of record a work hangs on. */
export type WorkEntity = 'deal' | 'lead' | 'contact' | 'counterparty';

/** How the panel and the bot name the record a work is on. */
export const workEntityLabel: Record<WorkEntity, string> = {
  deal: 'Сделка',
  lead: 'Лид',
  contact: 'Контакт',
  counterparty: 'Контрагент',
};

/** What a work is about: its most specific record (deal, lead, contact, counterparty) and the client's name. */
export interface WorkSubject {
  entity: WorkEntity;
  id: number;
  title: string;
  /** the counterparty's name, or the contact's when there is no counterparty */
  client: string | null;
}

type Linked = { id: number; counterpartyId: number | null; contactId: number | null; leadId: number | null; dealId: number | null };

/**
 * The subjects of works the actor already sees (listWorks, getWork): the names of their linked
 * records, read in four queries. A work's own visibility is what allows showing them.
 */
export async function workSubjects(ctx: ServiceContext, list: Linked[]): Promise<Record<number, WorkSubject>> {
  const ids = (key: keyof Linked) => [...new Set(list.map((w) => w[key]).filter((x): x is number => typeof x === 'number'))];
  const dealIds = ids('dealId');
  const leadIds = ids('leadId');
  const dealRows = dealIds.length ? await ctx.db.select({ id: deals.id, title: deals.title, cp: deals.counterpartyId, contact: deals.contactId }).from(deals).where(inArray(deals.id, dealIds)) : [];
  const leadRows = leadIds.length ? await ctx.db.select({ id: leads.id, title: leads.title, cp: leads.counterpartyId, contact: leads.contactId }).from(leads).where(inArray(leads.id, leadIds)) : [];
  const dealOf = new Map(dealRows.map((d) => [d.id, d]));
  const leadOf = new Map(leadRows.map((l) => [l.id, l]));
  const cpIds = new Set(ids('counterpartyId'));
  const contactIds = new Set(ids('contactId'));
  for (const r of [...dealRows, ...leadRows]) {
    if (r.cp) cpIds.add(r.cp);
    if (r.contact) contactIds.add(r.contact);
  }
  const cpRows = cpIds.size ? await ctx.db.select({ id: counterparties.id, name: counterparties.name }).from(counterparties).where(inArray(counterparties.id, [...cpIds])) : [];
  const contactRows = contactIds.size ? await ctx.db.select({ id: contacts.id, name: contacts.name }).from(contacts).where(inArray(contacts.id, [...contactIds])) : [];
  const cpName = new Map(cpRows.map((c) => [c.id, c.name]));
  const contactName = new Map(contactRows.map((c) => [c.id, c.name]));

  const out: Record<number, WorkSubject> = {};
  for (const w of list) {
    const deal = w.dealId ? dealOf.get(w.dealId) : undefined;
    const lead = w.leadId ? leadOf.get(w.leadId) : undefined;
    const cpId = w.counterpartyId ?? deal?.cp ?? lead?.cp ?? null;
    const contactId = w.contactId ?? deal?.contact ?? lead?.contact ?? null;
    const client = (cpId ? cpName.get(cpId) : undefined) ?? (contactId ? contactName.get(contactId) : undefined) ?? null;
    if (deal) out[w.id] = { entity: 'deal', id: deal.id, title: deal.title, client };
    else if (lead) out[w.id] = { entity: 'lead', id: lead.id, title: lead.title, client };
    else if (w.contactId) out[w.id] = { entity: 'contact', id: w.contactId, title: contactName.get(w.contactId) ?? `№${w.contactId}`, client };
    else if (w.counterpartyId) out[w.id] = { entity: 'counterparty', id: w.counterpartyId, title: cpName.get(w.counterpartyId) ?? `№${w.counterpartyId}`, client };
  }
  return out;
}

/** One line for a reminder or a list: «ООО Ромашка», «Лид «Заявка с сайта» (Иван Петров)». */
export function subjectText(s: WorkSubject | undefined): string {
  if (!s) return '';
  if (s.entity === 'counterparty' || (s.entity === 'contact' && !s.client)) return s.title;
  if (s.entity === 'contact') return s.client && s.client !== s.title ? `${s.title} (${s.client})` : s.title;
  return `${workEntityLabel[s.entity]} «${s.title}»${s.client ? ` (${s.client})` : ''}`;
}
