import { sql } from 'drizzle-orm';
import type { AttachmentKind } from '../../channels/types.js';
import { bigserial, index, integer, jsonb, pgEnum, pgTable, serial, text, timestamp, unique, uniqueIndex, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { channelKind, contacts } from './contacts.js';
import { counterparties } from './counterparties.js';
import { deals, leads } from './leads.js';
import { mailboxes } from './mailing.js';
import { users } from './users.js';
import { phoneLines, phoneProvider } from './telephony.js';
import { tickets } from './helpdesk.js';

export const entityType = pgEnum('entity_type', ['counterparty', 'contact', 'lead', 'deal', 'work', 'user', 'segment', 'plan', 'api_key', 'mailing_type', 'mailbox', 'organization', 'product', 'document_template', 'loss_reason', 'phone_line', 'call_rule', 'ticket', 'answer_template', 'helpdesk_settings']);

/**
 * Events on a record's timeline that are not rows of their own elsewhere: created, status or stage
 * changed, assigned, merged, participant added. Works, messages, calls and e-mails join the
 * history from their own tables.
 */
export const historyEvents = pgTable(
  'history_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    entityType: entityType('entity_type').notNull(),
    entityId: integer('entity_id').notNull(),
    kind: text('kind').notNull(),
    summary: text('summary').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    actorUserId: integer('actor_user_id').references(() => users.id),
    actorLabel: text('actor_label').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('history_events_entity_idx').on(t.entityType, t.entityId, t.at)],
);

/** «Заметка»: a comment on any record, by its author; shown in the record's history (R12). */
export const notes = pgTable(
  'notes',
  {
    id: serial('id').primaryKey(),
    entityType: entityType('entity_type').notNull(),
    entityId: integer('entity_id').notNull(),
    text: text('text').notNull(),
    authorUserId: integer('author_user_id').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }),
  },
  (t) => [index('notes_entity_idx').on(t.entityType, t.entityId, t.createdAt)],
);

/** Who changed what: one row per write, with the changed fields before and after. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    actorUserId: integer('actor_user_id').references(() => users.id),
    actorLabel: text('actor_label').notNull(),
    action: text('action').notNull(),
    entityType: entityType('entity_type').notNull(),
    entityId: integer('entity_id').notNull(),
    changes: jsonb('changes').$type<Record<string, { from: unknown; to: unknown }>>().notNull().default({}),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_log_entity_idx').on(t.entityType, t.entityId), index('audit_log_actor_idx').on(t.actorUserId, t.at)],
);

export const conversationStatus = pgEnum('conversation_status', ['open', 'closed']);

/** A chat with a contact on one messenger. */
export const conversations = pgTable(
  'conversations',
  {
    id: serial('id').primaryKey(),
    channel: channelKind('channel').notNull(),
    contactId: integer('contact_id').notNull().references(() => contacts.id),
    /** the contact's id on the channel (chat id, phone@c.us, Viber user id) */
    externalChatId: text('external_chat_id').notNull(),
    leadId: integer('lead_id').references(() => leads.id),
    /** R23: the ticket the chat's messages join now (an existing client's request) */
    ticketId: integer('ticket_id').references((): AnyPgColumn => tickets.id),
    /** Telegram Business: the connection of the manager's own account this chat runs through */
    businessConnectionId: text('business_connection_id'),
    /** Telegram Business: the manager whose own account this chat is (the responsible for what it opens) */
    businessUserId: integer('business_user_id').references(() => users.id),
    status: conversationStatus('status').notNull().default('open'),
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('conversations_contact_idx').on(t.contactId), unique('conversations_channel_chat_uq').on(t.channel, t.externalChatId)],
);

export const messageDirection = pgEnum('message_direction', ['in', 'out']);

export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    conversationId: integer('conversation_id').notNull().references(() => conversations.id),
    channel: channelKind('channel').notNull(),
    direction: messageDirection('direction').notNull(),
    /** the provider's id: a retried delivery is stored once */
    providerMessageId: text('provider_message_id'),
    text: text('text'),
    attachments: jsonb('attachments').$type<{ path: string; name: string; mime: string; size: number; kind?: AttachmentKind }[]>().notNull().default([]),
    authorUserId: integer('author_user_id').references(() => users.id),
    deliveryStatus: text('delivery_status'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** R23: the ticket this message belongs to */
    ticketId: integer('ticket_id').references((): AnyPgColumn => tickets.id),
    /** buttons offered with an outgoing message (a rating request: 1–5); a channel without buttons shows the labels */
    choices: jsonb('choices').$type<{ label: string; value: string }[]>(),
    /** the sender edited it (Telegram Business); text is the latest version */
    editedAt: timestamp('edited_at', { withTimezone: true }),
    /** the sender deleted it in the messenger (Telegram Business); kept for the record, shown as deleted */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [index('messages_ticket_idx').on(t.ticketId), unique('messages_channel_provider_uq').on(t.channel, t.providerMessageId), index('messages_conversation_idx').on(t.conversationId, t.at)],
);

/**
 * A call's state while it lasts (ringing, talking) and, once over, how it went. One column, so a
 * call is never "ended" and "ringing" at once whatever order the provider's events come in.
 */
export const callStatuses = ['ringing', 'talking', 'answered', 'missed', 'no_answer', 'busy', 'failed'] as const;
export type CallStatus = (typeof callStatuses)[number];

export const calls = pgTable(
  'calls',
  {
    id: serial('id').primaryKey(),
    direction: messageDirection('direction').notNull(),
    fromNumber: text('from_number').notNull(),
    toNumber: text('to_number').notNull(),
    /** the client's number (E.164 when it parses): from_number of an incoming call, to_number of an outgoing one */
    clientNumber: text('client_number'),
    contactId: integer('contact_id').references(() => contacts.id),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    leadId: integer('lead_id').references(() => leads.id),
    dealId: integer('deal_id').references(() => deals.id),
    /** who has the call: chosen by the rules while it rings, then whoever answered or placed it */
    userId: integer('user_id').references(() => users.id),
    provider: phoneProvider('provider'),
    lineId: integer('line_id').references(() => phoneLines.id, { onDelete: 'set null' }),
    /** the provider's id of the whole call (Mango entry_id, Kazoo's first leg): repeated events find the row */
    providerCallId: text('provider_call_id'),
    /** the provider's id of the leg a command acts on (Mango call_id, Kazoo call_id) */
    legId: text('leg_id'),
    /** our id of a click-to-call request: the provider's first event for it finds the row made at the click */
    commandId: text('command_id').unique(),
    status: text('status').$type<CallStatus>().notNull().default('answered'),
    durationSec: integer('duration_sec').notNull().default(0),
    disconnectReason: text('disconnect_reason'),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    /** the work «Перезвонить» made for a missed call (made once) */
    followUpWorkId: integer('follow_up_work_id'),
    recordingId: text('recording_id'),
    /** null: none; pending: a job fetches it; stored: recording_path holds it; failed */
    recordingStatus: text('recording_status').$type<'pending' | 'stored' | 'failed'>(),
    recordingPath: text('recording_path'),
    recordingMime: text('recording_mime'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('calls_provider_call_uq').on(t.provider, t.providerCallId),
    index('calls_contact_idx').on(t.contactId),
    index('calls_counterparty_idx').on(t.counterpartyId),
    index('calls_lead_idx').on(t.leadId),
    index('calls_deal_idx').on(t.dealId),
    index('calls_user_at_idx').on(t.userId, t.at),
    index('calls_client_number_idx').on(t.clientNumber),
  ],
);

export const emailDirection = pgEnum('email_direction', ['incoming', 'outgoing']);

export const emails = pgTable(
  'emails',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    direction: emailDirection('direction').notNull(),
    messageId: text('message_id'),
    subject: text('subject').notNull().default(''),
    fromAddress: text('from_address').notNull(),
    toAddresses: text('to_addresses').array().notNull(),
    bodyText: text('body_text'),
    contactId: integer('contact_id').references(() => contacts.id),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    leadId: integer('lead_id').references(() => leads.id),
    dealId: integer('deal_id').references(() => deals.id),
    status: text('status').notNull().default('received'),
    authorUserId: integer('author_user_id').references(() => users.id),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    // e-mail import and sending (issue 6)
    mailboxId: integer('mailbox_id').references(() => mailboxes.id, { onDelete: 'set null' }),
    ccAddresses: text('cc_addresses').array().notNull().default(sql`'{}'::text[]`),
    inReplyTo: text('in_reply_to'),
    /** the References header's Message-IDs, oldest first */
    references: text('reference_ids').array().notNull().default(sql`'{}'::text[]`),
    /** letters of one conversation share it: the Message-ID of the thread's first letter */
    threadKey: text('thread_key'),
    /** files kept under DATA_DIR; path is relative to it */
    attachments: jsonb('attachments').$type<{ path: string; name: string; mime: string; size: number }[]>().notNull().default([]),
    /** why sending failed, in Russian */
    error: text('error'),
    /** R23: the ticket this letter belongs to */
    ticketId: integer('ticket_id').references((): AnyPgColumn => tickets.id),
  },
  (t) => [
    index('emails_contact_idx').on(t.contactId),
    index('emails_counterparty_idx').on(t.counterpartyId),
    index('emails_lead_idx').on(t.leadId),
    // stored once per mailbox and Message-ID, so re-running an import adds nothing
    uniqueIndex('emails_mailbox_message_uq').on(t.mailboxId, t.messageId),
    index('emails_thread_idx').on(t.threadKey),
    index('emails_message_id_idx').on(t.messageId),
    index('emails_ticket_idx').on(t.ticketId),
  ],
);
