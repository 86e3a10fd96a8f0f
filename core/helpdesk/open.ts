import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, counterparties, tickets, users } from '../db/schema/index.js';
import { audit, created, recordHistory } from '../shared/audit.js';
import { notify, type Notification } from '../notifications/notify.js';
import { reachableOrFallback } from '../notifications/reach.js';
import { nextInSupportQueue } from './settings.js';
import { resumeResolution, slaTimes } from './sla.js';
import { ticketChannelLabels, ticketStatusLabels, ticketTitle } from './labels.js';
import { execRows } from '../mail/rows.js';
import type { Ticket, TicketChannel, TicketPriority } from './types.js';

/**
 * What the inbound pipelines (messengers, mail) and the manager's verbs share when a ticket opens,
 * joins a message or gets its first answer. Kept apart from tickets.ts so that conversations.ts and
 * ingest.ts can use it without importing the verbs that call them back.
 */

const SUBJECT_MAX = 80;

/** The subject of a ticket opened by a message: its first line, ≤ 80 chars, else «Сообщение в <канал>». */
export function subjectFromText(text: string | null | undefined, channel: TicketChannel): string {
  const line = (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (!line) return `Сообщение в ${ticketChannelLabels[channel]}`;
  return line.length > SUBJECT_MAX ? `${line.slice(0, SUBJECT_MAX - 1)}…` : line;
}

/** The contact (or its counterparty) is marked «действующий клиент» or has a paid deal. No access check: routing asks it. */
export async function existingClient(tx: ServiceContext, contactId: number): Promise<boolean> {
  const [c] = await tx.db.select({ counterpartyId: contacts.counterpartyId }).from(contacts).where(eq(contacts.id, contactId));
  return !!c && clientTest(tx, contactId, c.counterpartyId);
}

/** The same test for a counterparty alone (a letter matched to a company's address). */
export async function existingCounterpartyClient(tx: ServiceContext, counterpartyId: number): Promise<boolean> {
  return clientTest(tx, null, counterpartyId);
}

async function clientTest(tx: ServiceContext, contactId: number | null, counterpartyId: number | null): Promise<boolean> {
  const paid = (on: SQL) => sql`EXISTS (SELECT 1 FROM deals d WHERE d.paid_on IS NOT NULL AND ${on})`;
  const tests: SQL[] = [];
  if (contactId) tests.push(paid(sql`d.contact_id = ${contactId}`));
  if (counterpartyId) {
    tests.push(sql`EXISTS (SELECT 1 FROM counterparties cp WHERE cp.id = ${counterpartyId} AND cp.is_active_client)`, paid(sql`d.counterparty_id = ${counterpartyId}`));
  }
  if (!tests.length) return false;
  const [row] = await execRows<{ ok: boolean }>(tx, sql`SELECT (${sql.join(tests, sql` OR `)}) AS ok`);
  return !!row?.ok;
}

/** The user's id if they are active, else null: nothing is given to someone who left. */
export async function activeUserId(tx: ServiceContext, userId: number | null | undefined): Promise<number | null> {
  if (!userId) return null;
  const [u] = await tx.db.select({ id: users.id }).from(users).where(and(eq(users.id, userId), eq(users.active, true)));
  return u?.id ?? null;
}

export interface OpenTicketInput {
  subject: string;
  channel: TicketChannel;
  contactId: number | null;
  counterpartyId?: number | null | undefined;
  conversationId?: number | null | undefined;
  mailboxId?: number | null | undefined;
  emailThreadKey?: string | null | undefined;
  priority?: TicketPriority | undefined;
  /** a chosen assignee (a business chat's owner, the manager typing it in); else the client's responsible, else the support queue */
  assigneeId?: number | null | undefined;
  leadId?: number | null | undefined;
  /** the history line, e.g. «Обращение открыто: сообщение в Telegram» */
  history: string;
}

/**
 * Inserts a ticket «Новое» with its SLA targets, audited and in its history. The assignee: the
 * given one (if active), else the counterparty's responsible, else the next of the support queue.
 */
export async function openTicket(tx: ServiceContext, input: OpenTicketInput): Promise<Ticket> {
  let counterpartyId = input.counterpartyId ?? null;
  if (!counterpartyId && input.contactId) {
    const [c] = await tx.db.select({ counterpartyId: contacts.counterpartyId }).from(contacts).where(eq(contacts.id, input.contactId));
    counterpartyId = c?.counterpartyId ?? null;
  }
  let assigneeId = await activeUserId(tx, input.assigneeId);
  if (!assigneeId && counterpartyId) {
    const [cp] = await tx.db.select({ responsibleId: counterparties.responsibleId }).from(counterparties).where(eq(counterparties.id, counterpartyId));
    assigneeId = await activeUserId(tx, cp?.responsibleId);
  }
  assigneeId ??= await nextInSupportQueue(tx);
  const priority = input.priority ?? 'normal';
  const now = tx.clock.now();
  const sla = await slaTimes(tx, priority, assigneeId, now);
  const [ticket] = await tx.db
    .insert(tickets)
    .values({
      subject: input.subject,
      contactId: input.contactId,
      counterpartyId,
      channel: input.channel,
      conversationId: input.conversationId ?? null,
      mailboxId: input.mailboxId ?? null,
      emailThreadKey: input.emailThreadKey ?? null,
      priority,
      status: 'new',
      assigneeId,
      leadId: input.leadId ?? null,
      createdAt: now,
      updatedAt: now,
      ...sla,
    })
    .returning();
  await audit(tx, 'create', 'ticket', ticket!.id, created({ subject: ticket!.subject, channel: ticket!.channel, priority, assigneeId, contactId: ticket!.contactId }));
  await recordHistory(tx, 'ticket', ticket!.id, 'created', input.history, { channel: ticket!.channel, assigneeId });
  return ticket!;
}

/**
 * «Обращение №N»: a new ticket to its assignee, or (unassigned, or the assignee cannot be told) to
 * the heads, else the admins.
 */
export async function announceTicket(
  tx: ServiceContext,
  ticket: Pick<Ticket, 'id' | 'assigneeId'>,
  kind: 'new_ticket' | 'client_message' | 'email_received',
  text: string,
  ids: Pick<Notification, 'conversationId' | 'messageId' | 'dedupeKey'>,
): Promise<void> {
  const recipients = await reachableOrFallback(tx, ticket.assigneeId ? [ticket.assigneeId] : []);
  await notify(
    tx,
    recipients.map((userId) => ({ kind, userId, text, ticketId: ticket.id, ...ids })),
  );
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** «Обращение №N · Telegram · Иван (ООО Ромашка): текст» */
export function ticketNoticeText(
  ticket: Pick<Ticket, 'id' | 'channel'>,
  client: { contactName: string | null; counterpartyName?: string | null | undefined },
  text: string | null | undefined,
  attachments = 0,
): string {
  const who = client.contactName ? (client.counterpartyName ? `${client.contactName} (${client.counterpartyName})` : client.contactName) : (client.counterpartyName ?? 'клиент');
  const body = text?.trim() ? clip(text.trim(), 1500) : attachments ? `📎 Вложений: ${attachments}` : '(пустое сообщение)';
  return `${ticketTitle(ticket.id)} · ${ticketChannelLabels[ticket.channel]} · ${who}: ${body}`;
}

/** The client's name and company, for notices. */
export async function ticketClientNames(tx: ServiceContext, contactId: number | null, counterpartyId: number | null): Promise<{ contactName: string | null; counterpartyName: string | null }> {
  const [c] = contactId ? await tx.db.select({ name: contacts.name }).from(contacts).where(eq(contacts.id, contactId)) : [];
  const [cp] = counterpartyId ? await tx.db.select({ name: counterparties.name }).from(counterparties).where(eq(counterparties.id, counterpartyId)) : [];
  return { contactName: c?.name ?? null, counterpartyName: cp?.name ?? null };
}

/**
 * The resolution clock runs again (a waiting, solved or closed ticket back in work): the working
 * minutes left when it stopped count from now. A warning or breach told before is told again only
 * when its new instant lies ahead; a target passed before the stop stays passed.
 */
export async function restartResolution(tx: ServiceContext, ticket: Ticket, now: Date): Promise<Partial<Ticket>> {
  const resumed = await resumeResolution(tx, ticket, now);
  if (!resumed.resolutionDueAt) return resumed;
  return {
    ...resumed,
    ...(resumed.resolutionWarnAt && resumed.resolutionWarnAt > now ? { resolutionWarnedAt: null } : {}),
    ...(resumed.resolutionDueAt > now ? { resolutionBreachedAt: null } : {}),
  };
}

/**
 * The client wrote again on a ticket: «Ждём клиента» → «В работе» (the resolution clock runs
 * again), «Решено» → «В работе» (reopened). Returns the ticket as it is now.
 */
export async function clientWroteOnTicket(tx: ServiceContext, ticket: Ticket): Promise<Ticket> {
  const now = tx.clock.now();
  if (ticket.status === 'waiting') {
    const resumed = await restartResolution(tx, ticket, now);
    const [after] = await tx.db
      .update(tickets)
      .set({ ...resumed, status: 'in_progress', waitingSince: null, updatedAt: now })
      .where(eq(tickets.id, ticket.id))
      .returning();
    await audit(tx, 'update', 'ticket', ticket.id, { status: { from: 'waiting', to: 'in_progress' } });
    await recordHistory(tx, 'ticket', ticket.id, 'status_changed', `Клиент ответил: ${ticketStatusLabels.waiting} → ${ticketStatusLabels.in_progress}`, { from: 'waiting', to: 'in_progress' });
    return after!;
  }
  if (ticket.status === 'solved') {
    const [after] = await tx.db
      .update(tickets)
      // «Решено» stopped the resolution clock: it runs on with the minutes that were left
      .set({ ...(await restartResolution(tx, ticket, now)), status: 'in_progress', solvedAt: null, updatedAt: now })
      .where(eq(tickets.id, ticket.id))
      .returning();
    await audit(tx, 'reopen', 'ticket', ticket.id, { status: { from: 'solved', to: 'in_progress' }, solvedAt: { from: ticket.solvedAt?.toISOString() ?? null, to: null } });
    await recordHistory(tx, 'ticket', ticket.id, 'reopened', 'Клиент ответил — обращение открыто снова', { from: 'solved', to: 'in_progress' });
    return after!;
  }
  const [after] = await tx.db.update(tickets).set({ updatedAt: now }).where(eq(tickets.id, ticket.id)).returning();
  return after!;
}

/**
 * Our answer went to the client (a CRM reply, the manager's own Telegram, a letter): the first one
 * stamps first_response_at, and a new ticket goes «В работе».
 */
export async function ticketAnswered(tx: ServiceContext, ticketId: number, at: Date): Promise<void> {
  const [t] = await tx.db.select().from(tickets).where(eq(tickets.id, ticketId)).for('update');
  if (!t) return;
  const set: Partial<typeof tickets.$inferInsert> = { updatedAt: tx.clock.now() };
  if (!t.firstResponseAt) set.firstResponseAt = at;
  if (t.status === 'new') set.status = 'in_progress';
  await tx.db.update(tickets).set(set).where(eq(tickets.id, ticketId));
  if (t.status === 'new') {
    await audit(tx, 'update', 'ticket', ticketId, { status: { from: 'new', to: 'in_progress' }, firstResponseAt: { from: null, to: at.toISOString() } });
    await recordHistory(tx, 'ticket', ticketId, 'status_changed', `Клиенту ответили: ${ticketStatusLabels.new} → ${ticketStatusLabels.in_progress}`, { from: 'new', to: 'in_progress' });
  }
}

/** The chat's ticket, as routing reads it (locked: the client's messages are taken in turn anyway). */
export async function chatTicket(tx: ServiceContext, ticketId: number | null): Promise<Ticket | null> {
  if (!ticketId) return null;
  const [t] = await tx.db.select().from(tickets).where(eq(tickets.id, ticketId)).for('update');
  return t ?? null;
}

/** The open ticket of an e-mail thread, newest first, else the latest solved one (a reply reopens it). */
export async function threadTicket(tx: ServiceContext, threadKey: string): Promise<Ticket | null> {
  const [t] = await tx.db
    .select()
    .from(tickets)
    .where(and(eq(tickets.emailThreadKey, threadKey), inArray(tickets.status, ['new', 'in_progress', 'waiting', 'solved'])))
    .orderBy(sql`${tickets.id} DESC`)
    .limit(1)
    .for('update');
  return t ?? null;
}
