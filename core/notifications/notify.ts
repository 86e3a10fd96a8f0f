import { afterCommit, type ServiceContext } from '../context.js';

/** What staff are told in Telegram. Texts are Russian and built by the core verb that notifies. */
export type NotificationKind =
  | 'new_lead'
  | 'lead_assigned'
  | 'client_message'
  | 'work_due'
  | 'work_digest'
  | 'delivery_failed'
  | 'files_not_sent'
  | 'repeat_request'
  | 'adapter_down'
  | 'email_received'
  | 'incoming_call'
  | 'missed_call'
  | 'new_ticket'
  | 'ticket_sla_warning'
  | 'ticket_sla_breach'
  | 'business_connection';

export interface Notification {
  kind: NotificationKind;
  userId: number;
  text: string;
  leadId?: number | undefined;
  dealId?: number | undefined;
  workId?: number | undefined;
  conversationId?: number | undefined;
  messageId?: number | undefined;
  /** R20: the call an incoming/missed call card is about (the bot builds the card from it) */
  callId?: number | undefined;
  /** R23: the ticket a notice is about (a client's message on it carries its number and buttons) */
  ticketId?: number | undefined;
  /** same key → sent once (e.g. `lead:42:new`) */
  dedupeKey?: string | undefined;
}

export const NOTIFY_JOB = 'telegram.notify';

/**
 * Tells users in Telegram through the job queue, after the current transaction commits. The bot's
 * processor sends it respecting Telegram's limits; users without a linked Telegram are skipped there.
 */
export async function notify(ctx: ServiceContext, notifications: Notification | Notification[]): Promise<void> {
  const list = (Array.isArray(notifications) ? notifications : [notifications]).filter((n) => n.userId);
  if (!list.length) return;
  await afterCommit(ctx, async () => {
    for (const n of list) {
      await ctx.jobs.add(NOTIFY_JOB, n, {
        attempts: 5,
        backoff: { type: 'exponential', delayMs: 1000 },
        ...(n.dedupeKey ? { jobId: `notify:${n.userId}:${n.dedupeKey}` } : {}),
      });
    }
  });
}
