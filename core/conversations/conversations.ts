import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { contacts, conversations, leads, messages } from '../db/schema/index.js';
import { forbidden, invalid, isServiceError, notFound } from '../errors.js';
import { contactScope, leadScope, requireUser } from '../access/scope.js';
import { parseInput } from '../shared/input.js';
import { idField } from '../shared/fields.js';
import { readStoredAttachment, saveAttachments, type StoredAttachment } from '../channels/attachments.js';
import { cleanText } from '../validation/text.js';
import { queueOutgoingMessage } from '../channels/send-job.js';
import { attachmentKinds, type ChannelKind, type InboundAttachment } from '../channels/types.js';
import { chatTicket, ticketAnswered } from '../helpdesk/open.js';
import { openTicketStatuses } from '../helpdesk/types.js';
import { getTicket } from '../helpdesk/tickets.js';

export type Conversation = typeof conversations.$inferSelect;
export type Message = typeof messages.$inferSelect;

/**
 * R3 for chats: a conversation is visible to whoever sees its lead or its contact (so a lead
 * participant reads the chat that brought the lead, and a segment manager their clients' chats).
 */
export function conversationScope(ctx: ServiceContext): SQL | undefined {
  const ls = leadScope(ctx);
  const cs = contactScope(ctx);
  if (!ls || !cs) return undefined;
  // R23: a ticket's assignee answers its chat even when the client is of another segment — while
  // the ticket is the chat's open one; an old ticket's messages are read through the ticket
  const assignee = ctx.actor.kind === 'user' ? sql`
    OR ${conversations.ticketId} IN (SELECT t.id FROM tickets t WHERE t.assignee_id = ${ctx.actor.userId} AND t.status IN ('new', 'in_progress', 'waiting'))` : sql``;
  return sql`(${conversations.leadId} IN (SELECT ${leads.id} FROM ${leads} WHERE ${ls})
    OR ${conversations.contactId} IN (SELECT ${contacts.id} FROM ${contacts} WHERE ${cs})${assignee})`;
}

export async function getConversation(ctx: ServiceContext, id: number): Promise<Conversation> {
  const scope = conversationScope(ctx);
  const [row] = await ctx.db
    .select({ cv: conversations, visible: scope ? sql<boolean>`${scope}` : sql<boolean>`true` })
    .from(conversations)
    .where(eq(conversations.id, id));
  if (!row) throw notFound('Диалог');
  if (!row.visible) throw forbidden('Этот диалог вам недоступен');
  return row.cv;
}

export interface ConversationListItem {
  id: number;
  channel: ChannelKind;
  status: 'open' | 'closed';
  contactId: number;
  contactName: string;
  leadId: number | null;
  leadTitle: string | null;
  lastMessageAt: Date | null;
  lastText: string | null;
  lastDirection: 'in' | 'out' | null;
}

const listInput = z.object({
  /** conversations of this user's leads (responsible or participant), open deals and counterparties */
  mineFor: idField.optional(),
  status: z.enum(['open', 'closed', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(200).default(30),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `/chats`: the newest conversations first, with their last message. */
export async function listConversations(ctx: ServiceContext, filter: z.input<typeof listInput> = {}): Promise<ConversationListItem[]> {
  const f = parseInput(listInput, filter);
  const conds: (SQL | undefined)[] = [conversationScope(ctx)];
  if (f.status !== 'all') conds.push(eq(conversations.status, f.status));
  if (f.mineFor) {
    const uid = f.mineFor;
    conds.push(sql`(
      ${conversations.leadId} IN (SELECT l.id FROM leads l WHERE l.responsible_id = ${uid}
                                  UNION SELECT lp.lead_id FROM lead_participants lp WHERE lp.user_id = ${uid})
      OR ${conversations.contactId} IN (SELECT d.contact_id FROM deals d
                                        WHERE d.responsible_id = ${uid} AND d.closed_at IS NULL AND d.contact_id IS NOT NULL)
      OR ${conversations.contactId} IN (SELECT c2.id FROM contacts c2 JOIN counterparties cp ON cp.id = c2.counterparty_id
                                        WHERE cp.responsible_id = ${uid}))`);
  }
  const last = (column: SQL) =>
    sql`(SELECT ${column} FROM messages m WHERE m.conversation_id = ${conversations.id} ORDER BY m.at DESC, m.id DESC LIMIT 1)`;
  const rows = await ctx.db
    .select({
      id: conversations.id,
      channel: conversations.channel,
      status: conversations.status,
      contactId: conversations.contactId,
      contactName: contacts.name,
      leadId: conversations.leadId,
      leadTitle: leads.title,
      lastMessageAt: conversations.lastMessageAt,
      lastText: sql<string | null>`${last(sql`m.text`)}`,
      lastDirection: sql<'in' | 'out' | null>`${last(sql`m.direction`)}`,
    })
    .from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .leftJoin(leads, eq(leads.id, conversations.leadId))
    .where(and(...conds))
    .orderBy(sql`${conversations.lastMessageAt} DESC NULLS LAST`, desc(conversations.id))
    .limit(f.limit)
    .offset(f.offset);
  return rows;
}

/** A conversation's messages, newest first (the chat part of the history). */
export async function listMessages(
  ctx: ServiceContext,
  conversationId: number,
  opts: { limit?: number; before?: Date } = {},
): Promise<Message[]> {
  await getConversation(ctx, conversationId);
  return ctx.db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), opts.before ? lt(messages.at, opts.before) : undefined))
    .orderBy(desc(messages.at), desc(messages.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 500));
}

const replyInput = z.object({
  // the smallest limit of the three messengers (Telegram's 4096) so a reply fits everywhere
  text: z.string().transform(cleanText).pipe(z.string().trim().max(4096, 'не длиннее 4096 символов')),
  files: z
    .array(z.object({ name: z.string().transform(cleanText).pipe(z.string().max(255)), mime: z.string().max(255), kind: z.enum(attachmentKinds).optional(), data: z.instanceof(Buffer) }))
    .max(10, 'не больше 10 файлов')
    .default([]),
});

export interface ReplyOptions {
  /** files the manager sends; kept under the attachments folder like a client's */
  files?: InboundAttachment[];
  /** `attachmentsDirFor(config.DATA_DIR)`: needed only with files */
  attachmentsDir?: string;
  /** R23: the ticket this answer is for (replyToTicket); else the chat's open ticket, if any */
  ticketId?: number;
}

/**
 * The manager's answer: stored as an outgoing message authored by the acting user, then sent on
 * the client's channel by the `channel.send` job once the transaction commits. Files go with it
 * where the channel can carry them; where it cannot, the send job tells the author why. On a chat
 * with an open ticket (R23) the answer joins the ticket: the first one stamps its first response,
 * and a new ticket goes «В работе».
 */
export async function replyInConversation(ctx: ServiceContext, conversationId: number, text: string, opts: ReplyOptions = {}): Promise<Message> {
  const user = requireUser(ctx);
  const data = parseInput(replyInput, { text, files: opts.files ?? [] });
  if (!data.text && !data.files.length) throw invalid({ text: 'пустое сообщение' });
  const conv = await getConversation(ctx, conversationId);
  let stored: StoredAttachment[] = [];
  if (data.files.length) {
    if (!opts.attachmentsDir) throw new Error('replyInConversation: attachmentsDir is needed to keep files');
    // written before the transaction: a rollback may leave an unused file, never a row without its file
    stored = await saveAttachments(opts.attachmentsDir, conv.channel, ctx.clock.now(), data.files);
  }
  return inTransaction(ctx, async (tx) => {
    const fresh = await getConversation(tx, conversationId);
    let ticketId = opts.ticketId ?? null;
    if (!ticketId) {
      const current = await chatTicket(tx, fresh.ticketId);
      if (current && openTicketStatuses.includes(current.status)) ticketId = current.id;
    }
    const message = await queueOutgoingMessage(tx, conv, { text: data.text || null, attachments: stored, authorUserId: user.userId, ticketId });
    if (ticketId) await ticketAnswered(tx, ticketId, message.at);
    return message;
  });
}

/** A file a client sent, for the history: readable by whoever sees the conversation, or the message's ticket. */
export async function readAttachment(
  ctx: ServiceContext,
  messageId: number,
  index: number,
  attachmentsDir: string,
): Promise<StoredAttachment & { data: Buffer }> {
  const [m] = await ctx.db.select().from(messages).where(eq(messages.id, messageId));
  if (!m) throw notFound('Сообщение');
  try {
    await getConversation(ctx, m.conversationId);
  } catch (err) {
    // an old ticket's assignee no longer reads the chat, but still the ticket's own messages
    if (!(isServiceError(err) && err.code === 'forbidden' && m.ticketId)) throw err;
    await getTicket(ctx, m.ticketId);
  }
  const stored = m.attachments[index];
  if (!stored) throw invalid({ index: 'нет такого вложения' });
  return { ...stored, data: await readStoredAttachment(attachmentsDir, stored) };
}
