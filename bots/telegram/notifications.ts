import { GrammyError, InlineKeyboard, type Api } from 'grammy';
import { eq } from 'drizzle-orm';
import type { Services } from '../../core/services.js';
import { messages, users } from '../../core/db/schema/index.js';
import { NOTIFY_JOB, type Notification } from '../../core/notifications/notify.js';
import { RetryAfterError } from '../../core/jobs/queue.js';
import { esc } from './format.js';
import { rememberReplyTarget } from './session-storage.js';
import { sendFileTo } from './client-adapter.js';
import { attachmentsDirFor, kindOfStored, readStoredAttachment } from '../../core/channels/attachments.js';
import { userActor, type User } from '../../core/users/users.js';
import { callCardMessage } from './call-card.js';

const titles: Record<Notification['kind'], string> = {
  new_lead: '🆕 Новый лид',
  lead_assigned: '👤 Вам назначен лид',
  client_message: '💬 Сообщение клиента',
  work_due: '⏰ Срок работы',
  work_digest: '📋 Работы на сегодня',
  delivery_failed: '❌ Сообщение не доставлено',
  files_not_sent: '📎 Файлы не отправлены',
  repeat_request: '🔁 Повторное обращение',
  adapter_down: '⚠️ Канал недоступен',
  email_received: '✉️ Новое письмо',
  incoming_call: '📞 Входящий звонок',
  missed_call: '📵 Пропущенный звонок',
  new_ticket: '🎫 Новое обращение',
  ticket_sla_warning: '⏳ Срок ответа подходит',
  ticket_sla_breach: '🚨 Обращение просрочено',
  business_connection: '🔗 Telegram Business',
};

/** R23: notices that may be about a ticket; a Telegram reply to one answers the client (see features/tickets.ts). */
const ticketNoticeKinds: readonly Notification['kind'][] = ['new_ticket', 'client_message', 'email_received', 'ticket_sla_warning', 'ticket_sla_breach'];
export const ticketNoticeTitles = ticketNoticeKinds.map((k) => titles[k]);

function keyboardFor(n: Notification): InlineKeyboard | undefined {
  const kb = new InlineKeyboard();
  const aboutTicket = !!n.ticketId && ticketNoticeKinds.includes(n.kind);
  if ((n.kind === 'client_message' || aboutTicket) && n.conversationId) kb.text('Ответить', `reply:${n.conversationId}`);
  // an e-mail ticket has no chat: its answer is a letter in the ticket's thread
  else if (aboutTicket) kb.text('Ответить', `ticket:reply:${n.ticketId}`);
  if (n.ticketId) kb.text('Открыть обращение', `ticket:open:${n.ticketId}`);
  if (n.leadId) kb.text('Открыть лид', `lead:open:${n.leadId}`);
  if (n.kind === 'new_lead' && n.leadId) kb.text('Взять', `lead:take:${n.leadId}`);
  if (n.kind === 'work_due' && n.workId) kb.text('Выполнить', `work:done:${n.workId}`);
  return kb.inline_keyboard.flat().length ? kb : undefined;
}

/**
 * The files of a client's message, each sent as what it is (a voice note as a voice note) in reply
 * to the notification; replying to any of them answers the client too. A file too big for the
 * Bot API is named instead. Runs after the notification is sent, so a retry resends no text.
 */
async function forwardFiles(services: Services, api: Api, chatId: number, noticeId: number, n: Notification): Promise<void> {
  const [m] = await services.database.db.select({ attachments: messages.attachments }).from(messages).where(eq(messages.id, n.messageId!));
  const dir = attachmentsDirFor(services.config.DATA_DIR);
  for (const a of m?.attachments ?? []) {
    const file = { name: a.name, mime: a.mime, kind: kindOfStored(a) };
    try {
      const data = await readStoredAttachment(dir, a);
      const sent = await sendFileTo(api, chatId, { ...file, data }, { reply_parameters: { message_id: noticeId, allow_sending_without_reply: true } });
      if (n.conversationId) await rememberReplyTarget(services.database.db, chatId, sent.message_id, n.conversationId);
    } catch (e) {
      if (e instanceof GrammyError && e.error_code === 429) throw e;
      services.log.warn({ err: e, messageId: n.messageId }, 'telegram: a client file could not be forwarded to the manager');
      await api.sendMessage(chatId, `📎 ${a.name}: файл не удалось переслать, он открывается в карточке клиента в панели.`, { reply_parameters: { message_id: noticeId, allow_sending_without_reply: true } });
    }
  }
}

/**
 * A call's card instead of the plain summary (R20): built as the recipient sees the client, in their
 * zone. Should the card not build (the call gone, a hiccup), the summary still tells them who called.
 */
async function callMessage(services: Services, user: User, n: Notification, canCall: boolean): Promise<{ text: string; keyboard: InlineKeyboard } | null> {
  if (!n.callId || (n.kind !== 'incoming_call' && n.kind !== 'missed_call')) return null;
  try {
    return await callCardMessage(services.ctx(userActor(user)), n.callId, { mode: n.kind === 'missed_call' ? 'missed' : 'incoming', timeZone: user.timeZone, publicUrl: services.config.PUBLIC_URL, canCall });
  } catch (e) {
    services.log.warn({ err: e, callId: n.callId }, 'telegram: the call card could not be built, sending the summary');
    return null;
  }
}

/**
 * Sends staff notifications from the queue within Telegram's limits: about 30 messages a second
 * overall (the queue's limiter), one a second per chat (but a ringing call's card), and whatever
 * retry_after a 429 asks for.
 */
export function registerTelegramNotifications(services: Services, api: Api, opts: { canCall?: boolean } = {}): void {
  const lastSentToChat = new Map<number, number>();
  services.jobs.process<Notification>(
    NOTIFY_JOB,
    async (job) => {
      const n = job.data;
      const [user] = await services.database.db.select().from(users).where(eq(users.id, n.userId));
      if (!user?.telegramId || !user.active) return 'no telegram';
      const chatId = user.telegramId;
      // a ringing phone's card cannot wait its turn behind the chat's last message: its phone rings for
      // seconds, and Telegram allows a short burst to one chat (a 429 is still honoured below)
      const wait = n.kind === 'incoming_call' ? 0 : 1000 - (Date.now() - (lastSentToChat.get(chatId) ?? 0));
      if (wait > 0) throw new RetryAfterError(wait);
      lastSentToChat.set(chatId, Date.now());
      try {
        const card = await callMessage(services, user, n, !!opts.canCall);
        const keyboard = card ? card.keyboard : keyboardFor(n);
        const sent = await api.sendMessage(chatId, card ? card.text : `<b>${titles[n.kind]}</b>\n${esc(n.text)}`, {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          ...(keyboard ? { reply_markup: keyboard } : {}),
        });
        if (n.conversationId) await rememberReplyTarget(services.database.db, chatId, sent.message_id, n.conversationId);
        // what the client sent comes along: the manager hears the voice note, sees the photo
        if ((n.kind === 'client_message' || n.kind === 'new_ticket') && n.messageId) await forwardFiles(services, api, chatId, sent.message_id, n);
        return 'sent';
      } catch (e) {
        if (e instanceof GrammyError && e.error_code === 429) throw new RetryAfterError((e.parameters.retry_after ?? 1) * 1000);
        // the manager blocked the bot: retrying will not help
        if (e instanceof GrammyError && e.error_code === 403) return 'blocked';
        throw e;
      }
    },
    { concurrency: 5, limiter: { max: 30, durationMs: 1000 } },
  );
}
