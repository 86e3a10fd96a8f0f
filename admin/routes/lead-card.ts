import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  addLeadParticipant,
  assignLead,
  closeLead,
  convertLeadToDeal,
  getLead,
  leadSources,
  listLeadParticipants,
  removeLeadParticipant,
  setLeadInProgress,
  updateLead,
} from '../../core/leads/leads.js';
import { listCampaigns } from '../../core/leads/campaigns.js';
import { listDealStages } from '../../core/deals/deals.js';
import { listLossReasons } from '../../core/deals/loss-reasons.js';
import { counterpartyNames } from '../../core/counterparties/counterparties.js';
import { getContact } from '../../core/contacts/contacts.js';
import { ticketFromLead } from '../../core/helpdesk/tickets.js';
import { ticketTitle } from '../../core/helpdesk/labels.js';
import { body, idParam, int, query, str } from '../forms.js';
import { ctxOf, render } from '../render.js';
import { formAction, parseForm } from '../form-action.js';
import { userNames } from '../lists.js';
import { recordTabs } from '../record-tabs.js';
import type { AdminDeps } from '../types.js';

/** A choice of a select: '' is «none» (null), anything else must be a record number. */
const optionalId = z
  .string()
  .trim()
  .default('')
  .transform((s) => (s === '' ? null : /^\d{1,10}$/.test(s) && Number(s) <= 2_147_483_647 ? Number(s) : NaN))
  .refine((n) => n === null || Number.isInteger(n), 'выберите значение из списка');

/** «Изменить лид»: title, source, campaign, comment. */
const leadEditForm = z.object({
  title: z.string('укажите название лида').default(''),
  source: z.enum(leadSources, 'выберите источник из списка'),
  campaignId: optionalId,
  comment: z.string().default(''),
});

/** «Закрыть лид»: a reason from «Причины отказа» and/or the manager's words. */
const closeForm = z.object({ lossReasonId: optionalId, comment: z.string().default('') });

/** The lead's card: who works it, its client, the steps to a deal or a close, and its working feed. */
export default async function leadCardRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/leads/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const lead = await getLead(ctx, idParam(req.params));
    const [participants, stages, n, campaigns, reasons, feed] = await Promise.all([
      listLeadParticipants(ctx, lead.id),
      listDealStages(ctx),
      userNames(ctx),
      listCampaigns(ctx),
      listLossReasons(ctx, { includeArchived: true }),
      recordTabs(ctx, req, 'lead', lead.id, str(query(req), 'tab')),
    ]);
    const campaign = campaigns.find((c) => c.id === lead.campaignId) ?? null;
    const contact = lead.contactId ? await getContact(ctx, lead.contactId).catch(() => null) : null;
    return render(deps, req, reply, 'sales/lead', {
      title: lead.title,
      lead,
      campaign,
      campaigns,
      sources: leadSources,
      lossReasons: reasons.filter((r) => !r.archived),
      lossReasonName: reasons.find((r) => r.id === lead.lossReasonId)?.name ?? null,
      contact,
      participants,
      stages,
      feed,
      cpName: await counterpartyNames(ctx, [lead.counterpartyId]),
      ...n,
    });
  });

  app.post('/leads/:id', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    return formAction(
      deps,
      reply,
      `/admin/leads/${id}`,
      () => {
        const f = parseForm(leadEditForm, form);
        return updateLead(ctxOf(deps, req), id, { title: f.title, source: f.source, campaignId: f.campaignId, comment: f.comment.trim() || null });
      },
      () => ({ text: 'Лид сохранён' }),
      'Лид не сохранён: ',
    );
  });

  app.post('/leads/:id/in-progress', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(deps, reply, `/admin/leads/${id}`, () => setLeadInProgress(ctxOf(deps, req), id), () => ({ text: 'Лид в работе' }));
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
    const form = body(req);
    return formAction(
      deps,
      reply,
      `/admin/leads/${id}`,
      () => {
        const f = parseForm(closeForm, form);
        return closeLead(ctxOf(deps, req), id, { lossReasonId: f.lossReasonId, comment: f.comment });
      },
      () => ({ text: 'Лид закрыт' }),
      'Лид не закрыт: ',
    );
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

  /** «Сделать обращением»: an existing client's message that is a request, not a sale (R23). */
  app.post('/leads/:id/ticket', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/leads/${id}`,
      () => ticketFromLead(ctxOf(deps, req), id),
      (ticket) => ({ to: `/admin/tickets/${ticket.id}`, text: `${ticketTitle(ticket.id)} создано из лида` }),
      'Обращение не создано: ',
    );
  });
}
