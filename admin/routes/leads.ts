import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { leadSources, listLeads, type LeadFilter, leadsAwaitingReply } from '../../core/leads/leads.js';
import { listCampaigns } from '../../core/leads/campaigns.js';
import { createManualLead } from '../../core/leads/manual-lead.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { findPossibleDuplicates, type PossibleDuplicate } from '../../core/merge/possible-duplicates.js';
import { isServiceError } from '../../core/errors.js';
import { body, bool, type FormBody, int, query, str } from '../forms.js';
import { ctxOf, hasRole, redirectWith, render, withQuery } from '../render.js';
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
  const leadForm = async (req: FastifyRequest, reply: FastifyReply, values: FormBody, errors: Record<string, string>, status = 200, duplicates: PossibleDuplicate[] = []) =>
    render(
      deps,
      req,
      reply,
      'sales/lead-form',
      {
        title: 'Новый лид',
        values: { name: '', phone: '', email: '', company: '', comment: '', ...values },
        errors,
        duplicates,
        // what the save does with a match (createManualLead reuses a contact the actor may see)
        duplicatesNote: duplicates.some((d) => d.kind === 'contact' && d.visible) ? 'Если сохранить, лид привяжется к найденному контакту.' : '',
        canAssign: hasRole(req, 'admin', 'head'),
        ...(await userNames(ctxOf(deps, req))),
      },
      status,
    );

  app.get('/leads/new', async (req, reply) => leadForm(req, reply, {}, {}));

  app.post('/leads', async (req, reply) => {
    const form = body(req);
    const ctx = ctxOf(deps, req);
    try {
      // R8: a phone or an e-mail already in the base is shown before the lead is made
      if (!bool(form, 'confirmDuplicates')) {
        const duplicates = await findPossibleDuplicates(ctx, { phones: [str(form, 'phone')].filter(Boolean), emails: [str(form, 'email')].filter(Boolean) });
        if (duplicates.length) return leadForm(req, reply, form, {}, 400, duplicates);
      }
      const lead = await createManualLead(ctx, {
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

}
