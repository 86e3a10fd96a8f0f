import { and, eq, gt, lt, ne } from 'drizzle-orm';
import { afterCommit, inTransaction, systemActor, type ServiceContext } from '../context.js';
import { contacts, conversations, messages } from '../db/schema/index.js';
import { RetryAfterError, type Job, type JobQueue } from '../jobs/queue.js';
import { ChannelSendError } from './send-error.js';
import { markFailed, tellFilesNotSent } from './delivery.js';
import { attachmentsDirFor, kindOfStored, readStoredAttachment } from './attachments.js';
import { FILE_LINK_TTL_MS, fileLinkUrl } from './file-links.js';
import type { Services } from '../services.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import type { ChannelAdapter, ChannelKind } from './types.js';

/**
 * One job name per channel: a process runs the sends of the channels it holds a client for
 * (WhatsApp's browser session lives in the `bots` process only; Telegram and Viber are HTTP
 * clients any worker has), so no process picks up a send it cannot make.
 */
export const channelSendJob = (channel: ChannelKind): string => `channel.send.${channel}`;
/** tries of one send, the first included; with the backoff below the last is ~30 s after the first */
export const SEND_ATTEMPTS = 5;
const SEND_BACKOFF_MS = 2000;
/** an earlier reply still waiting this long holds later ones back, so a chat reads in order */
const ORDER_WINDOW_MS = 2 * 60_000;
/** tries of writing down a send that went out; after them the job gives up the record, never sends again */
const RECORD_ATTEMPTS = 3;
const RECORD_BACKOFF_MS = 500;

export interface ChannelSendData {
  messageId: number;
}

/** Queues the delivery of a stored outgoing message; the message id is the job id, so it is sent once. */
export function enqueueSend(jobs: JobQueue, channel: ChannelKind, messageId: number) {
  return jobs.add<ChannelSendData>(
    channelSendJob(channel),
    { messageId },
    { jobId: `channel.send:${messageId}`, attempts: SEND_ATTEMPTS, backoff: { type: 'exponential', delayMs: SEND_BACKOFF_MS } },
  );
}

/**
 * An outgoing message on a chat, in the caller's transaction: stored «queued», the chat's last
 * activity moved, and its delivery queued once the transaction commits. A manager's reply and the
 * CRM's own messages (a rating request, its thanks) go out the same way.
 */
export async function queueOutgoingMessage(
  tx: ServiceContext,
  conv: { id: number; channel: ChannelKind },
  m: Pick<typeof messages.$inferInsert, 'text' | 'attachments' | 'authorUserId' | 'ticketId' | 'choices'>,
): Promise<typeof messages.$inferSelect> {
  const now = tx.clock.now();
  const [message] = await tx.db
    .insert(messages)
    .values({ conversationId: conv.id, channel: conv.channel, direction: 'out', deliveryStatus: 'queued', at: now, ...m })
    .returning();
  await tx.db.update(conversations).set({ lastMessageAt: now, status: 'open' }).where(eq(conversations.id, conv.id));
  await afterCommit(tx, () => enqueueSend(tx.jobs, conv.channel, message!.id));
  return message!;
}

/** A sliding window per channel: how long until the next send may start (0: now). */
export class SendLimiter {
  private readonly starts = new Map<ChannelKind, number[]>();

  take(kind: ChannelKind, rate: { max: number; durationMs: number } | undefined, now = Date.now()): number {
    if (!rate) return 0;
    const recent = (this.starts.get(kind) ?? []).filter((t) => t > now - rate.durationMs);
    this.starts.set(kind, recent);
    if (recent.length >= rate.max) return Math.max(1, recent[0]! + rate.durationMs - now);
    recent.push(now);
    return 0;
  }
}

type Adapters = Partial<Record<ChannelKind, ChannelAdapter | undefined>>;

/** what a send needs besides the message: where files live, and how to link to them (with PUBLIC_URL) */
interface SendEnv {
  attachmentsDir: string;
  links: { publicUrl: string; secretKey: string } | undefined;
}

/**
 * The `channel.send.<channel>` processors, one for each channel given (a channel given without
 * an adapter is not connected: its messages are marked undelivered): a stored outgoing message
 * goes out through its conversation's adapter, the provider's id and the delivery status are
 * kept on the message, transient failures are retried with backoff and the author is told when
 * the message finally cannot be delivered.
 */
export function registerChannelJobs(
  jobs: JobQueue,
  services: Pick<Services, 'ctx' | 'config' | 'secretKey'>,
  adapters: Adapters,
  opts: { concurrency?: number } = {},
): void {
  const limiter = new SendLimiter();
  const publicUrl = services.config.PUBLIC_URL;
  const env: SendEnv = {
    attachmentsDir: attachmentsDirFor(services.config.DATA_DIR),
    links: publicUrl ? { publicUrl, secretKey: services.secretKey } : undefined,
  };
  for (const channel of Object.keys(adapters) as ChannelKind[]) {
    jobs.process<ChannelSendData>(channelSendJob(channel), (job) => sendOne(services.ctx(systemActor('отправка сообщений')), adapters, limiter, env, job), {
      concurrency: opts.concurrency ?? 4,
    });
  }
}

async function sendOne(ctx: ServiceContext, adapters: Adapters, limiter: SendLimiter, env: SendEnv, job: Job<ChannelSendData>): Promise<unknown> {
  const [row] = await ctx.db
    .select({ m: messages, chatId: conversations.externalChatId, business: conversations.businessConnectionId, contactName: contacts.name })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(eq(messages.id, job.data.messageId));
  if (!row || row.m.direction !== 'out') return { skipped: 'no such outgoing message' };
  const m = row.m;
  // a retry after a crash between sending and recording must not send twice what is recorded
  if (m.deliveryStatus !== 'queued') return { skipped: m.deliveryStatus };

  const [earlier] = await ctx.db
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, m.conversationId),
        eq(messages.direction, 'out'),
        eq(messages.deliveryStatus, 'queued'),
        lt(messages.id, m.id),
        gt(messages.at, new Date(m.at.getTime() - ORDER_WINDOW_MS)),
      ),
    )
    .limit(1);
  if (earlier) throw new RetryAfterError(300, `waiting for message ${earlier.id} of the same chat`);

  const adapter = adapters[m.channel];
  // a channel that cannot carry files still gets the text; the author learns the files stayed behind
  const filesRefused = m.attachments.length ? adapter?.filesUnsupported : undefined;
  let providerMessageId: string;
  try {
    if (!adapter) throw new ChannelSendError(`no ${m.channel} adapter in this process`, { reason: 'канал не подключён' });
    if (filesRefused && !m.text) throw new ChannelSendError('the channel cannot carry files', { permanent: true, reason: filesRefused });
    const wait = limiter.take(m.channel, adapter.sendRate);
    if (wait) throw new RetryAfterError(wait);
    const linksExpire = new Date(ctx.clock.now().getTime() + FILE_LINK_TTL_MS);
    const files = filesRefused
      ? []
      : await Promise.all(
          m.attachments.map(async (a, index) => ({
            name: a.name,
            mime: a.mime,
            kind: kindOfStored(a),
            data: await readStoredAttachment(env.attachmentsDir, a),
            // a channel that fetches files by URL (Viber) gets a signed link to each
            ...(env.links ? { url: fileLinkUrl(env.links.publicUrl, env.links.secretKey, { messageId: m.id, index, name: a.name, mime: a.mime }, linksExpire) } : {}),
          })),
        );
    ({ providerMessageId } = await adapter.send({
      externalChatId: row.chatId,
      text: m.text ?? '',
      files,
      ...(m.choices?.length ? { choices: m.choices } : {}),
      ...(row.business ? { businessConnectionId: row.business } : {}),
    }));
  } catch (err) {
    if (err instanceof RetryAfterError) throw err;
    const e = err instanceof ChannelSendError ? err : undefined;
    if (e?.retryAfterMs) throw new RetryAfterError(e.retryAfterMs, e.message);
    const final = e?.permanent || job.attemptsMade + 1 >= SEND_ATTEMPTS;
    if (!final) throw err;
    const reason = e?.reason ?? 'нет связи с сервисом мессенджера';
    await markFailed(ctx, m, reason, row.contactName);
    ctx.log.warn({ err, messageId: m.id, channel: m.channel }, 'channel.send: message not delivered');
    // a permanent failure is settled (the job completes); a transient one ends as a failed job
    if (e?.permanent) return { failed: e.message };
    throw err;
  }

  // the client has the message now: nothing below may fail the job, whose retry would send it again
  await recordSent(ctx, m, providerMessageId);
  if (filesRefused) {
    await tellFilesNotSent(ctx, m, row.contactName, filesRefused).catch((err: unknown) =>
      ctx.log.warn({ err, messageId: m.id }, 'channel.send: the author was not told the files stayed behind'),
    );
  }
  return { providerMessageId };
}

type SentMessage = { id: number; channel: ChannelKind; conversationId: number };

/**
 * Writes down a message that went out: its provider id and «sent». Telegram's copy of a Business
 * reply may not name our bot, and when it is taken in before this (the bot's update against this
 * job) it is stored as the manager's own message under the same provider id: that row is this
 * message, so it goes and this one takes the id, in one transaction. A passing database error is
 * tried again a few times, then only logged.
 */
async function recordSent(ctx: ServiceContext, m: SentMessage, providerMessageId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      try {
        await ctx.db.update(messages).set({ providerMessageId, deliveryStatus: 'sent' }).where(eq(messages.id, m.id));
      } catch (err) {
        if (!isUniqueViolation(err, 'messages_channel_provider_uq')) throw err;
        await takeOverEcho(ctx, m, providerMessageId);
      }
      return;
    } catch (err) {
      if (attempt >= RECORD_ATTEMPTS) {
        return void ctx.log.error({ err, messageId: m.id, channel: m.channel }, 'channel.send: sent, but not recorded as sent');
      }
      await new Promise((r) => setTimeout(r, RECORD_BACKOFF_MS * attempt));
    }
  }
}

async function takeOverEcho(ctx: ServiceContext, m: SentMessage, providerMessageId: string): Promise<void> {
  try {
    await inTransaction(ctx, async (tx) => {
      const echo = await tx.db
        .delete(messages)
        .where(
          and(
            eq(messages.channel, m.channel),
            eq(messages.providerMessageId, providerMessageId),
            eq(messages.conversationId, m.conversationId),
            eq(messages.direction, 'out'),
            ne(messages.id, m.id),
          ),
        )
        .returning({ id: messages.id });
      await tx.db.update(messages).set({ providerMessageId, deliveryStatus: 'sent' }).where(eq(messages.id, m.id));
      tx.log.info({ messageId: m.id, echoIds: echo.map((e) => e.id) }, 'channel.send: the provider’s copy of our message was stored first; kept ours');
    });
  } catch (err) {
    if (!isUniqueViolation(err, 'messages_channel_provider_uq')) throw err;
    // the id belongs to something that is not our copy (another chat, an incoming message): keep both, ours without the id
    ctx.log.warn({ messageId: m.id, channel: m.channel, providerMessageId }, 'channel.send: provider id already taken by another message');
    await ctx.db.update(messages).set({ deliveryStatus: 'sent' }).where(eq(messages.id, m.id));
  }
}
