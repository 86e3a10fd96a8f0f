import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getContact, listIdentities, updateContact } from '../../core/contacts/contacts.js';
import { getCounterparty } from '../../core/counterparties/counterparties.js';
import { isServiceError } from '../../core/errors.js';
import { channelLabel } from '../../core/channels/types.js';
import { body, bool, formErrors, type FormBody, idParam, opt, query, splitList, str } from '../forms.js';
import { findPossibleDuplicates, type PossibleDuplicate } from '../../core/merge/possible-duplicates.js';
import { formatPhoneWithExtension, normalizePhone } from '../../core/validation/phone.js';
import { ctxOf, redirectWith, render } from '../render.js';
import { recordTabs } from '../record-tabs.js';
import type { AdminDeps } from '../types.js';

/**
 * A contact's card: who they are, how to reach them (phones, e-mails, messenger accounts), their
 * counterparty, and the working feed of tabs (works, notes, mail, calls, messages, leads, files,
 * history). A person who only ever wrote on WhatsApp has
 * no counterparty: this is where the panel shows them.
 */
export default async function contactRoutes(app: FastifyInstance, deps: AdminDeps) {
  const card = async (req: FastifyRequest, reply: FastifyReply, id: number, form?: FormBody, errors: Record<string, string> = {}, duplicates: PossibleDuplicate[] = []) => {
    const ctx = ctxOf(deps, req);
    const contact = await getContact(ctx, id);
    const [identities, counterparty, feed] = await Promise.all([
      listIdentities(ctx, contact.id),
      contact.counterpartyId ? getCounterparty(ctx, contact.counterpartyId).catch(() => null) : Promise.resolve(null),
      recordTabs(ctx, req, 'contact', contact.id, str(query(req), 'tab')),
    ]);
    const values = form ?? {
      name: contact.name,
      position: contact.position ?? '',
      phones: contact.phones.map((p) => formatPhoneWithExtension(p, contact.phoneExtensions[p])).join('\n'),
      emails: contact.emails.join('\n'),
      comment: contact.comment ?? '',
    };
    return render(
      deps,
      req,
      reply,
      'contacts/card',
      { title: contact.name, contact, identities, channelLabel, counterparty, feed, values, errors, duplicates },
      Object.keys(errors).length || duplicates.length ? 400 : 200,
    );
  };

  app.get('/contacts/:id', async (req, reply) => card(req, reply, idParam(req.params)));

  /**
   * Saving a contact (R8): a newly typed phone or e-mail that another contact or counterparty
   * already has is shown with a link first, and saved only with «Всё равно сохранить».
   */
  app.post('/contacts/:id', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    const ctx = ctxOf(deps, req);
    const phones = splitList(str(form, 'phones'));
    const emails = splitList(str(form, 'emails'));
    try {
      if (!bool(form, 'confirmDuplicates')) {
        const before = await getContact(ctx, id);
        const duplicates = await findPossibleDuplicates(ctx, {
          phones: phones.filter((p) => !before.phones.includes(normalizePhone(p) ?? '')),
          emails: emails.filter((e) => !before.emails.includes(e.toLowerCase())),
          excludeContactId: id,
        });
        if (duplicates.length) return card(req, reply, id, form, {}, duplicates);
      }
      await updateContact(ctx, id, { name: str(form, 'name'), position: opt(str(form, 'position')) ?? null, phones, emails, comment: opt(str(form, 'comment')) ?? null });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return card(req, reply, id, form, formErrors(e.fields));
      throw e;
    }
    return redirectWith(deps, reply, `/admin/contacts/${id}`, { type: 'ok', text: 'Контакт сохранён' });
  });
}
