import { and, asc, desc, eq, gte, ilike, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, systemActor, type ServiceContext } from '../context.js';
import { businessConnections, contacts, conversations, counterparties, emails, leads, mailboxes, messages, notes, tickets, users } from '../db/schema/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { contactScope, counterpartyScope, requireUser } from '../access/scope.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { audit, recordHistory } from '../shared/audit.js';
import { notify } from '../notifications/notify.js';
import { cleanText } from '../validation/text.js';
import { escapeLike } from '../counterparties/counterparties.js';
import { getContact } from '../contacts/contacts.js';
import { getCounterparty } from '../counterparties/counterparties.js';
import { createLead, getLead } from '../leads/leads.js';
import { leadSourceLabels } from '../leads/labels.js';
import type { InboundAttachment } from '../channels/types.js';
import { replyInConversation } from '../conversations/conversations.js';
import { composeEmail } from '../mail/compose.js';
import { activeUserId, existingClient, openTicket, restartResolution, ticketAnswered, ticketClientNames } from './open.js';
import { execRows } from '../mail/rows.js';
import { pauseResolution, slaTimes, ticketTimeZone, type SlaTimes } from './sla.js';
import { loadCalendar, loadSlaTargets } from './settings.js';
import { workingMinutesBetween } from './calendar.js';
import { overdueSql } from './overdue.js';
import { requestRating } from './ratings.js';
import { addNote } from '../notes/notes.js';
import { fillAnswerTemplate } from './templates.js';
import { ticketChannelLabels, ticketPriorityLabels, ticketStatusLabels, ticketTitle } from './labels.js';
import {
  openTicketStatuses,
  ticketChannels,
  ticketPriorities,
  ticketStatuses,
  type Ticket,
  type TicketCard,
  type TicketChannel,
  type TicketEntry,
  type TicketListItem,
  type TicketPriority,
  type TicketStatus,
} from './types.js';

/** R3 for tickets: as for leads — the assignee, and whoever sees the ticket's counterparty or contact. */
export function ticketScope(ctx: ServiceContext): SQL | undefined {
  // a website key reads leads only; a client on a channel reads nothing through staff verbs
  if (ctx.actor.kind === 'apiKey') return sql`false`;
  const cps = counterpartyScope(ctx);
  const cs = contactScope(ctx);
  if (!cps || !cs) return undefined;
  const uid = ctx.actor.kind === 'user' ? ctx.actor.userId : -1;
  return sql`(${tickets.assigneeId} = ${uid}
    OR ${tickets.counterpartyId} IN (SELECT ${counterparties.id} FROM ${counterparties} WHERE ${cps})
    OR ${tickets.contactId} IN (SELECT ${contacts.id} FROM ${contacts} WHERE ${cs}))`;
}

/** A visible ticket, or not_found / forbidden. */
export async function getTicket(ctx: ServiceContext, id: number): Promise<Ticket> {
  if (!Number.isInteger(id) || id <= 0 || id > 2_147_483_647) throw notFound('Обращение');
  const scope = ticketScope(ctx);
  const [row] = await ctx.db
    .select({ t: tickets, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(tickets)
    .where(eq(tickets.id, id));
  if (!row) throw notFound('Обращение');
  if (!row.visible) throw forbidden('Это обращение вам недоступно');
  return row.t;
}

export interface TicketFilter {
  /** 'open' = new, in work, waiting; 'all' = every status */
  status?: TicketStatus | 'open' | 'all';
  assigneeId?: number | undefined;
  /** only tickets with an SLA target passed without being met */
  overdue?: boolean | undefined;
  priority?: TicketPriority | undefined;
  channel?: TicketChannel | undefined;
  counterpartyId?: number | undefined;
  contactId?: number | undefined;
  /** number, subject or client name */
  q?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

const filterInput = z.object({
  status: z.union([z.enum(ticketStatuses as [TicketStatus, ...TicketStatus[]]), z.literal('open'), z.literal('all')]).default('open'),
  assigneeId: idField.optional(),
  overdue: z.boolean().optional(),
  priority: z.enum(ticketPriorities as [TicketPriority, ...TicketPriority[]]).optional(),
  channel: z.enum(ticketChannels as [TicketChannel, ...TicketChannel[]]).optional(),
  counterpartyId: idField.optional(),
  contactId: idField.optional(),
  q: z.string().transform(cleanText).pipe(z.string().trim().max(200)).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});


/** the nearest target still to be met: the first response, else the resolution */
const dueSql = sql<Date | null>`CASE WHEN ${tickets.firstResponseAt} IS NULL AND ${tickets.firstResponseDueAt} IS NOT NULL THEN ${tickets.firstResponseDueAt}
  WHEN ${tickets.solvedAt} IS NULL AND ${tickets.status} IN ('new', 'in_progress') THEN ${tickets.resolutionDueAt} END`;

/** Newest activity first, under ticketScope. `status` defaults to 'open'. */
export async function listTickets(ctx: ServiceContext, filter: TicketFilter = {}): Promise<{ rows: TicketListItem[]; total: number }> {
  const f = parseInput(filterInput, filter);
  const now = ctx.clock.now();
  const conds: (SQL | undefined)[] = [ticketScope(ctx)];
  if (f.status === 'open') conds.push(inArray(tickets.status, [...openTicketStatuses]));
  else if (f.status !== 'all') conds.push(eq(tickets.status, f.status));
  if (f.assigneeId) conds.push(eq(tickets.assigneeId, f.assigneeId));
  if (f.overdue) conds.push(overdueSql(now));
  if (f.priority) conds.push(eq(tickets.priority, f.priority));
  if (f.channel) conds.push(eq(tickets.channel, f.channel));
  if (f.counterpartyId) conds.push(eq(tickets.counterpartyId, f.counterpartyId));
  if (f.contactId) conds.push(eq(tickets.contactId, f.contactId));
  if (f.q) {
    const n = /^(?:№|#)?\s*(\d{1,9})$/.exec(f.q);
    const like = `%${escapeLike(f.q)}%`;
    conds.push(or(n ? eq(tickets.id, Number(n[1])) : undefined, ilike(tickets.subject, like), ilike(contacts.name, like), ilike(counterparties.name, like)));
  }
  const where = and(...conds);
  const rows = await ctx.db
    .select({
      id: tickets.id,
      subject: tickets.subject,
      status: tickets.status,
      priority: tickets.priority,
      channel: tickets.channel,
      contactId: tickets.contactId,
      contactName: contacts.name,
      counterpartyId: tickets.counterpartyId,
      counterpartyName: counterparties.name,
      assigneeId: tickets.assigneeId,
      assigneeName: users.name,
      createdAt: tickets.createdAt,
      updatedAt: tickets.updatedAt,
      dueAt: dueSql,
      overdue: overdueSql(now),
      rating: tickets.rating,
    })
    .from(tickets)
    .leftJoin(contacts, eq(contacts.id, tickets.contactId))
    .leftJoin(counterparties, eq(counterparties.id, tickets.counterpartyId))
    .leftJoin(users, eq(users.id, tickets.assigneeId))
    .where(where)
    .orderBy(desc(tickets.updatedAt), desc(tickets.id))
    .limit(f.limit)
    .offset(f.offset);
  const [t] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(tickets)
    .leftJoin(contacts, eq(contacts.id, tickets.contactId))
    .leftJoin(counterparties, eq(counterparties.id, tickets.counterpartyId))
    .where(where);
  // drivers differ in how they hand back a computed timestamp
  return { rows: rows.map((r) => ({ ...r, dueAt: r.dueAt ? new Date(r.dueAt) : null, overdue: !!r.overdue })), total: t!.n };
}

/** The card: the row, names, and the whole conversation (messages, letters, notes) oldest first. */
export async function ticketCard(ctx: ServiceContext, id: number): Promise<TicketCard> {
  const ticket = await getTicket(ctx, id);
  const names = await ticketClientNames(ctx, ticket.contactId, ticket.counterpartyId);
  const [assignee] = ticket.assigneeId ? await ctx.db.select({ name: users.name }).from(users).where(eq(users.id, ticket.assigneeId)) : [];
  const attachmentsOf = (list: { name: string; mime: string; size: number }[]) => list.map((a, index) => ({ name: a.name, mime: a.mime, size: a.size, index }));

  const msgs = await ctx.db
    .select({ m: messages, authorName: users.name })
    .from(messages)
    .leftJoin(users, eq(users.id, messages.authorUserId))
    .where(eq(messages.ticketId, ticket.id))
    .orderBy(asc(messages.at), asc(messages.id));
  const letters = await ctx.db
    .select({ e: emails, authorName: users.name })
    .from(emails)
    .leftJoin(users, eq(users.id, emails.authorUserId))
    .where(eq(emails.ticketId, ticket.id))
    .orderBy(asc(emails.at), asc(emails.id));
  const ownNotes = await ctx.db
    .select({ n: notes, authorName: users.name })
    .from(notes)
    .leftJoin(users, eq(users.id, notes.authorUserId))
    .where(and(eq(notes.entityType, 'ticket'), eq(notes.entityId, ticket.id)))
    .orderBy(asc(notes.createdAt), asc(notes.id));

  const entries: TicketEntry[] = [
    ...msgs.map(({ m, authorName }) => ({
      kind: 'message' as const,
      id: m.id,
      direction: m.direction,
      at: m.at,
      text: m.text,
      // the client's messages are the client's; ours carry the manager's name (none: the CRM itself, e.g. a rating request)
      authorName: m.direction === 'in' ? names.contactName : authorName,
      attachments: attachmentsOf(m.attachments),
      deliveryStatus: m.deliveryStatus,
      editedAt: m.editedAt,
      deletedAt: m.deletedAt,
    })),
    ...letters.map(({ e, authorName }) => ({
      kind: 'email' as const,
      id: e.id,
      direction: e.direction === 'incoming' ? ('in' as const) : ('out' as const),
      at: e.at,
      text: e.bodyText,
      subject: e.subject,
      authorName: e.direction === 'incoming' ? (names.contactName ?? e.fromAddress) : authorName,
      attachments: attachmentsOf(e.attachments),
      deliveryStatus: e.direction === 'outgoing' ? e.status : null,
    })),
    ...ownNotes.map(({ n, authorName }) => ({ kind: 'note' as const, id: n.id, direction: null, at: n.createdAt, text: n.text, authorName, attachments: [] })),
  ];
  entries.sort((a, b) => a.at.getTime() - b.at.getTime() || a.id - b.id);

  const why = await cannotReply(ctx, ticket);
  return {
    ticket,
    contactName: names.contactName,
    counterpartyName: names.counterpartyName,
    assigneeName: assignee?.name ?? null,
    entries,
    canReply: !why,
    ...(why ? { cannotReplyReason: why } : {}),
  };
}

/** Why the CRM cannot answer on the ticket's channel (Russian), or null when it can. */
async function cannotReply(ctx: ServiceContext, ticket: Ticket): Promise<string | null> {
  if (ticket.channel === 'email') {
    if (!ticket.mailboxId) return 'Почтовый ящик обращения удалён: напишите клиенту из раздела «Почта».';
    const [mb] = await ctx.db.select({ active: mailboxes.active, ownerId: mailboxes.ownerId }).from(mailboxes).where(eq(mailboxes.id, ticket.mailboxId));
    if (!mb?.active) return 'Почтовый ящик обращения отключён.';
    return othersMailbox(ctx, ticket, mb.ownerId);
  }
  if (!ticket.conversationId) return 'Обращение заведено вручную: у него нет чата с клиентом. Свяжитесь с клиентом по телефону или почте.';
  const [conv] = await ctx.db.select({ connectionId: conversations.businessConnectionId }).from(conversations).where(eq(conversations.id, ticket.conversationId));
  if (conv?.connectionId) {
    const [bc] = await ctx.db.select().from(businessConnections).where(eq(businessConnections.id, conv.connectionId));
    if (!bc?.enabled) return 'Telegram Business отключён у менеджера: ответы из CRM в этот чат не уходят.';
    if (!bc.canReply) return 'У бота нет права отвечать от имени менеджера в Telegram Business.';
  }
  return null;
}

/**
 * A letter goes from the ticket's mailbox: a shared one (no owner) answers for anyone who sees the
 * ticket; a manager's own only for its owner, the ticket's assignee, a head or an admin.
 */
function othersMailbox(ctx: ServiceContext, ticket: Ticket, ownerId: number | null): string | null {
  if (!ownerId || ctx.actor.kind !== 'user') return null;
  const { userId, role } = ctx.actor;
  if (ownerId === userId || ticket.assigneeId === userId || role === 'head' || role === 'admin') return null;
  return 'Ответ уйдёт из личного ящика другого менеджера: ответить может владелец ящика, исполнитель обращения или руководитель.';
}

const subjectField = z.string('укажите тему').transform(cleanText).pipe(z.string().trim().min(1, 'укажите тему').max(500, 'тема длиннее 500 знаков'));

const createInput = z.object({
  subject: subjectField,
  contactId: idField.nullish(),
  counterpartyId: idField.nullish(),
  priority: z.enum(ticketPriorities as [TicketPriority, ...TicketPriority[]], 'неизвестный приоритет').default('normal'),
  assigneeId: idField.nullish(),
  text: z.string().transform(cleanText).pipe(z.string().trim().max(4000, 'текст длиннее 4000 знаков')).nullish(),
  conversationId: idField.nullish(),
});

/** A ticket typed in by a manager (a call, a visit): channel `manual`, or on the client's messenger chat when conversationId is given. */
export async function createTicket(
  ctx: ServiceContext,
  input: { subject: string; contactId?: number | null; counterpartyId?: number | null; priority?: TicketPriority; assigneeId?: number | null; text?: string | null; conversationId?: number | null },
): Promise<Ticket> {
  const user = requireUser(ctx);
  const data = parseInput(createInput, input);
  return inTransaction(ctx, async (tx) => {
    let { contactId, counterpartyId } = data;
    let channel: TicketChannel = 'manual';
    if (data.conversationId) {
      const [conv] = await tx.db.select().from(conversations).where(eq(conversations.id, data.conversationId)).for('update');
      if (!conv) throw invalid({ conversationId: 'нет такого диалога' });
      await refuseSecondOpenTicket(tx, conv.ticketId);
      contactId ??= conv.contactId;
      if (contactId !== conv.contactId) throw invalid({ conversationId: 'это диалог другого контакта' });
      channel = conv.channel;
    }
    if (!contactId && !counterpartyId) throw invalid({ contactId: 'укажите клиента: контакт или контрагента' });
    if (contactId) {
      const c = await getContact(tx, contactId);
      contactId = c.id;
      if (counterpartyId && c.counterpartyId && c.counterpartyId !== counterpartyId) throw invalid({ contactId: `контакт «${c.name}» относится к другому контрагенту` });
      counterpartyId ??= c.counterpartyId;
    }
    if (counterpartyId) counterpartyId = (await getCounterparty(tx, counterpartyId)).id;
    // a manager types in their own request; the head may give it to anyone
    if (data.assigneeId && user.role === 'manager' && data.assigneeId !== user.userId) throw forbidden('Менеджер может назначить обращение только на себя');
    if (data.assigneeId) await requireActiveUser(tx, data.assigneeId);
    const ticket = await openTicket(tx, {
      subject: data.subject,
      channel,
      contactId: contactId ?? null,
      counterpartyId: counterpartyId ?? null,
      conversationId: data.conversationId ?? null,
      priority: data.priority,
      assigneeId: data.assigneeId ?? (user.role === 'manager' ? user.userId : null),
      history: channel === 'manual' ? 'Обращение заведено вручную' : `Обращение заведено по чату в ${ticketChannelLabels[channel]}`,
    });
    if (data.conversationId) await tx.db.update(conversations).set({ ticketId: ticket.id }).where(eq(conversations.id, data.conversationId));
    // what the manager typed is a note like any other: audited through the notes verb, in this transaction
    if (data.text) await addNote(tx, 'ticket', ticket.id, data.text);
    if (ticket.assigneeId && ticket.assigneeId !== user.userId) {
      await notify(tx, { kind: 'new_ticket', userId: ticket.assigneeId, ticketId: ticket.id, text: `Вам назначено ${ticketTitle(ticket.id).toLowerCase()}: ${ticket.subject}`, dedupeKey: `ticket:${ticket.id}:new` });
    }
    return ticket;
  });
}

/** A chat answers one open ticket at a time: its ticket_id is never taken from an open ticket. */
async function refuseSecondOpenTicket(tx: ServiceContext, chatTicketId: number | null): Promise<void> {
  if (!chatTicketId) return;
  const [t] = await tx.db.select({ id: tickets.id, status: tickets.status }).from(tickets).where(eq(tickets.id, chatTicketId));
  if (t && openTicketStatuses.includes(t.status)) throw conflict(`В этом чате уже открыто ${ticketTitle(t.id).toLowerCase()}: закройте его или пишите в нём`);
}

async function requireActiveUser(ctx: ServiceContext, userId: number): Promise<void> {
  if (!(await activeUserId(ctx, userId))) throw invalid({ assigneeId: 'нет такого активного пользователя' });
}

const updateInput = z.object({
  status: z.enum(ticketStatuses as [TicketStatus, ...TicketStatus[]], 'неизвестный статус').optional(),
  priority: z.enum(ticketPriorities as [TicketPriority, ...TicketPriority[]], 'неизвестный приоритет').optional(),
  assigneeId: idField.nullable().optional(),
  subject: subjectField.optional(),
});

/** What «Решено» needs to ask an e-mail client for a rating by link; without it the letter asks for a digit. */
export interface RatingEnv {
  publicUrl?: string | undefined;
  secretKey: string;
}

/**
 * Status, priority, assignee, subject. SLA pause/resume on «Ждём клиента», recomputed targets on a new priority; «Решено» asks the client to rate.
 * `env` (PUBLIC_URL and the secret key) lets an e-mail client rate by a link; without it the letter asks for a digit.
 */
export async function updateTicket(
  ctx: ServiceContext,
  id: number,
  input: { status?: TicketStatus; priority?: TicketPriority; assigneeId?: number | null; subject?: string },
  env?: RatingEnv,
): Promise<Ticket> {
  const data = parseInput(updateInput, input);
  return inTransaction(ctx, async (tx) => {
    await getTicket(tx, id);
    const [t] = await tx.db.select().from(tickets).where(eq(tickets.id, id)).for('update');
    const before = t!;
    const now = tx.clock.now();
    let set: Partial<typeof tickets.$inferInsert> = {};
    const lines: string[] = [];
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    let solvedNow = false;

    if (data.subject !== undefined && data.subject !== before.subject) {
      set.subject = data.subject;
      changes.subject = { from: before.subject, to: data.subject };
      lines.push(`тема «${before.subject}» → «${data.subject}»`);
    }

    const assigneeId = data.assigneeId !== undefined ? data.assigneeId : before.assigneeId;
    if (assigneeId !== before.assigneeId) {
      if (tx.actor.kind === 'user' && tx.actor.role === 'manager' && assigneeId !== tx.actor.userId) throw forbidden('Менеджер может взять обращение только на себя');
      if (assigneeId) await requireActiveUser(tx, assigneeId);
      set.assigneeId = assigneeId;
      changes.assigneeId = { from: before.assigneeId, to: assigneeId };
      const names = await userNames(tx, [before.assigneeId, assigneeId]);
      lines.push(`исполнитель: ${names.get(before.assigneeId ?? 0) ?? '—'} → ${names.get(assigneeId ?? 0) ?? '—'}`);
    }

    if (data.priority && data.priority !== before.priority) {
      set.priority = data.priority;
      changes.priority = { from: before.priority, to: data.priority };
      lines.push(`приоритет: ${ticketPriorityLabels[before.priority]} → ${ticketPriorityLabels[data.priority]}`);
      // the first answer's clock never stops: its target counts from the opening. A target already
      // met stays met; a passed one is told again only if it moves ahead
      const sla = await slaTimes(tx, data.priority, assigneeId, before.createdAt);
      if (!before.firstResponseAt) {
        Object.assign(set, { firstResponseDueAt: sla.firstResponseDueAt, firstResponseWarnAt: sla.firstResponseWarnAt });
        if (!sla.firstResponseDueAt || sla.firstResponseDueAt > now) Object.assign(set, { firstResponseWarnedAt: null, firstResponseBreachedAt: null });
      }
      if (!before.solvedAt && before.status !== 'closed') {
        set = { ...set, ...(await reprioritizedResolution(tx, { ...before, ...set, priority: before.priority } as Ticket, data.priority, sla, now)) };
      }
    }

    const status = data.status ?? before.status;
    if (status !== before.status) {
      changes.status = { from: before.status, to: status };
      lines.push(`статус: ${ticketStatusLabels[before.status]} → ${ticketStatusLabels[status]}`);
      const withTimes = { ...before, ...set } as Ticket;
      // the resolution clock runs only in «Новое» and «В работе»: waiting, solved or closed stops it
      // with the working minutes left, and going back to work (the client answered, a reopen) runs it on
      if (runs(before.status) && !runs(status)) set = { ...set, ...(await pauseResolution(tx, withTimes, now)) };
      else if (!runs(before.status) && runs(status)) set = { ...set, ...(await restartResolution(tx, withTimes, now)) };
      if (status === 'waiting') set.waitingSince = now;
      else if (before.status === 'waiting') set.waitingSince = null;
      if (status === 'solved') {
        set.solvedAt = now;
        solvedNow = true;
      } else if (status !== 'closed') {
        set.solvedAt = null;
      }
      set.closedAt = status === 'closed' ? now : null;
      set.status = status;
    }

    if (!lines.length) return before;
    const [after] = await tx.db.update(tickets).set({ ...set, updatedAt: now }).where(eq(tickets.id, id)).returning();
    await audit(tx, 'update', 'ticket', id, changes);
    await recordHistory(tx, 'ticket', id, changes.status ? 'status_changed' : 'updated', `Обращение изменено: ${lines.join('; ')}`, {
      ...(changes.status ? { from: before.status, to: status } : {}),
    });
    if (changes.assigneeId && assigneeId && !(tx.actor.kind === 'user' && tx.actor.userId === assigneeId)) {
      await notify(tx, {
        kind: 'new_ticket',
        userId: assigneeId,
        ticketId: id,
        conversationId: after!.conversationId ?? undefined,
        text: `Вам назначено обращение №${id}: ${after!.subject}`,
        dedupeKey: `ticket:${id}:assigned:${assigneeId}:${now.getTime()}`,
      });
    }
    // once per solving; a ticket rated already is not asked again
    if (solvedNow && after!.rating === null) await requestRating(tx, after!, env ?? { secretKey: '' });
    const [fresh] = await tx.db.select().from(tickets).where(eq(tickets.id, id));
    return fresh!;
  });
}

/** statuses in which the resolution clock runs */
const runs = (status: TicketStatus) => status === 'new' || status === 'in_progress';

/**
 * The resolution target under a new priority: the due time moves by the difference of the two
 * targets in working minutes, so time already spent and time paused (waiting, solved) both count
 * as they did. A paused clock keeps the changed minutes for when it runs again.
 */
async function reprioritizedResolution(tx: ServiceContext, ticket: Ticket, priority: TicketPriority, fromOpening: SlaTimes, now: Date): Promise<Partial<Ticket>> {
  const targets = await loadSlaTargets(tx);
  const before = targets[ticket.priority].resolutionMinutes;
  const after = targets[priority].resolutionMinutes;
  if (!after) return { resolutionDueAt: null, resolutionWarnAt: null, resolutionPausedMinutes: null };
  // no target before: it counts from the opening, as a new ticket's would
  if (!before || (!ticket.resolutionDueAt && ticket.resolutionPausedMinutes === null)) {
    if (!runs(ticket.status)) return { resolutionPausedMinutes: after };
    const moved = fromOpening.resolutionDueAt && fromOpening.resolutionDueAt > now ? { resolutionWarnedAt: null, resolutionBreachedAt: null } : {};
    return { resolutionDueAt: fromOpening.resolutionDueAt, resolutionWarnAt: fromOpening.resolutionWarnAt, ...moved };
  }
  const delta = after - before;
  if (ticket.resolutionPausedMinutes !== null) return { resolutionPausedMinutes: Math.max(0, ticket.resolutionPausedMinutes + delta) };
  const due = ticket.resolutionDueAt!;
  const cal = await loadCalendar(tx);
  const tz = await ticketTimeZone(tx, ticket.assigneeId);
  const left = due > now ? workingMinutesBetween(cal, tz, now, due) : -workingMinutesBetween(cal, tz, due, now);
  if (left + delta > 0) return restartResolution(tx, { ...ticket, priority, resolutionPausedMinutes: left + delta }, now);
  // due already (or by this change): a passed due stays as it was, a shortened one is due now
  return due > now ? { resolutionDueAt: now, resolutionWarnAt: now } : {};
}

async function userNames(ctx: ServiceContext, ids: (number | null)[]): Promise<Map<number, string>> {
  const list = ids.filter((x): x is number => !!x);
  if (!list.length) return new Map();
  const rows = await ctx.db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, list));
  return new Map(rows.map((r) => [r.id, r.name]));
}

const replyTextInput = z.object({
  text: z.string().transform(cleanText).pipe(z.string().trim().max(100_000)),
  templateId: idField.nullish(),
});

/**
 * The answer to the client on the ticket's channel: a messenger reply (stored and queued as
 * replyInConversation does, tied to the ticket), or a letter from the ticket's mailbox in its thread.
 * The first answer stamps first_response_at; a new ticket goes «В работе».
 */
export async function replyToTicket(
  ctx: ServiceContext,
  id: number,
  input: { text: string; templateId?: number | null },
  opts: { files?: InboundAttachment[]; attachmentsDir?: string; dataDir?: string } = {},
): Promise<{ messageId?: number; emailId?: number }> {
  const user = requireUser(ctx);
  const data = parseInput(replyTextInput, input);
  const ticket = await getTicket(ctx, id);
  const text = !data.text && data.templateId ? await fillAnswerTemplate(ctx, data.templateId, ticket.id) : data.text;
  if (!text && !opts.files?.length) throw invalid({ text: 'напишите ответ' });
  if (ticket.channel === 'email' && ticket.mailboxId) {
    const [mb] = await ctx.db.select({ ownerId: mailboxes.ownerId }).from(mailboxes).where(eq(mailboxes.id, ticket.mailboxId));
    const refused = othersMailbox(ctx, ticket, mb?.ownerId ?? null);
    if (refused) throw forbidden(refused);
  }
  const why = await cannotReply(ctx, ticket);
  if (why) throw conflict(why);

  if (ticket.channel !== 'email') {
    const message = await replyInConversation(ctx, ticket.conversationId!, text, {
      ticketId: ticket.id,
      ...(opts.files ? { files: opts.files } : {}),
      ...(opts.attachmentsDir ? { attachmentsDir: opts.attachmentsDir } : {}),
    });
    return { messageId: message.id };
  }

  return inTransaction(ctx, async (tx) => {
    const [last] = await tx.db
      .select({ id: emails.id })
      .from(emails)
      .where(and(eq(emails.ticketId, ticket.id), eq(emails.direction, 'incoming')))
      .orderBy(desc(emails.at), desc(emails.id))
      .limit(1);
    // othersMailbox allowed this actor the ticket's mailbox (a manager's own is not theirs to
    // compose from): the CRM sends it for them, the acting user is still the author
    const asSystem: ServiceContext = { ...tx, actor: systemActor('обращения') };
    const files = (opts.files ?? []).map((f) => ({ name: f.name, mime: f.mime, content: f.data }));
    if (files.length && !opts.dataDir) throw new Error('replyToTicket: dataDir is needed to attach files to a letter');
    const email = await composeEmail(
      asSystem,
      {
        mailboxId: ticket.mailboxId,
        body: text,
        ...(last ? { replyToEmailId: last.id } : { subject: `${ticketTitle(ticket.id)}: ${ticket.subject}`, contactId: ticket.contactId, counterpartyId: ticket.counterpartyId }),
      },
      files.length ? { files, env: { dataDir: opts.dataDir! } } : undefined,
    );
    await tx.db.update(emails).set({ ticketId: ticket.id, authorUserId: user.userId }).where(eq(emails.id, email.id));
    await ticketAnswered(tx, ticket.id, tx.clock.now());
    return { emailId: email.id };
  });
}

/** «Сделать обращением»: a lead's chat becomes a ticket (the lead is closed if nothing else happened on it). */
export async function ticketFromLead(ctx: ServiceContext, leadId: number): Promise<Ticket> {
  return inTransaction(ctx, async (tx) => {
    const seen = await getLead(tx, leadId);
    // two presses at once make one ticket: the second waits for the first and finds its ticket
    const [lead] = await tx.db.select().from(leads).where(eq(leads.id, seen.id)).for('update');
    if (!lead) throw notFound('Лид');
    if (lead.status !== 'new' && lead.status !== 'in_progress') throw conflict(lead.status === 'converted' ? 'Лид уже переведён в сделку' : 'Лид закрыт');
    if (!lead.contactId && !lead.counterpartyId) throw invalid({ contactId: 'у лида нет клиента: укажите контакт' });
    const [made] = await tx.db
      .select({ id: tickets.id })
      .from(tickets)
      .where(and(eq(tickets.leadId, lead.id), inArray(tickets.status, [...openTicketStatuses])))
      .limit(1);
    if (made) throw conflict(`Из этого лида уже сделано ${ticketTitle(made.id).toLowerCase()}`);
    const [conv] = await tx.db
      .select()
      .from(conversations)
      .where(eq(conversations.leadId, lead.id))
      .orderBy(sql`${conversations.lastMessageAt} DESC NULLS LAST`, desc(conversations.id))
      .limit(1)
      .for('update');
    if (conv) await refuseSecondOpenTicket(tx, conv.ticketId);
    const [letter] = conv
      ? []
      : await tx.db
          .select()
          .from(emails)
          .where(and(eq(emails.leadId, lead.id), eq(emails.direction, 'incoming')))
          .orderBy(desc(emails.at), desc(emails.id))
          .limit(1);
    const channel: TicketChannel = conv ? conv.channel : letter?.mailboxId ? 'email' : 'manual';
    const ticket = await openTicket(tx, {
      subject: lead.title.slice(0, 500),
      channel,
      contactId: lead.contactId,
      counterpartyId: lead.counterpartyId,
      conversationId: conv?.id ?? null,
      mailboxId: channel === 'email' ? letter!.mailboxId : null,
      emailThreadKey: channel === 'email' ? letter!.threadKey : null,
      assigneeId: lead.responsibleId,
      leadId: lead.id,
      history: `Обращение сделано из лида №${lead.id} «${lead.title}»`,
    });
    if (conv) {
      await tx.db.update(conversations).set({ ticketId: ticket.id }).where(eq(conversations.id, conv.id));
      // what the client wrote on the lead is the ticket's conversation: the chat's messages since an
      // earlier ticket's last one, from a day before the lead (the message that opened it carries the
      // provider's time, which may be a little earlier than the lead)
      const since = new Date(lead.createdAt.getTime() - 24 * 3600_000);
      await tx.db
        .update(messages)
        .set({ ticketId: ticket.id })
        .where(
          and(
            eq(messages.conversationId, conv.id),
            isNull(messages.ticketId),
            gte(messages.at, since),
            sql`${messages.id} > coalesce((SELECT max(m2.id) FROM messages m2 WHERE m2.conversation_id = ${conv.id} AND m2.ticket_id IS NOT NULL AND m2.ticket_id <> ${ticket.id}), 0)`,
          ),
        );
    }
    if (channel === 'email' && letter!.threadKey) {
      await tx.db.update(emails).set({ ticketId: ticket.id }).where(and(eq(emails.threadKey, letter!.threadKey), isNull(emails.ticketId)));
    }
    // a lead with nothing of its own (no works, no deal, no notes) was only this request: it is closed
    const list = await execRows<{ busy: boolean }>(
      tx,
      sql`SELECT
      EXISTS (SELECT 1 FROM works w WHERE w.lead_id = ${lead.id})
      OR EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = ${lead.id})
      OR EXISTS (SELECT 1 FROM notes n WHERE n.entity_type = 'lead' AND n.entity_id = ${lead.id}) AS busy`,
    );
    const now = tx.clock.now();
    if (!list[0]?.busy) {
      const comment = `Переведён в обращение №${ticket.id}`;
      await tx.db.update(leads).set({ status: 'closed', closedAt: now, updatedAt: now, closeComment: comment }).where(eq(leads.id, lead.id));
      await audit(tx, 'close', 'lead', lead.id, { status: { from: lead.status, to: 'closed' }, closeComment: { from: lead.closeComment, to: comment } });
      await recordHistory(tx, 'lead', lead.id, 'status_changed', `Лид закрыт: ${comment.toLowerCase()}`, { from: lead.status, to: 'closed', ticketId: ticket.id });
    } else {
      await recordHistory(tx, 'lead', lead.id, 'ticket_made', `Сделано обращение №${ticket.id}: чат клиента теперь идёт в обращение`, { ticketId: ticket.id });
    }
    if (ticket.assigneeId && !(tx.actor.kind === 'user' && tx.actor.userId === ticket.assigneeId)) {
      await notify(tx, { kind: 'new_ticket', userId: ticket.assigneeId, ticketId: ticket.id, text: `Вам назначено обращение №${ticket.id}: ${ticket.subject}`, dedupeKey: `ticket:${ticket.id}:new` });
    }
    return ticket;
  });
}

const leadSourceOf: Record<TicketChannel, 'telegram' | 'whatsapp' | 'viber' | 'email' | 'manual'> = {
  telegram: 'telegram',
  whatsapp: 'whatsapp',
  viber: 'viber',
  email: 'email',
  manual: 'manual',
};

/** «Сделать лидом»: the ticket's client gets a lead carrying its chat; the ticket is closed. Returns the lead id. */
export async function leadFromTicket(ctx: ServiceContext, ticketId: number): Promise<number> {
  return inTransaction(ctx, async (tx) => {
    await getTicket(tx, ticketId);
    const [t] = await tx.db.select().from(tickets).where(eq(tickets.id, ticketId)).for('update');
    const ticket = t!;
    if (ticket.status === 'closed') throw conflict('Обращение уже закрыто');
    if (!ticket.contactId && !ticket.counterpartyId) throw invalid({ contactId: 'у обращения нет клиента' });
    const lead = await createLead(tx, {
      title: ticket.subject.slice(0, 500),
      source: leadSourceOf[ticket.channel],
      contactId: ticket.contactId,
      counterpartyId: ticket.counterpartyId,
      ...(ticket.assigneeId ? { responsibleId: ticket.assigneeId } : {}),
      comment: `Из обращения №${ticket.id}`,
    });
    // the chat now runs in the lead: the client's next message goes there, not to a new ticket
    if (ticket.conversationId) {
      await tx.db.update(conversations).set({ leadId: lead.id, ticketId: null }).where(and(eq(conversations.id, ticket.conversationId), eq(conversations.ticketId, ticket.id)));
    }
    await tx.db.update(emails).set({ leadId: lead.id }).where(eq(emails.ticketId, ticket.id));
    const now = tx.clock.now();
    const waiting = ticket.status === 'waiting' ? { waitingSince: null } : {};
    await tx.db.update(tickets).set({ status: 'closed', closedAt: now, updatedAt: now, leadId: lead.id, ...waiting }).where(eq(tickets.id, ticket.id));
    await audit(tx, 'update', 'ticket', ticket.id, { status: { from: ticket.status, to: 'closed' }, leadId: { from: ticket.leadId, to: lead.id } });
    await recordHistory(tx, 'ticket', ticket.id, 'status_changed', `Обращение закрыто: сделан лид №${lead.id}`, { from: ticket.status, to: 'closed', leadId: lead.id });
    await recordHistory(tx, 'lead', lead.id, 'from_ticket', `Лид сделан из обращения №${ticket.id} (${leadSourceLabels[lead.source]})`, { ticketId: ticket.id });
    return lead.id;
  });
}

/** Is the contact (or its counterparty) an existing client: marked «действующий клиент», or with a paid deal. */
export async function isExistingClient(ctx: ServiceContext, contactId: number): Promise<boolean> {
  return existingClient(ctx, contactId);
}
