import { eq, sql } from 'drizzle-orm';
import type { StorageAdapter } from 'grammy';
import type { Db } from '../../core/db/client.js';
import { telegramSessions } from '../../core/db/schema/index.js';
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

/** Remembers which conversation a sent notification belongs to (last 200 per chat). */
export async function rememberReplyTarget(db: Db, chatId: number, messageId: number, conversationId: number): Promise<void> {
  const storage = dbSessionStorage(db);
  const data = (await storage.read(String(chatId))) ?? {};
  const targets = { ...(data.replyTargets ?? {}), [String(messageId)]: conversationId };
  const keys = Object.keys(targets);
  for (const k of keys.slice(0, Math.max(0, keys.length - 200))) delete targets[k];
  await storage.write(String(chatId), { ...data, replyTargets: targets });
}
