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
import { getDeal, listDeals, listDealStages, setDealStage } from '../../core/deals/deals.js';
import { completeWork, listWorks } from '../../core/works/works.js';
import { safeNext } from '../session.js';
import { listActions, listResults } from '../../core/works/actions.js';
import { getHistory } from '../../core/history/history.js';
import { listDocuments } from '../../core/history/documents.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { getContact } from '../../core/contacts/contacts.js';
import { listUsers } from '../../core/users/users.js';
import { isServiceError } from '../../core/errors.js';
import type { ServiceContext } from '../../core/context.js';
import { body, type FormBody, idParam, int, opt, query, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';
import { MAX_PAGE, PAGE_SIZE } from './counterparties.js';

const leadStatuses = ['open', 'new', 'in_progress', 'converted', 'closed'] as const;

const names = async (ctx: ServiceContext) => {
  const users = await listUsers(ctx);
  return { users, userName: Object.fromEntries(users.map((u) => [u.id, u.name])) as Record<number, string> };
};


const page = (q: FormBody) => Math.min(Math.max(1, int(q, 'page') ?? 1), MAX_PAGE);

const errorText = (e: unknown): string | null =>
  isServiceError(e) && ['invalid', 'conflict', 'forbidden'].includes(e.code) ? (Object.values(e.fields).join('; ') || e.message) : null;

export default async function salesRoutes(app: FastifyInstance, deps: AdminDeps) {
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
    const p = page(q);
    const [list, campaigns, n] = await Promise.all([listLeads(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }), listCampaigns(ctx), names(ctx)]);
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
    render(deps, req, reply, 'sales/lead-form', { title: 'Новый лид', values: { name: '', phone: '', email: '', company: '', comment: '', ...values }, errors, canAssign: hasRole(req, 'admin', 'head'), ...(await names(ctxOf(deps, req))) }, status);

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
      names(ctx),
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
    try {
      if (str(form, 'remove')) await removeLeadParticipant(ctxOf(deps, req), id, int(form, 'remove') ?? -1);
      else await addLeadParticipant(ctxOf(deps, req), id, int(form, 'userId') ?? -1);
    } catch (e) {
      const t = errorText(e);
      if (t) return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'error', text: t });
      throw e;
    }
    return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'ok', text: str(form, 'remove') ? 'Участник удалён' : 'Участник добавлен' });
  });

  app.post('/leads/:id/assign', async (req, reply) => {
    const id = idParam(req.params);
    try {
      await assignLead(ctxOf(deps, req), id, int(body(req), 'userId') ?? -1);
    } catch (e) {
      const t = errorText(e);
      if (t) return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'error', text: t });
      throw e;
    }
    return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'ok', text: 'Ответственный назначен' });
  });

  app.post('/leads/:id/close', async (req, reply) => {
    const id = idParam(req.params);
    try {
      await closeLead(ctxOf(deps, req), id, opt(str(body(req), 'reason')));
    } catch (e) {
      const t = errorText(e);
      if (t) return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'error', text: t });
      throw e;
    }
    return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'ok', text: 'Лид закрыт' });
  });

  /** «Перевести лид в сделку»: one step creates the deal and closes the lead (R10). */
  app.post('/leads/:id/convert', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    try {
      const { deal } = await convertLeadToDeal(ctxOf(deps, req), id, {
        ...(str(form, 'title') ? { title: str(form, 'title') } : {}),
        ...(str(form, 'amount') ? { amount: str(form, 'amount') } : {}),
        ...(int(form, 'stageId') ? { stageId: int(form, 'stageId') } : {}),
      });
      return redirectWith(deps, reply, `/admin/deals/${deal.id}`, { type: 'ok', text: `Лид переведён в сделку №${deal.id}` });
    } catch (e) {
      const t = errorText(e);
      if (t) return redirectWith(deps, reply, `/admin/leads/${id}`, { type: 'error', text: t });
      throw e;
    }
  });

  app.get('/deals', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: { stageId?: number; responsibleId?: number; open?: boolean } = {};
    if (int(q, 'stageId')) filter.stageId = int(q, 'stageId');
    if (int(q, 'responsibleId')) filter.responsibleId = int(q, 'responsibleId');
    if (str(q, 'open') === '1') filter.open = true;
    if (str(q, 'open') === '0') filter.open = false;
    const p = page(q);
    const [list, stages, n] = await Promise.all([listDeals(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }), listDealStages(ctx), names(ctx)]);
    const items = list.items.slice(0, PAGE_SIZE);
    return render(deps, req, reply, 'sales/deals', {
      title: 'Сделки',
      items,
      hasMore: list.items.length > PAGE_SIZE,
      page: p,
      filter,
      fq: { ...(filter.stageId ? { stageId: String(filter.stageId) } : {}), ...(filter.responsibleId ? { responsibleId: String(filter.responsibleId) } : {}), ...(filter.open !== undefined ? { open: filter.open ? '1' : '0' } : {}) },
      stages,
      stageName: Object.fromEntries(stages.map((s) => [s.id, s.name])),
      cpName: await counterpartyNames(ctx, items.map((d) => d.counterpartyId)),
      withQuery,
      ...n,
    });
  });

  app.get('/deals/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const deal = await getDeal(ctx, idParam(req.params));
    const [stages, n, history] = await Promise.all([listDealStages(ctx), names(ctx), getHistory(ctx, 'deal', deal.id, { limit: 200 })]);
    return render(deps, req, reply, 'sales/deal', {
      title: deal.title,
      deal,
      stages,
      history,
      cpName: await counterpartyNames(ctx, [deal.counterpartyId]),
      ...n,
    });
  });

  app.post('/deals/:id/stage', async (req, reply) => {
    const id = idParam(req.params);
    try {
      await setDealStage(ctxOf(deps, req), id, int(body(req), 'stageId') ?? -1);
    } catch (e) {
      const t = errorText(e);
      if (t) return redirectWith(deps, reply, `/admin/deals/${id}`, { type: 'error', text: t });
      throw e;
    }
    return redirectWith(deps, reply, `/admin/deals/${id}`, { type: 'ok', text: 'Стадия изменена' });
  });

  // «Выполнить»: the result must be one the work's action allows (checked in core)
  app.post('/works/:id/complete', async (req, reply) => {
    const form = body(req);
    const back = safeNext(str(form, 'back') || '/admin/works');
    try {
      await completeWork(ctxOf(deps, req), idParam(req.params), { resultId: int(form, 'resultId') ?? 0, comment: opt(str(form, 'comment')) });
    } catch (e) {
      const t = errorText(e);
      if (t) return redirectWith(deps, reply, back, { type: 'error', text: `Работа не выполнена: ${t}` });
      throw e;
    }
    return redirectWith(deps, reply, back, { type: 'ok', text: 'Работа выполнена' });
  });

  app.get('/works', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const filter: { responsibleId?: number; status?: 'planned' | 'done' | 'cancelled'; dueBefore?: Date } = {};
    if (int(q, 'responsibleId')) filter.responsibleId = int(q, 'responsibleId');
    const status = str(q, 'status');
    if (status === 'planned' || status === 'done' || status === 'cancelled') filter.status = status;
    if (str(q, 'due') === '1') filter.dueBefore = new Date(ctx.clock.now().getTime() + 24 * 3600_000);
    const p = page(q);
    const [works, actions, results, n] = await Promise.all([
      listWorks(ctx, filter, { limit: PAGE_SIZE + 1, offset: (p - 1) * PAGE_SIZE }),
      listActions(ctx),
      listResults(ctx),
      names(ctx),
    ]);
    const items = works.slice(0, PAGE_SIZE);
    return render(deps, req, reply, 'sales/works', {
      title: 'Работы',
      items,
      hasMore: works.length > PAGE_SIZE,
      page: p,
      filter,
      due: str(q, 'due') === '1',
      fq: { ...(filter.responsibleId ? { responsibleId: String(filter.responsibleId) } : {}), ...(filter.status ? { status: filter.status } : {}), ...(str(q, 'due') === '1' ? { due: '1' } : {}) },
      actionName: Object.fromEntries(actions.map((a) => [a.id, a.name])),
      resultName: Object.fromEntries(results.map((r) => [r.id, r.name])),
      cpName: await counterpartyNames(ctx, items.map((w) => w.counterpartyId)),
      now: ctx.clock.now(),
      withQuery,
      ...n,
    });
  });
}
