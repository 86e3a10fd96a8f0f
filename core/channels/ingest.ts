import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type ServiceContext } from '../context.js';
import { contactIdentities, contacts, conversations, messages } from '../db/schema/index.js';
import { parseInput } from '../shared/input.js';
import { audit, created, recordHistory } from '../shared/audit.js';
import { findContactByPhone, type Contact } from '../contacts/contacts.js';
import { createLead } from '../leads/leads.js';
import { notify, type Notification } from '../notifications/notify.js';
import { openLeadOrDeal, requestRecipients, type OpenLead } from '../leads/open-request.js';
import { mergeContactsSharingPhone } from '../merge/same-person.js';
import { formatPhone, normalizePhone } from '../validation/phone.js';
import { saveAttachments, type StoredAttachment } from './attachments.js';
import { clientMessageText } from './texts.js';
import { attachmentKinds, channelKinds, channelLabel, type InboundMessage } from './types.js';
import { cleanText } from '../validation/text.js';
import { lockKeys } from '../shared/locks.js';
import { activeUserId, announceTicket, chatTicket, clientWroteOnTicket, existingClient, openTicket, subjectFromText, ticketAnswered, ticketClientNames, ticketNoticeText } from '../helpdesk/open.js';
import { parseRating, ratingFromMessage } from '../helpdesk/ratings.js';
import { openTicketStatuses, type Ticket } from '../helpdesk/types.js';

export interface IngestResult {
  messageId: number;
  conversationId: number;
  contactId: number;
  /** the open lead the message belongs to (created now or earlier); null when an open deal or a ticket holds the contact */
  leadId: number | null;
  /** R23: the ticket the message joined or opened (an existing client's request) */
  ticketId: number | null;
  createdTicket: boolean;
  /** this provider message id was stored before: nothing was written now */
  duplicate: boolean;
  createdContact: boolean;
  createdLead: boolean;
}

export interface IngestOptions {
  /** where attachment files go: `attachmentsDirFor(config.DATA_DIR)`; needed only when a message has files */
  attachmentsDir?: string | undefined;
}

/** a client's text as PostgreSQL can keep it (no NUL bytes, no broken surrogates): stored, never refused */
const clean = z.string().transform(cleanText);

const inboundSchema = z.object({
  channel: z.enum(channelKinds),
  externalUserId: clean.pipe(z.string().trim().min(1).max(200)),
  externalChatId: clean.pipe(z.string().trim().min(1).max(200)),
  providerMessageId: clean.pipe(z.string().trim().min(1).max(300)),
  name: clean.pipe(z.string().trim().max(300)).optional(),
  phone: clean.pipe(z.string().max(50)).optional(),
  text: clean.pipe(z.string().max(100_000)).optional(),
  attachments: z
    .array(
      z.object({
        name: clean.pipe(z.string().max(1000)),
        mime: clean.pipe(z.string().max(255)),
        data: z.instanceof(Buffer),
        kind: z.enum(attachmentKinds).optional(),
      }),
    )
    .max(50)
    .optional(),
  at: z.date().optional(),
  business: z.object({ connectionId: z.string().min(1).max(200), userId: z.number().int().positive() }).optional(),
  outgoing: z.object({ authorUserId: z.number().int().positive() }).optional(),
});

/** A concurrent delivery of the same message won the insert: this transaction rolls back. */
class DuplicateDelivery extends Error {}

/**
 * The one inbound pipeline (R13, R24). In one transaction: finds the contact by channel identity,
 * then by phone, or creates it; finds or reopens the conversation; stores the message once per
 * provider message id; then routes it (R23): the chat's open ticket takes it (a solved one is
 * reopened, a digit after a rating request is the rating), else the contact's open lead, else an
 * existing client's message opens a ticket, else a lead is opened (routed to a manager) unless an
 * open deal holds the contact. After commit the people concerned are told in Telegram. The
 * manager's own message in a Telegram Business chat is stored as theirs and only answers the ticket.
 */
export async function ingestInboundMessage(ctx: ServiceContext, msg: InboundMessage, opts: IngestOptions = {}): Promise<IngestResult> {
  const m = parseInput(inboundSchema, msg);
  const phone = m.phone ? normalizePhone(m.phone) : null;
  const at = m.at ?? ctx.clock.now();

  let files: StoredAttachment[] = [];
  if (m.attachments?.length) {
    if (!opts.attachmentsDir) throw new Error('ingestInboundMessage: attachmentsDir is needed to store attachments');
    // a redelivered file is not written again
    const seen = await findStored(ctx, m.channel, m.providerMessageId);
    if (seen) return seen;
    // written before the transaction: a rollback may leave an unused file, never a row without its file
    files = await saveAttachments(opts.attachmentsDir, m.channel, at, m.attachments);
  }

  try {
    return await inTransaction(ctx, async (tx) => {
      // one client's messages (and one phone's channels) are taken in turn, so two first
      // messages at once make one contact and one lead, not two. A redelivery is found by the
      // message insert below, which rolls all of this back.
      await lockKeys(tx, `inbound:${m.channel}:${m.externalUserId}`, phone ? `inbound:phone:${phone}` : undefined);

      const resolved = await resolveContact(tx, m, phone);
      let contact = resolved.contact;
      const createdContact = resolved.createdContact;
      // the phone proves this account and any other contact with it are one person; asked only when
      // the phone is new to the account (a steady WhatsApp chat carries its number on every message)
      if (phone && resolved.phoneJoined) {
        const survivorId = await mergeContactsSharingPhone(tx, contact.id, phone);
        if (survivorId !== contact.id) [contact] = (await tx.db.select().from(contacts).where(eq(contacts.id, survivorId))) as [Contact];
      }
      const now = tx.clock.now();
      // the chat first: what it holds now (its ticket, its lead) decides where the message goes
      const business = m.business ? { businessConnectionId: m.business.connectionId, businessUserId: m.business.userId } : {};
      const [conv] = await tx.db
        .insert(conversations)
        .values({
          channel: m.channel,
          contactId: contact.id,
          externalChatId: m.externalChatId,
          status: 'open',
          lastMessageAt: at,
          createdAt: now,
          ...business,
        })
        .onConflictDoUpdate({
          target: [conversations.channel, conversations.externalChatId],
          set: { status: 'open', lastMessageAt: sql`greatest(${conversations.lastMessageAt}, excluded.last_message_at)`, ...business },
        })
        .returning({ id: conversations.id, leadId: conversations.leadId, ticketId: conversations.ticketId });
      const chat = conv!;

      // the manager's own message in their Telegram (Business): theirs, opens nothing, answers the ticket
      if (m.outgoing) {
        const current = await chatTicket(tx, chat.ticketId);
        const ticketId = current && openTicketStatuses.includes(current.status) ? current.id : null;
        const row = await insertMessage(tx, m, chat.id, at, files, { direction: 'out', ticketId, authorUserId: m.outgoing.authorUserId });
        if (ticketId) await ticketAnswered(tx, ticketId, at);
        return { messageId: row.id, conversationId: chat.id, contactId: contact.id, leadId: chat.leadId, ticketId, duplicate: false, createdContact, createdLead: false, createdTicket: false };
      }

      // R23: the chat's ticket first — open: the message joins it; solved or closed with a rating
      // asked: a digit is the rating; solved: the client's message reopens it
      const current = await chatTicket(tx, chat.ticketId);
      let ticket: Ticket | null = null;
      let ratedOnly = false;
      if (current && openTicketStatuses.includes(current.status)) {
        ticket = await clientWroteOnTicket(tx, current);
      } else if (current && (current.status === 'solved' || current.status === 'closed') && current.ratingRequestedAt && parseRating(m.text) !== null) {
        // a digit after the rating request is a rating, the first or a repeated one (a button pressed
        // again, a second digit): stored once, it joins the ticket and reopens nothing
        await ratingFromMessage(tx, current, m.text);
        ticket = current;
        ratedOnly = true;
      } else if (current?.status === 'solved') {
        ticket = await clientWroteOnTicket(tx, current);
      }

      let open: Awaited<ReturnType<typeof openLeadOrDeal>> = { lead: null, deal: null };
      let lead: OpenLead | null = null;
      let createdLead = false;
      let createdTicket = false;
      if (!ticket) {
        open = await openLeadOrDeal(tx, contact.id);
        lead = open.lead;
        if (!lead && (await existingClient(tx, contact.id))) {
          // an existing client's request is a ticket, not a sale: the chat's messages join it from now on
          ticket = await openTicket(tx, {
            subject: subjectFromText(m.text, m.channel),
            channel: m.channel,
            contactId: contact.id,
            conversationId: chat.id,
            assigneeId: m.business?.userId,
            history: `Обращение открыто: сообщение в ${channelLabel[m.channel]}`,
          });
          createdTicket = true;
          await tx.db.update(conversations).set({ ticketId: ticket.id }).where(eq(conversations.id, chat.id));
          open = { lead: null, deal: null };
        } else if (!lead && !open.deal) {
          // a business chat is the manager's own: what it opens is theirs
          const responsibleId = m.business ? await activeUserId(tx, m.business.userId) : null;
          const created = await createLead(tx, {
            title: `${channelLabel[m.channel]}: ${contact.name}`,
            source: m.channel,
            contactId: contact.id,
            ...(responsibleId ? { responsibleId } : {}),
          });
          lead = { id: created.id, title: created.title, responsibleId: created.responsibleId, participants: [] };
          createdLead = true;
        }
        if (lead && lead.id !== chat.leadId) await tx.db.update(conversations).set({ leadId: lead.id }).where(eq(conversations.id, chat.id));
      }

      const row = await insertMessage(tx, m, chat.id, at, files, { direction: 'in', ticketId: ticket?.id ?? null, authorUserId: null });
      const ids = { conversationId: chat.id, messageId: row.id, dedupeKey: `message:${row.id}` };

      if (ticket) {
        // a rating is thanked for and told by ratingFromMessage; any other message is the assignee's to answer
        if (!ratedOnly) {
          const names = await ticketClientNames(tx, ticket.contactId, ticket.counterpartyId);
          await announceTicket(tx, ticket, createdTicket ? 'new_ticket' : 'client_message', ticketNoticeText(ticket, names, m.text, files.length), ids);
        }
      } else {
        const facts = {
          channel: m.channel,
          contactName: contact.name,
          phone: phone ?? contact.phones[0] ?? null,
          leadId: lead?.id ?? null,
          leadTitle: lead?.title ?? null,
          dealId: open.deal?.id ?? null,
          dealTitle: open.deal?.title ?? null,
          conversationId: chat.id,
          text: m.text ?? null,
          attachments: files.length,
        };
        // createLead has told the responsible about a new lead (kind new_lead); every message,
        // the first included, is a client_message the manager can answer by replying to it
        const notes: Notification[] = [];
        const text = clientMessageText(facts);
        for (const userId of await requestRecipients(tx, { lead, deal: open.deal })) {
          notes.push({ kind: 'client_message', userId, text, leadId: lead?.id, ...ids });
        }
        await notify(tx, notes);
      }

      return {
        messageId: row.id,
        conversationId: chat.id,
        contactId: contact.id,
        leadId: ticket ? chat.leadId : (lead?.id ?? null),
        duplicate: false,
        createdContact,
        createdLead,
        ticketId: ticket?.id ?? null,
        createdTicket,
      };
    });
  } catch (err) {
    if (!(err instanceof DuplicateDelivery)) throw err;
    const stored = await findStored(ctx, m.channel, m.providerMessageId);
    if (!stored) throw new Error('a duplicate delivery was reported but the first one is not stored');
    return stored;
  }
}

async function findStored(ctx: ServiceContext, channel: InboundMessage['channel'], providerMessageId: string): Promise<IngestResult | null> {
  const [row] = await ctx.db
    .select({ id: messages.id, conversationId: messages.conversationId, contactId: conversations.contactId, leadId: conversations.leadId, ticketId: messages.ticketId })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(eq(messages.channel, channel), eq(messages.providerMessageId, providerMessageId)));
  if (!row) return null;
  return {
    messageId: row.id,
    conversationId: row.conversationId,
    contactId: row.contactId,
    leadId: row.leadId,
    ticketId: row.ticketId,
    duplicate: true,
    createdContact: false,
    createdLead: false,
    createdTicket: false,
  };
}

type Inbound = z.infer<typeof inboundSchema>;

/** Stores the message once per provider message id; a redelivery rolls the whole transaction back. */
async function insertMessage(
  tx: ServiceContext,
  m: Inbound,
  conversationId: number,
  at: Date,
  files: StoredAttachment[],
  how: { direction: 'in' | 'out'; ticketId: number | null; authorUserId: number | null },
): Promise<{ id: number }> {
  const [row] = await tx.db
    .insert(messages)
    .values({
      conversationId,
      channel: m.channel,
      direction: how.direction,
      providerMessageId: m.providerMessageId,
      text: m.text ?? null,
      attachments: files,
      at,
      ticketId: how.ticketId,
      // the manager's own message has already reached the client
      ...(how.direction === 'out' ? { authorUserId: how.authorUserId, deliveryStatus: 'sent' } : {}),
    })
    .onConflictDoNothing({ target: [messages.channel, messages.providerMessageId] })
    .returning({ id: messages.id });
  if (!row) throw new DuplicateDelivery();
  return row;
}

/** R8: the account on this channel, else the same phone on any channel or import, else a new contact. */
async function resolveContact(
  tx: ServiceContext,
  m: Inbound,
  phone: string | null,
): Promise<{ contact: Contact; createdContact: boolean; /** the phone was linked to this account just now */ phoneJoined: boolean }> {
  const [known] = await tx.db
    .select({ c: contacts })
    .from(contactIdentities)
    .innerJoin(contacts, eq(contacts.id, contactIdentities.contactId))
    .where(and(eq(contactIdentities.channel, m.channel), eq(contactIdentities.externalId, m.externalUserId)));
  if (known) {
    const contact = await survivor(tx, known.c);
    if (!phone || contact.phones.includes(phone)) return { contact, createdContact: false, phoneJoined: false };
    return { contact: await addPhone(tx, contact, phone), createdContact: false, phoneJoined: true };
  }
  const byPhone = phone ? await findContactByPhone(tx, phone) : null;
  const now = tx.clock.now();
  let contact = byPhone;
  if (!contact) {
    const name = m.name || (phone ? formatPhone(phone) : `${channelLabel[m.channel]} ${m.externalUserId.slice(0, 24)}`);
    const [row] = await tx.db
      .insert(contacts)
      .values({ name, phones: phone ? [phone] : [], createdAt: now, updatedAt: now })
      .returning();
    contact = row!;
    await audit(tx, 'create', 'contact', contact.id, created({ name, phones: contact.phones, channel: m.channel }));
    await recordHistory(tx, 'contact', contact.id, 'created', `Контакт создан: первое сообщение в ${channelLabel[m.channel]}`);
  }
  await tx.db
    .insert(contactIdentities)
    .values({ contactId: contact.id, channel: m.channel, externalId: m.externalUserId, displayName: m.name ?? null, createdAt: now })
    .onConflictDoNothing();
  if (byPhone) {
    await recordHistory(tx, 'contact', contact.id, 'identity_added', `Найден по телефону: добавлен аккаунт ${channelLabel[m.channel]}`);
  }
  // found by phone: other contacts may hold it too (an import, a typed-in lead); a new one holds it alone
  return { contact, createdContact: !byPhone, phoneJoined: !!byPhone };
}

/** A merged-away contact's messages go to the one it was merged into. */
async function survivor(tx: ServiceContext, contact: Contact): Promise<Contact> {
  let c = contact;
  for (let hops = 0; c.mergedIntoId && hops < 10; hops++) {
    const [next] = await tx.db.select().from(contacts).where(eq(contacts.id, c.mergedIntoId));
    if (!next) break;
    c = next;
  }
  return c;
}

/** A phone the channel vouches for (a shared Telegram contact, a WhatsApp number) joins the contact's phones. */
async function addPhone(tx: ServiceContext, contact: Contact, phone: string): Promise<Contact> {
  if (contact.phones.includes(phone)) return contact;
  const [after] = await tx.db
    .update(contacts)
    .set({ phones: sql`array_append(${contacts.phones}, ${phone})`, updatedAt: tx.clock.now() })
    .where(eq(contacts.id, contact.id))
    .returning();
  await audit(tx, 'update', 'contact', contact.id, { phones: { from: contact.phones, to: after!.phones } });
  return after!;
}
