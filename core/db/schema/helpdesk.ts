import { sql } from 'drizzle-orm';
import { bigint, boolean, date, index, integer, pgEnum, pgTable, serial, smallint, text, timestamp } from 'drizzle-orm/pg-core';
import { contacts } from './contacts.js';
import { counterparties } from './counterparties.js';
import { conversations } from './activity.js';
import { leads } from './leads.js';
import { mailboxes } from './mailing.js';
import { users } from './users.js';

/** R23: where a ticket came from. `manual`: typed in by a manager (a phone call, a visit). */
export const ticketChannel = pgEnum('ticket_channel', ['telegram', 'whatsapp', 'viber', 'email', 'manual']);
export const ticketPriority = pgEnum('ticket_priority', ['low', 'normal', 'high', 'urgent']);
/** Новое → В работе → Ждём клиента → Решено → Закрыто; a client's reply reopens a solved one */
export const ticketStatus = pgEnum('ticket_status', ['new', 'in_progress', 'waiting', 'solved', 'closed']);

/**
 * «Обращение» (R23): an existing client's request and its answer. The number is the id. The
 * conversation is the messages (messages.ticket_id) and letters (emails.ticket_id) tied to it.
 * SLA due times are absolute instants computed from working hours when the ticket opens (and when
 * its priority changes); the warned/breached stamps make each notice go once.
 */
export const tickets = pgTable(
  'tickets',
  {
    id: serial('id').primaryKey(),
    subject: text('subject').notNull(),
    contactId: integer('contact_id').references(() => contacts.id),
    counterpartyId: integer('counterparty_id').references(() => counterparties.id),
    channel: ticketChannel('channel').notNull(),
    /** the messenger chat it runs in (messenger tickets) */
    conversationId: integer('conversation_id').references(() => conversations.id),
    /** the mailbox and thread it runs in (e-mail tickets): replies go out from this mailbox, in this thread */
    mailboxId: integer('mailbox_id').references(() => mailboxes.id, { onDelete: 'set null' }),
    emailThreadKey: text('email_thread_key'),
    priority: ticketPriority('priority').notNull().default('normal'),
    status: ticketStatus('status').notNull().default('new'),
    assigneeId: integer('assignee_id').references(() => users.id),
    /** the lead it was turned from, or the lead it was turned into */
    leadId: integer('lead_id').references(() => leads.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** the first answer the client got (a reply from the CRM or the manager's own Telegram) */
    firstResponseAt: timestamp('first_response_at', { withTimezone: true }),
    solvedAt: timestamp('solved_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** when «Ждём клиента» began: it closes itself after the set time */
    waitingSince: timestamp('waiting_since', { withTimezone: true }),
    firstResponseDueAt: timestamp('first_response_due_at', { withTimezone: true }),
    firstResponseWarnAt: timestamp('first_response_warn_at', { withTimezone: true }),
    resolutionDueAt: timestamp('resolution_due_at', { withTimezone: true }),
    resolutionWarnAt: timestamp('resolution_warn_at', { withTimezone: true }),
    /** working minutes left to the resolution target when «Ждём клиента» paused it */
    resolutionPausedMinutes: integer('resolution_paused_minutes'),
    firstResponseWarnedAt: timestamp('first_response_warned_at', { withTimezone: true }),
    firstResponseBreachedAt: timestamp('first_response_breached_at', { withTimezone: true }),
    resolutionWarnedAt: timestamp('resolution_warned_at', { withTimezone: true }),
    resolutionBreachedAt: timestamp('resolution_breached_at', { withTimezone: true }),
    /** 1–5, the client's rating of the answer after «Решено» */
    rating: smallint('rating'),
    ratedAt: timestamp('rated_at', { withTimezone: true }),
    /** when the client was asked to rate (once per solving) */
    ratingRequestedAt: timestamp('rating_requested_at', { withTimezone: true }),
  },
  (t) => [
    index('tickets_status_idx').on(t.status, t.id),
    index('tickets_assignee_idx').on(t.assigneeId, t.status),
    index('tickets_counterparty_idx').on(t.counterpartyId),
    index('tickets_contact_idx').on(t.contactId),
    index('tickets_conversation_idx').on(t.conversationId),
    index('tickets_thread_idx').on(t.emailThreadKey),
    index('tickets_created_idx').on(t.createdAt),
  ],
);

/** SLA targets per priority, in working minutes (null: no target). */
export const slaPolicies = pgTable('sla_policies', {
  priority: ticketPriority('priority').primaryKey(),
  firstResponseMinutes: integer('first_response_minutes'),
  resolutionMinutes: integer('resolution_minutes'),
});

/**
 * HelpDesk settings, one row (id = 1): the working calendar (ISO weekdays 1–7 and hours, read in
 * the assignee's time zone), how early the assignee is warned, when «Ждём клиента» closes itself.
 */
export const helpdeskSettings = pgTable('helpdesk_settings', {
  id: integer('id').primaryKey().default(1),
  workDays: integer('work_days').array().notNull().default(sql`'{1,2,3,4,5}'::int[]`),
  /** minutes from midnight */
  dayStartMinute: integer('day_start_minute').notNull().default(9 * 60),
  dayEndMinute: integer('day_end_minute').notNull().default(18 * 60),
  /** the assignee is told when this share of the target (percent) has passed */
  warnAtPercent: integer('warn_at_percent').notNull().default(80),
  /** «Ждём клиента» → «Закрыто» after this many hours without the client's answer */
  waitingCloseHours: integer('waiting_close_hours').notNull().default(72),
  /** «Решено» → «Закрыто» after this many hours unless the client writes again */
  solvedCloseHours: integer('solved_close_hours').notNull().default(168),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Exceptions to the weekly calendar: holidays (working = false) and moved working days (true). */
export const calendarDays = pgTable('calendar_days', {
  day: date('day', { mode: 'string' }).primaryKey(),
  working: boolean('working').notNull(),
  note: text('note'),
});

/** «Шаблоны ответов»: texts with {{placeholders}}, for the panel and the bot. */
export const answerTemplates = pgTable('answer_templates', {
  id: serial('id').primaryKey(),
  title: text('title').notNull(),
  body: text('body').notNull(),
  active: boolean('active').notNull().default(true),
  sortOrder: integer('sort_order').notNull().default(0),
  createdBy: integer('created_by').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The support queue: users who take, in turn, tickets of clients without a responsible. */
export const supportQueue = pgTable('support_queue', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** the last ticket given to this user from the queue: the one waiting longest takes the next */
  lastAssignedAt: timestamp('last_assigned_at', { withTimezone: true }),
});

/**
 * Telegram Business: a manager's own Telegram account connected to the CRM's bot. The connection
 * id comes from Telegram; `user_id` is the CRM user whose linked Telegram owns the account.
 */
export const businessConnections = pgTable(
  'business_connections',
  {
    id: text('id').primaryKey(),
    telegramUserId: bigint('telegram_user_id', { mode: 'number' }).notNull(),
    /** the private chat of the owner with the bot (for notices) */
    userChatId: bigint('user_chat_id', { mode: 'number' }).notNull(),
    userId: integer('user_id').references(() => users.id),
    canReply: boolean('can_reply').notNull().default(false),
    enabled: boolean('enabled').notNull().default(true),
    connectedAt: timestamp('connected_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('business_connections_owner_idx').on(t.telegramUserId)],
);
