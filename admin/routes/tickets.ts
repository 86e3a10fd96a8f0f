import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServiceContext } from '../../core/context.js';
import { createTicket, leadFromTicket, listTickets, replyToTicket, ticketCard, updateTicket, type TicketFilter } from '../../core/helpdesk/tickets.js';
import { ticketReport } from '../../core/helpdesk/report.js';
import { isOverdue } from '../../core/helpdesk/overdue.js';
import { fillAnswerTemplate, listAnswerTemplates } from '../../core/helpdesk/templates.js';
import { formatWorkingMinutes, ticketChannelLabels, ticketPriorityLabels, ticketStatusLabels, ticketTitle } from '../../core/helpdesk/labels.js';
import { openTicketStatuses, ticketChannels, ticketPriorities, ticketStatuses, type TicketChannel, type TicketPriority, type TicketStatus } from '../../core/helpdesk/types.js';
import { listCounterparties } from '../../core/counterparties/counterparties.js';
import { listContacts } from '../../core/contacts/contacts.js';
import { clientChoice } from '../client-choice.js';
import { attachmentsDirFor } from '../../core/channels/attachments.js';
import { getHistory } from '../../core/history/history.js';
import { messageChanges } from '../../core/history/marks.js';
import { dateInZone, startOfDayInZone } from '../../core/validation/time.js';
import { body, type FormBody, idParam, int, query, str } from '../forms.js';
import { formAction, parseForm } from '../form-action.js';
import { PAGE_SIZE, pageOf, userNames } from '../lists.js';
import { ctxOf, hasRole, redirectWith, render, withQuery } from '../render.js';
import type { AdminDeps } from '../types.js';

/** The words of every ticket page, from core/helpdesk/labels.ts only. */
export const ticketLabels = { status: ticketStatusLabels, priority: ticketPriorityLabels, channel: ticketChannelLabels, title: ticketTitle, minutes: formatWorkingMinutes };

/** A record number of a select or hidden field: '' is none. */
const optionalId = (message: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((s, c) => {
      if (!s) return null;
      const n = /^\d{1,10}$/.test(s) ? Number(s) : 0;
      if (n < 1 || n > 2_147_483_647) {
        c.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return n;
    });

const priorityField = z.enum(ticketPriorities as [TicketPriority, ...TicketPriority[]], 'выберите приоритет из списка');

/** «Новое обращение»: typed in by a manager after a call or a visit. */
const newTicketForm = z.object({
  subject: z.string('укажите тему обращения').trim().min(1, 'укажите тему обращения').max(500, 'тема не длиннее 500 знаков'),
  counterpartyId: optionalId('выберите контрагента из найденных'),
  contactId: optionalId('выберите контакт из списка'),
  priority: priorityField.default('normal'),
  assigneeId: optionalId('выберите ответственного из списка'),
  text: z.string().trim().max(10_000, 'текст не длиннее 10 000 знаков').optional(),
});

const replyForm = z.object({
  text: z.string().optional().transform((s) => (s ?? '').trim()),
  templateId: optionalId('выберите шаблон из списка'),
});
const statusForm = z.object({ status: z.enum(ticketStatuses as [TicketStatus, ...TicketStatus[]], 'выберите статус из списка') });
const priorityForm = z.object({ priority: priorityField });
const assigneeForm = z.object({ assigneeId: optionalId('выберите ответственного из списка') });

const day = /^\d{4}-\d{2}-\d{2}$/;
const periods = ['today', 'week', 'month', 'custom'] as const;
type Period = (typeof periods)[number];
const periodLabels: Record<Period, string> = { today: 'Сегодня', week: 'Неделя', month: 'Месяц', custom: 'Свой период' };

/**
 * «Обращения» (R23): the list with its filters, a ticket typed in by hand, the card with the
 * conversation and the answer, and the report per manager. Every read and change goes through the
 * core verbs with the user's access; every failure the user can act on is a flash on the page.
 */
export default async function ticketRoutes(app: FastifyInstance, deps: AdminDeps) {
  const zoneOf = (req: FastifyRequest) => req.adminUser?.timeZone ?? deps.services.config.TIME_ZONE;

  app.get('/tickets', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const me = req.adminUser!;
    const filter: TicketFilter = {};
    const fq: Record<string, string> = {};
    // «Открытые» unless asked otherwise: what still waits for an answer
    const status = str(q, 'status');
    filter.status = status === 'all' || (ticketStatuses as string[]).includes(status) ? (status as TicketFilter['status']) : 'open';
    fq.status = filter.status!;
    // a manager opens their own tickets; «Все» (assigneeId=all) shows every ticket they may see
    const assignee = str(q, 'assigneeId');
    const assigneeId = int(q, 'assigneeId');
    if (assigneeId) filter.assigneeId = assigneeId;
    else if (assignee !== 'all' && me.role === 'manager') filter.assigneeId = me.id;
    fq.assigneeId = filter.assigneeId ? String(filter.assigneeId) : 'all';
    if (str(q, 'overdue') === '1') {
      filter.overdue = true;
      fq.overdue = '1';
    }
    const priority = str(q, 'priority');
    if ((ticketPriorities as string[]).includes(priority)) filter.priority = fq.priority = priority as TicketPriority;
    const channel = str(q, 'channel');
    if ((ticketChannels as string[]).includes(channel)) filter.channel = fq.channel = channel as TicketChannel;
    const text = str(q, 'q').slice(0, 200);
    if (text) filter.q = fq.q = text;
    const page = pageOf(q);
    const [list, n] = await Promise.all([listTickets(ctx, { ...filter, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }), userNames(ctx)]);
    return render(deps, req, reply, 'tickets/list', {
      title: 'Обращения',
      tickets: list.rows,
      total: list.total,
      hasMore: (page - 1) * PAGE_SIZE + list.rows.length < list.total,
      page,
      fq,
      base: '/admin/tickets',
      withQuery,
      statuses: ticketStatuses,
      priorities: ticketPriorities,
      channels: ticketChannels,
      users: n.users,
      labels: ticketLabels,
    });
  });

  // «Новое обращение»: from the list, or from a counterparty's or contact's card (?counterpartyId= / ?contactId=)
  app.get('/tickets/new', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    // «Найти клиента»: a number is the counterparty's №, anything else searches companies and people (the actor's only)
    const find = str(q, 'find').slice(0, 200);
    let cpId = int(q, 'counterpartyId') ?? null;
    if (/^\d{1,9}$/.test(find)) cpId = Number(find);
    const searching = !!find && !/^\d{1,9}$/.test(find);
    const [found, foundContacts] = searching
      ? await Promise.all([listCounterparties(ctx, { text: find }, { limit: 10 }).then((r) => r.items), listContacts(ctx, { text: find }, { limit: 10 }).then((r) => r.items)])
      : [null, null];
    const [client, n] = await Promise.all([clientChoice(ctx, cpId, int(q, 'contactId') ?? null), userNames(ctx)]);
    return render(deps, req, reply, 'tickets/new', {
      title: 'Новое обращение',
      client,
      find,
      found,
      foundContacts,
      priorities: ticketPriorities,
      labels: ticketLabels,
      canAssign: hasRole(req, 'admin', 'head'),
      users: n.users.filter((u) => u.active),
    });
  });

  app.post('/tickets', async (req, reply) => {
    const form = body(req);
    const back = withQuery('/admin/tickets/new', { counterpartyId: int(form, 'counterpartyId'), contactId: int(form, 'contactId') });
    return formAction(
      deps,
      reply,
      back,
      () => {
        const f = parseForm(newTicketForm, form);
        return createTicket(ctxOf(deps, req), {
          subject: f.subject,
          counterpartyId: f.counterpartyId,
          contactId: f.contactId,
          priority: f.priority,
          text: f.text || null,
          // a manager's ticket is theirs; the head and the admin may give it to anyone
          ...(hasRole(req, 'admin', 'head') && f.assigneeId ? { assigneeId: f.assigneeId } : {}),
        });
      },
      (t) => ({ text: `${ticketTitle(t.id)} создано`, to: `/admin/tickets/${t.id}` }),
      'Обращение не создано: ',
    );
  });

  // ── the report ──
  app.get('/tickets/report', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const q = query(req);
    const zone = zoneOf(req);
    const now = deps.services.clock.now();
    const today = dateInZone(now, zone);
    const requested = str(q, 'period') as Period;
    let period: Period = (periods as readonly string[]).includes(requested) ? requested : 'week';
    let fromDay = today;
    let toDay = today;
    if (period === 'week') fromDay = shiftDay(today, -6);
    if (period === 'month') fromDay = shiftDay(today, -29);
    let error = '';
    if (period === 'custom') {
      const from = str(q, 'from');
      const to = str(q, 'to');
      if (!day.test(from) || !day.test(to) || Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to))) {
        error = 'Укажите обе даты периода';
      } else if (from > to) {
        error = 'Начало периода позже его конца';
      } else {
        fromDay = from;
        toDay = to;
      }
      if (error) period = 'week';
      if (error) fromDay = shiftDay(today, -6);
    }
    // whole calendar days of the user: «по 20.05» includes the evening of the 20th
    const from = startOfDayInZone(fromDay, zone);
    const to = new Date(startOfDayInZone(shiftDay(toDay, 1), zone).getTime());
    const report = await ticketReport(ctx, { from, to });
    return render(deps, req, reply, 'tickets/report', {
      title: 'Отчёт по обращениям',
      report,
      period,
      periods,
      periodLabels,
      fromDay,
      toDay,
      error,
      labels: ticketLabels,
    });
  });

  // ── the card ──
  app.get('/tickets/:id', async (req, reply) => {
    const ctx = ctxOf(deps, req);
    const id = idParam(req.params);
    const card = await ticketCard(ctx, id);
    const q = query(req);
    const [templates, n, history] = await Promise.all([listAnswerTemplates(ctx), userNames(ctx), getHistory(ctx, 'ticket', id, { limit: 300 })]);
    // «Шаблоны»: the link reloads the card with the template filled in for this ticket; a link to a
    // template since deleted or switched off says so on the card
    const wanted = int(q, 'template') ?? null;
    if (wanted && !templates.some((tpl) => tpl.id === wanted)) {
      return redirectWith(deps, reply, `/admin/tickets/${id}#reply`, { type: 'error', text: `Шаблон не подставлен: шаблона №${wanted} нет среди включённых` });
    }
    const draft = wanted ? await fillAnswerTemplate(ctx, wanted, card.ticket.id) : '';
    const t = card.ticket;
    const now = deps.services.clock.now();
    // «просрочено» is the one rule of the lists and the report (overdue.ts), asked of each target
    // alone for its own line; «с опозданием»: a target met after its time
    const sla = {
      overdue: isOverdue(t, now),
      firstResponseOverdue: isOverdue({ ...t, resolutionDueAt: null }, now),
      firstResponseLate: !!t.firstResponseAt && !!t.firstResponseDueAt && t.firstResponseAt > t.firstResponseDueAt,
      resolutionOverdue: isOverdue({ ...t, firstResponseDueAt: null }, now),
      resolutionLate: !!t.solvedAt && !!t.resolutionDueAt && t.solvedAt > t.resolutionDueAt,
    };
    return render(deps, req, reply, 'tickets/card', {
      title: `${ticketTitle(t.id)}: ${t.subject}`,
      card,
      t,
      sla,
      open: (openTicketStatuses as string[]).includes(t.status),
      templates,
      draft,
      templateId: wanted,
      // the conversation's messages with their marks; the ticket's own events (status, SLA, rating) newest first
      entries: card.entries.map((e) => ({ ...e, changes: e.kind === 'message' ? messageChanges(e) : [] })),
      events: history.filter((h) => h.kind === 'event'),
      statuses: ticketStatuses,
      priorities: ticketPriorities,
      users: n.users.filter((u) => u.active || u.id === t.assigneeId),
      canAssign: hasRole(req, 'admin', 'head'),
      labels: ticketLabels,
      back: `/admin/tickets/${t.id}`,
    });
  });

  const cardAction = (path: string, run: (ctx: ServiceContext, id: number, form: FormBody) => Promise<unknown>, ok: string, fail: string) =>
    app.post(`/tickets/:id/${path}`, async (req, reply) => {
      const id = idParam(req.params);
      const form = body(req);
      return formAction(deps, reply, `/admin/tickets/${id}`, () => run(ctxOf(deps, req), id, form), () => ({ text: ok }), fail);
    });

  app.post('/tickets/:id/reply', async (req, reply) => {
    const id = idParam(req.params);
    const form = body(req);
    const f = replyForm.safeParse(form);
    // a failed answer keeps the chosen template on the card so the text can be fixed and sent again
    const back = f.success && f.data.templateId ? `/admin/tickets/${id}?template=${f.data.templateId}` : `/admin/tickets/${id}`;
    return formAction(
      deps,
      reply,
      back,
      () => {
        const data = parseForm(replyForm, form);
        return replyToTicket(ctxOf(deps, req), id, { text: data.text, templateId: data.templateId }, { attachmentsDir: attachmentsDirFor(deps.services.config.DATA_DIR), dataDir: deps.services.config.DATA_DIR });
      },
      (r) => ({ text: r.emailId ? 'Письмо отправлено' : 'Ответ отправлен', to: `/admin/tickets/${id}` }),
      'Ответ не отправлен: ',
    );
  });

  cardAction('status', (ctx, id, form) => updateTicket(ctx, id, { status: parseForm(statusForm, form).status }, { publicUrl: deps.services.config.PUBLIC_URL, secretKey: deps.services.secretKey }), 'Статус изменён', 'Статус не изменён: ');
  cardAction('priority', (ctx, id, form) => updateTicket(ctx, id, { priority: parseForm(priorityForm, form).priority }), 'Приоритет изменён', 'Приоритет не изменён: ');
  cardAction('assignee', (ctx, id, form) => updateTicket(ctx, id, { assigneeId: parseForm(assigneeForm, form).assigneeId }), 'Ответственный назначен', 'Ответственный не назначен: ');

  // «Сделать лидом»: the client's request turns out to be a sale
  app.post('/tickets/:id/lead', async (req, reply) => {
    const id = idParam(req.params);
    return formAction(
      deps,
      reply,
      `/admin/tickets/${id}`,
      () => leadFromTicket(ctxOf(deps, req), id),
      (leadId) => ({ text: `Создан лид №${leadId}, обращение закрыто`, to: `/admin/leads/${leadId}` }),
      'Лид не создан: ',
    );
  });
}

/** A calendar date moved by whole days (YYYY-MM-DD arithmetic, no time zone involved). */
function shiftDay(d: string, days: number): string {
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + days);
  return t.toISOString().slice(0, 10);
}
