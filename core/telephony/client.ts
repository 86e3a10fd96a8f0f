import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, counterparties, deals, leads } from '../db/schema/index.js';
import { audit, created, recordHistory } from '../shared/audit.js';
import { findContactByPhone } from '../contacts/contacts.js';
import { createLead } from '../leads/leads.js';
import { openLeadOrDeal } from '../leads/open-request.js';
import { formatPhone } from '../validation/phone.js';

/** Whom a call is with, as far as the CRM knows: the records a call links to. */
export interface CallClient {
  contactId: number | null;
  counterpartyId: number | null;
  leadId: number | null;
  dealId: number | null;
  /** who answers for the client: the open lead's or deal's responsible, else the counterparty's */
  responsibleId: number | null;
  createdContact: boolean;
  createdLead: boolean;
}

const none: CallClient = { contactId: null, counterpartyId: null, leadId: null, dealId: null, responsibleId: null, createdContact: false, createdLead: false };

/**
 * R8 for a call: the number (E.164) → the oldest live contact with it, else a live counterparty
 * with it, with the client's open lead or deal. An unknown number calling in (`createUnknown`)
 * becomes a contact named by the formatted number and a lead «Телефонный звонок» routed like any
 * lead; a number we dialled ourselves makes nothing. Runs inside the caller's transaction, under
 * the caller's lock on the phone.
 */
export async function findCallClient(tx: ServiceContext, phone: string, opts: { createUnknown: boolean }): Promise<CallClient> {
  const contact = await findContactByPhone(tx, phone);
  if (contact) {
    const open = await openLeadOrDeal(tx, contact.id);
    const counterpartyId = contact.counterpartyId;
    return {
      ...none,
      contactId: contact.id,
      counterpartyId,
      leadId: open.lead?.id ?? null,
      dealId: open.deal?.id ?? null,
      responsibleId: open.lead?.responsibleId ?? open.deal?.responsibleId ?? (await counterpartyResponsible(tx, counterpartyId)),
    };
  }
  const [cp] = await tx.db
    .select({ id: counterparties.id, responsibleId: counterparties.responsibleId })
    .from(counterparties)
    .where(and(sql`${counterparties.phones} @> ARRAY[${phone}]::text[]`, isNull(counterparties.mergedIntoId)))
    .orderBy(asc(counterparties.id))
    .limit(1);
  if (cp) {
    // the company's own number: its open lead or deal, whoever the contact person is
    const [lead] = await tx.db
      .select({ id: leads.id, responsibleId: leads.responsibleId })
      .from(leads)
      .where(and(eq(leads.counterpartyId, cp.id), inArray(leads.status, ['new', 'in_progress'])))
      .orderBy(asc(leads.id))
      .limit(1);
    const [deal] = lead
      ? []
      : await tx.db
          .select({ id: deals.id, responsibleId: deals.responsibleId })
          .from(deals)
          .where(and(eq(deals.counterpartyId, cp.id), isNull(deals.closedAt)))
          .orderBy(desc(deals.id))
          .limit(1);
    return {
      ...none,
      counterpartyId: cp.id,
      leadId: lead?.id ?? null,
      dealId: deal?.id ?? null,
      responsibleId: lead?.responsibleId ?? deal?.responsibleId ?? cp.responsibleId,
    };
  }
  if (!opts.createUnknown) return none;

  const name = formatPhone(phone);
  const now = tx.clock.now();
  const [row] = await tx.db.insert(contacts).values({ name, phones: [phone], createdAt: now, updatedAt: now }).returning();
  await audit(tx, 'create', 'contact', row!.id, created({ name, phones: row!.phones, source: 'phone' }));
  await recordHistory(tx, 'contact', row!.id, 'created', 'Контакт создан: входящий звонок с нового номера');
  // the call's card tells whom the call is given to; the lead is announced by recordCallEvent only when
  // that is someone else (a second message to the same chat would hold the card back a second)
  const lead = await createLead(tx, { title: `Телефонный звонок: ${name}`, source: 'phone', contactId: row!.id }, { announce: false });
  return { ...none, contactId: row!.id, leadId: lead.id, responsibleId: lead.responsibleId, createdContact: true, createdLead: true };
}

async function counterpartyResponsible(tx: ServiceContext, counterpartyId: number | null): Promise<number | null> {
  if (!counterpartyId) return null;
  const [cp] = await tx.db.select({ r: counterparties.responsibleId }).from(counterparties).where(eq(counterparties.id, counterpartyId));
  return cp?.r ?? null;
}
