import { eq, sql } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { calls, contactIdentities, contactMailingTypes, contacts, conversations, counterparties, deals, emails, historyEvents, leads, notes, works } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { audit, recordHistory } from '../shared/audit.js';
import { getContact } from '../contacts/contacts.js';
import { getCounterparty } from '../counterparties/counterparties.js';

const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];

/**
 * Two contacts turn out to be one person: phones, e-mails, messenger identities, conversations and
 * everything that points at the duplicate move to the survivor; the duplicate is kept as a pointer
 * (merged_into_id) so old links still resolve. One transaction.
 */
export async function mergeContacts(ctx: ServiceContext, survivorId: number, duplicateId: number) {
  if (survivorId === duplicateId) throw invalid({ duplicateId: 'нельзя объединить контакт с самим собой' });
  return inTransaction(ctx, async (tx) => {
    const keep = await getContact(tx, survivorId);
    const dup = await getContact(tx, duplicateId);
    if (keep.id === dup.id) throw invalid({ duplicateId: 'контакты уже объединены' });
    const db = tx.db;
    await db
      .update(contacts)
      .set({
        phones: union(keep.phones, dup.phones),
        emails: union(keep.emails, dup.emails),
        counterpartyId: keep.counterpartyId ?? dup.counterpartyId,
        position: keep.position ?? dup.position,
        comment: [keep.comment, dup.comment].filter(Boolean).join('\n') || null,
        updatedAt: tx.clock.now(),
      })
      .where(eq(contacts.id, keep.id));
    await db.update(contactIdentities).set({ contactId: keep.id }).where(eq(contactIdentities.contactId, dup.id));
    await db.update(conversations).set({ contactId: keep.id }).where(eq(conversations.contactId, dup.id));
    await db.update(leads).set({ contactId: keep.id }).where(eq(leads.contactId, dup.id));
    await db.update(deals).set({ contactId: keep.id }).where(eq(deals.contactId, dup.id));
    await db.update(works).set({ contactId: keep.id }).where(eq(works.contactId, dup.id));
    await db.update(calls).set({ contactId: keep.id }).where(eq(calls.contactId, dup.id));
    await db.update(emails).set({ contactId: keep.id }).where(eq(emails.contactId, dup.id));
    // mail-outs read the list from contact_mailing_types and skip merged contacts: without this the
    // person would silently drop off every mailing list only the duplicate was on
    await db.execute(sql`INSERT INTO ${contactMailingTypes} (contact_id, mailing_type_id, assigned_at)
      SELECT ${keep.id}, mailing_type_id, assigned_at FROM ${contactMailingTypes} WHERE contact_id = ${dup.id}
      ON CONFLICT DO NOTHING`);
    await db.delete(contactMailingTypes).where(eq(contactMailingTypes.contactId, dup.id));
    await db
      .update(historyEvents)
      .set({ entityId: keep.id })
      .where(sql`${historyEvents.entityType} = 'contact' AND ${historyEvents.entityId} = ${dup.id}`);
    await db.update(notes).set({ entityId: keep.id }).where(sql`${notes.entityType} = 'contact' AND ${notes.entityId} = ${dup.id}`);
    await db.update(contacts).set({ mergedIntoId: keep.id, phones: [], emails: [], updatedAt: tx.clock.now() }).where(eq(contacts.id, dup.id));
    await audit(tx, 'merge', 'contact', keep.id, { mergedContactId: { from: dup.id, to: keep.id } });
    await recordHistory(tx, 'contact', keep.id, 'merged', `Объединён с контактом «${dup.name}» (№${dup.id})`, { duplicateId: dup.id });
    return getContact(tx, keep.id);
  });
}

/** Same for counterparties: contacts, leads, deals, works, calls, e-mails and history move. */
export async function mergeCounterparties(ctx: ServiceContext, survivorId: number, duplicateId: number) {
  if (survivorId === duplicateId) throw invalid({ duplicateId: 'нельзя объединить контрагента с самим собой' });
  return inTransaction(ctx, async (tx) => {
    const keep = await getCounterparty(tx, survivorId);
    const dup = await getCounterparty(tx, duplicateId);
    if (keep.id === dup.id) throw invalid({ duplicateId: 'контрагенты уже объединены' });
    // the duplicate's INN is dropped below: two INNs, or one INN with two KPPs, are two organisations
    // (a company and its branch), and merging them would lose one of them for good
    if (keep.inn && dup.inn && keep.inn !== dup.inn) {
      throw invalid({ duplicateId: `у контрагентов разные ИНН (${keep.inn} и ${dup.inn}) — это разные организации; если ИНН указан с ошибкой, исправьте его в карточке` });
    }
    if (keep.inn && keep.inn === dup.inn && keep.kpp && dup.kpp && keep.kpp !== dup.kpp) {
      throw invalid({ duplicateId: `один ИНН, но разные КПП (${keep.kpp} и ${dup.kpp}) — это филиалы одной организации, а не дубликаты` });
    }
    const db = tx.db;
    await db
      .update(counterparties)
      .set({
        phones: union(keep.phones, dup.phones),
        emails: union(keep.emails, dup.emails),
        inn: keep.inn ?? dup.inn,
        kpp: keep.kpp ?? dup.kpp,
        ogrn: keep.ogrn ?? dup.ogrn,
        address: keep.address ?? dup.address,
        region: keep.region ?? dup.region,
        industry: keep.industry ?? dup.industry,
        headcount: keep.headcount ?? dup.headcount,
        capitalKopecks: keep.capitalKopecks ?? dup.capitalKopecks,
        segmentId: keep.segmentId ?? dup.segmentId,
        responsibleId: keep.responsibleId ?? dup.responsibleId,
        isActiveClient: keep.isActiveClient || dup.isActiveClient,
        updatedAt: tx.clock.now(),
      })
      .where(eq(counterparties.id, keep.id));
    await db.update(contacts).set({ counterpartyId: keep.id }).where(eq(contacts.counterpartyId, dup.id));
    await db.update(leads).set({ counterpartyId: keep.id }).where(eq(leads.counterpartyId, dup.id));
    await db.update(deals).set({ counterpartyId: keep.id }).where(eq(deals.counterpartyId, dup.id));
    await db.update(works).set({ counterpartyId: keep.id }).where(eq(works.counterpartyId, dup.id));
    await db.update(calls).set({ counterpartyId: keep.id }).where(eq(calls.counterpartyId, dup.id));
    await db.update(emails).set({ counterpartyId: keep.id }).where(eq(emails.counterpartyId, dup.id));
    await db
      .update(historyEvents)
      .set({ entityId: keep.id })
      .where(sql`${historyEvents.entityType} = 'counterparty' AND ${historyEvents.entityId} = ${dup.id}`);
    await db.update(notes).set({ entityId: keep.id }).where(sql`${notes.entityType} = 'counterparty' AND ${notes.entityId} = ${dup.id}`);
    await db
      .update(counterparties)
      .set({ mergedIntoId: keep.id, phones: [], emails: [], inn: null, ogrn: null, updatedAt: tx.clock.now() })
      .where(eq(counterparties.id, dup.id));
    await audit(tx, 'merge', 'counterparty', keep.id, { mergedCounterpartyId: { from: dup.id, to: keep.id } });
    await recordHistory(tx, 'counterparty', keep.id, 'merged', `Объединён с контрагентом «${dup.name}» (№${dup.id})`, { duplicateId: dup.id });
    return getCounterparty(tx, keep.id);
  });
}
