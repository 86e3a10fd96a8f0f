import { and, eq, inArray, sql } from 'drizzle-orm';
import type { ServiceContext } from '../context.js';
import { contacts, conversations, messages } from '../db/schema/index.js';
import { notify } from '../notifications/notify.js';
import { deliveryFailedText, filesNotSentText } from './texts.js';
import type { ChannelKind } from './types.js';

type MessageRow = typeof messages.$inferSelect;

/** Marks an outgoing message failed and tells its author once. */
export async function markFailed(ctx: ServiceContext, m: MessageRow, reason: string, contactName?: string): Promise<void> {
  const [changed] = await ctx.db
    .update(messages)
    .set({ deliveryStatus: 'failed' })
    .where(and(eq(messages.id, m.id), sql`${messages.deliveryStatus} IS DISTINCT FROM 'failed'`))
    .returning({ id: messages.id });
  if (!changed || !m.authorUserId) return;
  let name = contactName;
  if (name === undefined) {
    const [c] = await ctx.db
      .select({ name: contacts.name })
      .from(conversations)
      .innerJoin(contacts, eq(contacts.id, conversations.contactId))
      .where(eq(conversations.id, m.conversationId));
    name = c?.name ?? 'клиент';
  }
  await notify(ctx, {
    kind: 'delivery_failed',
    userId: m.authorUserId,
    text: deliveryFailedText({ channel: m.channel, contactName: name, conversationId: m.conversationId, text: m.text, reason }),
    conversationId: m.conversationId,
    messageId: m.id,
    dedupeKey: `message:${m.id}:failed`,
  });
}

/** The text went out but the files could not (the channel carries none): the author is told why. */
export async function tellFilesNotSent(ctx: ServiceContext, m: MessageRow, contactName: string, reason: string): Promise<void> {
  if (!m.authorUserId) return;
  await notify(ctx, {
    kind: 'files_not_sent',
    userId: m.authorUserId,
    text: filesNotSentText({ channel: m.channel, contactName, conversationId: m.conversationId, files: m.attachments.map((a) => a.name), reason }),
    conversationId: m.conversationId,
    messageId: m.id,
    dedupeKey: `message:${m.id}:files`,
  });
}

/** Later states only move forward: a late «delivered» never hides «seen». */
const before: Record<'delivered' | 'seen', string[]> = {
  delivered: ['queued', 'sent'],
  seen: ['queued', 'sent', 'delivered'],
};

/**
 * A provider's receipt for a message we sent (Viber's delivered/seen/failed callbacks). Unknown
 * ids are ignored: receipts may arrive for messages sent before the CRM knew them.
 */
export async function recordDeliveryStatus(
  ctx: ServiceContext,
  channel: ChannelKind,
  providerMessageId: string,
  status: 'delivered' | 'seen' | 'failed',
  reason = 'мессенджер не смог доставить сообщение',
): Promise<void> {
  if (status === 'failed') {
    const [m] = await ctx.db
      .select()
      .from(messages)
      .where(and(eq(messages.channel, channel), eq(messages.providerMessageId, providerMessageId), eq(messages.direction, 'out')));
    if (m) await markFailed(ctx, m, reason);
    return;
  }
  await ctx.db
    .update(messages)
    .set({ deliveryStatus: status })
    .where(
      and(
        eq(messages.channel, channel),
        eq(messages.providerMessageId, providerMessageId),
        eq(messages.direction, 'out'),
        inArray(messages.deliveryStatus, before[status]),
      ),
    );
}
