import { z } from 'zod';
import { eq } from 'drizzle-orm';
import { leads } from '../db/schema/index.js';
import { inTransaction, type ServiceContext } from '../context.js';
import { createCounterparty } from '../counterparties/counterparties.js';
import { createContact, findContactByEmail, findContactByPhone, getContact } from '../contacts/contacts.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { parsePhoneWithExtension } from '../validation/phone.js';
import { normalizeEmail } from '../validation/email.js';
import { createLead, leadSources, type Lead } from './leads.js';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const manualLeadInput = z.object({
  name: z.string().trim().min(1, 'укажите имя клиента').max(300),
  phone: z.preprocess(
    blankToUndefined,
    z
      .string()
      // kept as typed: the contact keeps «доб. 12» as the phone's extension
      .transform((p, c) => (parsePhoneWithExtension(p) ? p.trim() : (c.addIssue({ code: 'custom', message: 'неверный номер телефона' }), z.NEVER)))
      .optional(),
  ),
  email: z.preprocess(
    blankToUndefined,
    z
      .string()
      .transform((e, c) => normalizeEmail(e) ?? (c.addIssue({ code: 'custom', message: 'неверный e-mail' }), z.NEVER))
      .optional(),
  ),
  company: z.preprocess(blankToUndefined, z.string().trim().max(500).optional()),
  comment: z.preprocess(blankToUndefined, z.string().trim().max(5000).optional()),
  responsibleId: z.preprocess(blankToUndefined, idField.optional()),
  /** how the client came (a call, a letter…); «вручную» when not said */
  source: z.preprocess(blankToUndefined, z.enum(leadSources, 'неизвестный источник').optional()),
});
export type ManualLeadInput = z.input<typeof manualLeadInput>;

/**
 * A lead a person types in (R9: source «manual») from a call or a meeting: the client's name,
 * phone, e-mail, company and a comment. In one transaction: a known contact with that phone or
 * e-mail is reused when the actor may see it, otherwise one is created; a company name opens a
 * counterparty; then the lead. Without a responsible, a manager takes it and routing picks one
 * for the others.
 */
export async function createManualLead(ctx: ServiceContext, input: ManualLeadInput): Promise<Lead> {
  const data = parseInput(manualLeadInput, input);
  return inTransaction(ctx, async (tx) => {
    const owner = data.responsibleId ?? (tx.actor.kind === 'user' ? tx.actor.userId : undefined);
    const cp = data.company
      ? await createCounterparty(tx, {
          kind: 'legal_entity',
          name: data.company,
          ...(owner ? { responsibleId: owner } : {}),
          ...(data.phone ? { phones: [data.phone] } : {}),
          ...(data.email ? { emails: [data.email] } : {}),
        })
      : null;
    const found = (data.phone ? await findContactByPhone(tx, data.phone) : null) ?? (data.email ? await findContactByEmail(tx, data.email) : null);
    const existing = found ? await getContact(tx, found.id).catch(() => null) : null;
    const contact =
      existing ??
      (await createContact(tx, {
        name: data.name,
        phones: data.phone ? [data.phone] : [],
        emails: data.email ? [data.email] : [],
        counterpartyId: cp?.id ?? null,
      }));
    // a contact made here without a company is a manager's to see only through this lead: it is linked once the lead exists
    const linkLater = !existing && !cp;
    const lead = await createLead(tx, {
      title: data.company ? `${data.name} (${data.company})` : data.name,
      source: data.source ?? 'manual',
      contactId: linkLater ? null : contact.id,
      counterpartyId: cp?.id ?? null,
      responsibleId: data.responsibleId ?? null,
      comment: data.comment ?? null,
    });
    if (!linkLater) return lead;
    const [linked] = await tx.db.update(leads).set({ contactId: contact.id }).where(eq(leads.id, lead.id)).returning();
    return linked!;
  });
}
