import { and, eq, sql } from 'drizzle-orm';
import type { StorageAdapter } from 'grammy';
import type { Db } from '../../core/db/client.js';
import { telegramReplyTargets, telegramSessions } from '../../core/db/schema/index.js';
import type { SessionData } from './context.js';

/** Dialogue state in the database, so any process can continue a chat's dialogue. */
export function dbSessionStorage(db: Db): StorageAdapter<SessionData> {
  return {
    async read(key) {
      const [row] = await db.select({ data: telegramSessions.data }).from(telegramSessions).where(eq(telegramSessions.chatId, Number(key)));
      return (row?.data as SessionData | undefined) ?? undefined;
    },
    async write(key, value) {
      await db
        .insert(telegramSessions)
        .values({ chatId: Number(key), data: value as Record<string, unknown> })
        .onConflictDoUpdate({ target: telegramSessions.chatId, set: { data: value as Record<string, unknown>, updatedAt: sql`now()` } });
    },
    async delete(key) {
      await db.delete(telegramSessions).where(eq(telegramSessions.chatId, Number(key)));
    },
  };
}

/** Remembers which conversation a sent notification belongs to. */
export async function rememberReplyTarget(db: Db, chatId: number, messageId: number, conversationId: number): Promise<void> {
  await db.insert(telegramReplyTargets).values({ chatId, messageId, conversationId }).onConflictDoNothing();
}

/** The conversation behind a notification the manager replied to, if any. */
export async function findReplyTarget(db: Db, chatId: number, messageId: number): Promise<number | undefined> {
  const [row] = await db
    .select({ id: telegramReplyTargets.conversationId })
    .from(telegramReplyTargets)
    .where(and(eq(telegramReplyTargets.chatId, chatId), eq(telegramReplyTargets.messageId, messageId)));
  return row?.id;
}
