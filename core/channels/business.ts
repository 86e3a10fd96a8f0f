import type { ServiceContext } from '../context.js';
import type { BusinessConnection } from '../helpdesk/types.js';

// CONTRACT (helper F owns this file).

/** Keys of a business chat: apart from the bot's own chat with the same person (same Telegram chat id). */
export const businessChatKey = (ownerTelegramId: number, chatId: number) => `biz:${ownerTelegramId}:${chatId}`;
export const businessMessageKey = (ownerTelegramId: number, chatId: number, messageId: number) => `biz:${ownerTelegramId}:${chatId}:${messageId}`;
/** the Telegram chat id inside a business chat key, or null for any other key */
export function businessChatId(key: string): number | null {
  const m = /^biz:-?\d+:(-?\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
}

/**
 * A `business_connection` update: stored (the owner's CRM user found by their linked Telegram id),
 * and the manager told what changed (connected, rights, lost). Idempotent for a repeated update.
 */
export async function recordBusinessConnection(
  ctx: ServiceContext,
  c: { id: string; telegramUserId: number; userChatId: number; canReply: boolean; enabled: boolean; date: Date },
): Promise<BusinessConnection> {
  void [ctx, c];
  throw new Error('not implemented');
}

/** The connection, when it is enabled and its owner is a CRM user. */
export async function activeBusinessConnection(ctx: ServiceContext, id: string): Promise<(BusinessConnection & { userId: number }) | null> {
  void [ctx, id];
  throw new Error('not implemented');
}

/** An edited business message: the stored text follows, the edit time is kept. Unknown ids are ignored. */
export async function recordMessageEdit(ctx: ServiceContext, providerMessageId: string, text: string | null, at: Date): Promise<boolean> {
  void [ctx, providerMessageId, text, at];
  throw new Error('not implemented');
}

/** Deleted business messages: marked deleted (kept for the record). Returns how many were known. */
export async function recordMessageDeletion(ctx: ServiceContext, providerMessageIds: string[]): Promise<number> {
  void [ctx, providerMessageIds];
  throw new Error('not implemented');
}

/** For «Интеграции»: every connection with its manager's name, newest first (admin). */
export async function listBusinessConnections(ctx: ServiceContext): Promise<(BusinessConnection & { userName: string | null })[]> {
  void ctx;
  throw new Error('not implemented');
}
