import type { FastifyInstance } from 'fastify';
import { getCounterparty } from '../../core/counterparties/counterparties.js';
import { createContact } from '../../core/contacts/contacts.js';
import { createLead } from '../../core/leads/leads.js';
import { body, bool, idParam, opt, query, splitList, str } from '../forms.js';
import { findPossibleDuplicates } from '../../core/merge/possible-duplicates.js';
import { ctxOf, render } from '../render.js';
import { formAction } from '../form-action.js';
import { lookups } from '../lists.js';
import { recordTabs } from '../record-tabs.js';
import type { AdminDeps } from '../types.js';

/**
 * The counterparty's card: its requisites and the working feed of everything done with it (R5,
 * R12): contacts, works, notes, mail, calls, messages, leads, deals, documents, history.
 * Works are planned by the generic «Запланировать работу» form of the works block.
 */
export default async function counterpartyCardRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/counterparties/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const cp = await getCounterparty(ctx, idParam(req.params));
    const [feed, books] = await Promise.all([recordTabs(ctx, req, 'counterparty', cp.id, str(query(req), 'tab')), lookups(ctx)]);
    return render(deps, req, reply, 'counterparties/card', { title: cp.name, cp, feed, ...books });
  });

  // a contact added by hand is checked for the same phone or e-mail elsewhere first (R8): shown with links, saved with «Всё равно сохранить»
  app.post('/counterparties/:id/contacts', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    const ctx = ctxOf(deps, req);
    const values = { name: str(form, 'name'), position: str(form, 'position'), phones: str(form, 'phones'), emails: str(form, 'emails') };
    const phones = splitList(values.phones);
    const emails = splitList(values.emails);
    if (!bool(form, 'confirmDuplicates')) {
      const duplicates = await findPossibleDuplicates(ctx, { phones, emails });
      if (duplicates.length) return render(deps, req, reply, 'contacts/confirm-new', { title: 'Похоже, такой контакт уже есть', counterpartyId: id, values, duplicates }, 400);
    }
    return formAction(
      deps,
      reply,
      `/admin/counterparties/${id}?tab=contacts`,
      () => createContact(ctx, { name: values.name, position: opt(values.position), phones, emails, counterpartyId: id }),
      () => ({ text: 'Контакт добавлен' }),
      'Контакт не добавлен: ',
    );
  });

  app.post('/counterparties/:id/leads', async (req, reply) => {
    const form = body(req);
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/counterparties/${id}?tab=leads`,
      () => createLead(ctxOf(deps, req), { title: str(form, 'title'), source: 'manual', counterpartyId: id, comment: opt(str(form, 'comment')) }),
      (lead) => ({ to: `/admin/leads/${lead.id}`, text: 'Лид создан' }),
      'Лид не создан: ',
    );
  });
}
