import { bigint, integer, jsonb, pgTable, primaryKey, timestamp } from 'drizzle-orm/pg-core';

/**
 * The Telegram bot's per-chat state (a guided dialogue in progress, the conversation a reply
 * goes to). Kept in the database so any bot or web process can continue a dialogue.
 */
export const telegramSessions = pgTable('telegram_sessions', {
  chatId: bigint('chat_id', { mode: 'number' }).primaryKey(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Which client conversation a notification sent to a manager belongs to, so that a Telegram reply
 * to it reaches the client. A table of its own: the chat's session is rewritten by every update.
 */
export const telegramReplyTargets = pgTable(
  'telegram_reply_targets',
  {
    chatId: bigint('chat_id', { mode: 'number' }).notNull(),
    messageId: bigint('message_id', { mode: 'number' }).notNull(),
    conversationId: integer('conversation_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.messageId] })],
);
