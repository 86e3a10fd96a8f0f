import { bigint, jsonb, pgTable, timestamp } from 'drizzle-orm/pg-core';

/**
 * The Telegram bot's per-chat state (a guided dialogue in progress, the conversation a reply
 * goes to). Kept in the database so any bot or web process can continue a dialogue.
 */
export const telegramSessions = pgTable('telegram_sessions', {
  chatId: bigint('chat_id', { mode: 'number' }).primaryKey(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
