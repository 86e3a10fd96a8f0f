import type { FastifyInstance } from 'fastify';
import { addLeadParticipant, assignLead, closeLead, convertLeadToDeal, getLead, listLeadParticipants, removeLeadParticipant } from '../../core/leads/leads.js';
import { findCampaign } from '../../core/leads/campaigns.js';
import { listDealStages } from '../../core/deals/deals.js';
import { getHistory } from '../../core/history/history.js';
import { listDocuments } from '../../core/history/documents.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { getContact } from '../../core/contacts/contacts.js';
import { body, idParam, int, opt, query, str } from '../forms.js';
import { ctxOf, render } from '../render.js';
import { formAction } from '../form-action.js';
import { userNames } from '../lists.js';
import type { AdminDeps } from '../types.js';

/** The lead's card: who works it, its client, and the steps to a deal or a close. */
export default async function leadCardRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/leads/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const lead = await getLead(ctx, idParam(req.params));
    const tabParam = str(query(req), 'tab');
    const tab = tabParam === 'history' || tabParam === 'documents' ? tabParam : 'participants';
    const [participants, stages, n, history, documents] = await Promise.all([
      listLeadParticipants(ctx, lead.id),
      listDealStages(ctx),
      userNames(ctx),
      tab === 'history' ? getHistory(ctx, 'lead', lead.id, { limit: 200 }) : Promise.resolve([]),
      tab === 'documents' ? listDocuments(ctx, 'lead', lead.id) : Promise.resolve([]),
    ]);
    const campaign = lead.campaignId ? await findCampaign(ctx, lead.campaignId) : null;
    const contact = lead.contactId ? await getContact(ctx, lead.contactId).catch(() => null) : null;
    return render(deps, req, reply, 'sales/lead', {
      title: lead.title,
      lead,
      campaign,
      contact,
      tab,
      participants,
      stages,
      history,
      documents,
      cpName: await counterpartyNames(ctx, [lead.counterpartyId]),
      ...n,
    });
  });

  app.post('/leads/:id/participants', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    const remove = str(form, 'remove');
    return formAction(
      deps,
      reply,
      `/admin/leads/${id}`,
      () => (remove ? removeLeadParticipant(ctxOf(deps, req), id, int(form, 'remove') ?? -1) : addLeadParticipant(ctxOf(deps, req), id, int(form, 'userId') ?? -1)),
      () => ({ text: remove ? 'Участник удалён' : 'Участник добавлен' }),
    );
  });

  app.post('/leads/:id/assign', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `/admin/leads/${id}`, () => assignLead(ctxOf(deps, req), id, int(body(req), 'userId') ?? -1), () => ({ text: 'Ответственный назначен' }));
  });

  app.post('/leads/:id/close', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `/admin/leads/${id}`, () => closeLead(ctxOf(deps, req), id, opt(str(body(req), 'reason'))), () => ({ text: 'Лид закрыт' }));
  });

  /** «Перевести лид в сделку»: one step creates the deal and closes the lead (R10). */
  app.post('/leads/:id/convert', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    return formAction(
      deps,
      reply,
      `/admin/leads/${id}`,
      () =>
        convertLeadToDeal(ctxOf(deps, req), id, {
          ...(str(form, 'title') ? { title: str(form, 'title') } : {}),
          ...(str(form, 'amount') ? { amount: str(form, 'amount') } : {}),
          ...(int(form, 'stageId') ? { stageId: int(form, 'stageId') } : {}),
        }),
      ({ deal }) => ({ to: `/admin/deals/${deal.id}`, text: `Лид переведён в сделку №${deal.id}` }),
    );
  });
}
