import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  addLeadParticipant,
  assignLead,
  closeLead,
  convertLeadToDeal,
  getLead,
  leadSources,
  listLeadParticipants,
  listLeads,
  removeLeadParticipant,
  type LeadFilter,
  leadsAwaitingReply,
} from '../../core/leads/leads.js';
import { findCampaign, listCampaigns } from '../../core/leads/campaigns.js';
import { createManualLead } from '../../core/leads/manual-lead.js';
import { listDealStages } from '../../core/deals/deals.js';
import { getHistory } from '../../core/history/history.js';
import { listDocuments } from '../../core/history/documents.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { getContact } from '../../core/contacts/contacts.js';
import { isServiceError } from '../../core/errors.js';
import { body, type FormBody, idParam, int, opt, query, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, withQuery } from '../render.js';
import { formAction } from '../form-action.js';
import { PAGE_SIZE, pageOf, userNames } from '../lists.js';
import type { AdminDeps } from '../types.js';

const leadStatuses = ['open', 'new', 'in_progress', 'converted', 'closed'] as const;

export default async function leadRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/leads', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: LeadFilter = {};
    const status = str(q, 'status');
    if ((leadStatuses as readonly string[]).includes(status)) filter.status = status as LeadFilter['status'];
    const source = str(q, 'source');
    if ((leadSources as readonly string[]).includes(source)) filter.source = source as LeadFilter['source'];
    if (int(q, 'responsibleId')) filter.responsibleId = int(q, 'responsibleId');
    if (int(q, 'campaignId')) filter.campaignId = int(q, 'campaignId');
    if (str(q, 'awaitingReply') === '1') filter.awaitingReply = true;
    const p = pageOf(q);
    const [list, campaigns, n] = await Promise.all([listLeads(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }), listCampaigns(ctx), userNames(ctx)]);
    const items = list.items.slice(0, PAGE_SIZE);
    return render(deps, req, reply, 'sales/leads', {
      title: 'Лиды',
      items,
      hasMore: list.items.length > PAGE_SIZE,
      page: p,
      filter,
      fq: Object.fromEntries(Object.entries(filter).map(([k, v]) => [k, String(v)])),
      sources: leadSources,
      campaigns,
      cpName: await counterpartyNames(ctx, items.map((l) => l.counterpartyId)),
      awaiting: await leadsAwaitingReply(ctx, items.map((l) => l.id)),
      withQuery,
      ...n,
    });
  });

  // «Новый лид»: a call or a meeting typed in by hand
  const leadForm = async (req: FastifyRequest, reply: FastifyReply, values: FormBody, errors: Record<string, string>, status = 200) =>
    render(deps, req, reply, 'sales/lead-form', { title: 'Новый лид', values: { name: '', phone: '', email: '', company: '', comment: '', ...values }, errors, canAssign: hasRole(req, 'admin', 'head'), ...(await userNames(ctxOf(deps, req))) }, status);

  app.get('/leads/new', async (req, reply) => leadForm(req, reply, {}, {}));

  app.post('/leads', async (req, reply) => {
    const form = body(req);
    try {
      const lead = await createManualLead(ctxOf(deps, req), {
        name: str(form, 'name'),
        phone: str(form, 'phone'),
        email: str(form, 'email'),
        company: str(form, 'company'),
        comment: str(form, 'comment'),
        // a manager's own lead is theirs; the head and the admin may give it to anyone
        responsibleId: hasRole(req, 'admin', 'head') ? str(form, 'responsibleId') : undefined,
      });
      return redirectWith(deps, reply, `/admin/leads/${lead.id}`, { type: 'ok', text: `Лид №${lead.id} создан` });
    } catch (e) {
      if (isServiceError(e) && e.code === 'invalid') return leadForm(req, reply, form, e.fields, 400);
      throw e;
    }
  });

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
