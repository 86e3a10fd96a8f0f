import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { businessConnections, messages, users } from '../db/schema/index.js';
import type { BusinessConnection } from '../helpdesk/types.js';
import { notify } from '../notifications/notify.js';
import { requireRole } from '../access/scope.js';
import { findUserByTelegramId } from '../users/users.js';

/** Keys of a business chat: apart from the bot's own chat with the same person (same Telegram chat id). */
export const businessChatKey = (ownerTelegramId: number, chatId: number) => `biz:${ownerTelegramId}:${chatId}`;
export const businessMessageKey = (ownerTelegramId: number, chatId: number, messageId: number) => `biz:${ownerTelegramId}:${chatId}:${messageId}`;
/** the Telegram chat id inside a business chat key, or null for any other key */
export function businessChatId(key: string): number | null {
  const m = /^biz:-?\d+:(-?\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
}

/** What the manager is told about their connection (kept here so the panel and tests read the same words). */
export const businessTexts = {
  connected: 'Telegram Business подключён: ваши личные чаты с клиентами теперь попадают в CRM, а ответы из CRM уходят клиентам от вашего имени.',
  noReply:
    'Telegram Business подключён, но бот не может отвечать от вашего имени: включите право “Отвечать на сообщения” в Telegram → Настройки → Telegram для бизнеса → Чат-боты. Сообщения клиентов уже попадают в CRM, а ответы из CRM не уйдут, пока право выключено.',
  disconnected: 'Telegram Business отключён: личные чаты больше не попадают в CRM, и ответы из CRM в них не уходят. Чтобы вернуть, снова подключите бота в Telegram → Настройки → Telegram для бизнеса → Чат-боты.',
  unlinked: 'Чтобы личные чаты попадали в CRM, сначала привяжите Telegram к CRM: /start <код> (код привязки выдаёт администратор CRM).',
} as const;

/** Why a CRM reply cannot go out through a connection (the send failure's reason). */
export const businessSendReasons = {
  disabled: 'Telegram Business отключён у менеджера',
  noReply: 'нет права отвечать: менеджер не включил боту право “Отвечать на сообщения” в Telegram для бизнеса',
} as const;

type ConnectionState = Pick<BusinessConnection, 'enabled' | 'canReply' | 'userId'>;
const sameState = (a: ConnectionState, b: ConnectionState) => a.enabled === b.enabled && a.canReply === b.canReply && a.userId === b.userId;

/**
 * A `business_connection` update: stored (the owner's CRM user found by their linked Telegram id),
 * and the manager told what changed (connected, rights, lost). Idempotent for a repeated update.
 * `botMessage` is what the bot itself must say in the owner's chat with it (core has no Bot API):
 * set for an owner whose Telegram is not linked to a CRM user, who cannot get notifications.
 */
export async function recordBusinessConnection(
  ctx: ServiceContext,
  c: { id: string; telegramUserId: number; userChatId: number; canReply: boolean; enabled: boolean; date: Date },
): Promise<BusinessConnection & { botMessage: string | null }> {
  const owner = await findUserByTelegramId(ctx, c.telegramUserId);
  const now = ctx.clock.now();
  return inTransaction(ctx, async (tx) => {
    // one writer per connection: a repeated update waits for the first and then finds nothing changed
    const [fresh] = await tx.db
      .insert(businessConnections)
      .values({ id: c.id, telegramUserId: c.telegramUserId, userChatId: c.userChatId, userId: owner?.id ?? null, canReply: c.canReply, enabled: c.enabled, connectedAt: c.date, updatedAt: now })
      .onConflictDoNothing()
      .returning();
    const [before] = fresh ? [fresh] : await tx.db.select().from(businessConnections).where(eq(businessConnections.id, c.id)).for('update');
    const inserted = !!fresh;
    const next = { enabled: c.enabled, canReply: c.canReply, userId: owner?.id ?? null };
    const changed = inserted || !sameState(before!, next);
    let row = before!;
    if (!inserted && changed) {
      [row] = (await tx.db
        .update(businessConnections)
        .set({
          ...next,
          telegramUserId: c.telegramUserId,
          userChatId: c.userChatId,
          // a connection switched on again counts from then
          ...(c.enabled && !before!.enabled ? { connectedAt: c.date } : {}),
          updatedAt: now,
        })
        .where(eq(businessConnections.id, c.id))
        .returning()) as [BusinessConnection];
    }
    if (!changed) return { ...row, botMessage: null };
    if (!owner) return { ...row, botMessage: c.enabled ? businessTexts.unlinked : null };
    const text = !c.enabled ? businessTexts.disconnected : c.canReply ? businessTexts.connected : businessTexts.noReply;
    await notify(tx, { kind: 'business_connection', userId: owner.id, text, dedupeKey: `business:${c.id}:${c.enabled ? (c.canReply ? 'on' : 'noreply') : 'off'}:${c.date.getTime()}` });
    return { ...row, botMessage: null };
  });
}

/** The connection, when it is enabled and its owner is a CRM user. */
export async function activeBusinessConnection(ctx: ServiceContext, id: string): Promise<(BusinessConnection & { userId: number }) | null> {
  const [row] = await ctx.db.select().from(businessConnections).where(eq(businessConnections.id, id));
  if (!row || !row.enabled) return null;
  // the owner may have linked their Telegram after connecting, or been switched off since
  const owner = await findUserByTelegramId(ctx, row.telegramUserId);
  if (!owner) return null;
  if (owner.id !== row.userId) {
    await ctx.db.update(businessConnections).set({ userId: owner.id, updatedAt: ctx.clock.now() }).where(eq(businessConnections.id, id));
  }
  return { ...row, userId: owner.id };
}

/** An edited business message: the stored text follows, the edit time is kept. Unknown ids are ignored. */
export async function recordMessageEdit(ctx: ServiceContext, providerMessageId: string, text: string | null, at: Date): Promise<boolean> {
  const updated = await ctx.db
    .update(messages)
    .set({ text, editedAt: at })
    .where(and(eq(messages.channel, 'telegram'), eq(messages.providerMessageId, providerMessageId)))
    .returning({ id: messages.id });
  return updated.length > 0;
}

/** Deleted business messages: marked deleted (kept for the record). Returns how many were known. */
export async function recordMessageDeletion(ctx: ServiceContext, providerMessageIds: string[]): Promise<number> {
  if (!providerMessageIds.length) return 0;
  const where = and(eq(messages.channel, 'telegram'), inArray(messages.providerMessageId, providerMessageIds));
  // the first deletion's time stays: a repeated update changes nothing
  await ctx.db.update(messages).set({ deletedAt: ctx.clock.now() }).where(and(where, isNull(messages.deletedAt)));
  const known = await ctx.db.select({ id: messages.id }).from(messages).where(where);
  return known.length;
}

/** For «Интеграции»: every connection with its manager's name, newest first (admin). */
export async function listBusinessConnections(ctx: ServiceContext): Promise<(BusinessConnection & { userName: string | null })[]> {
  requireRole(ctx, 'admin');
  const rows = await ctx.db
    .select({ c: businessConnections, userName: users.name })
    .from(businessConnections)
    .leftJoin(users, eq(users.id, businessConnections.userId))
    .orderBy(desc(businessConnections.connectedAt), desc(businessConnections.id));
  return rows.map((r) => ({ ...r.c, userName: r.userName }));
}
