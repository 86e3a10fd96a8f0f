import { Composer, InlineKeyboard } from 'grammy';
import type { Message } from 'grammy/types';
import type { BotContext } from '../context.js';
import { esc, html, when } from '../format.js';
import { parseId } from '../ids.js';
import { getConversation, listConversations, listMessages, replyInConversation } from '../../../core/conversations/conversations.js';
import { messageChanges } from '../../../core/history/marks.js';
import { channelLabel } from '../../../core/channels/types.js';
import { ServiceError } from '../../../core/errors.js';
import { findReplyTarget } from '../session-storage.js';
import { managerFiles } from '../files.js';

/** How long «Ответить» waits for the answer: later, a text is more likely meant for something else. */
export const REPLY_WINDOW_MS = 5 * 60_000;

export interface ChatsOptions {
  apiRoot: string;
  token: string;
  attachmentsDir: string;
}

/**
 * Managers answer clients on the client's own channel: a Telegram reply to the client's
 * notification (it always wins, whatever else is going on), the «Ответить» button, or /reply.
 * Photos, documents, voice and video notes go to the client too.
 */
export function chats(opts: ChatsOptions) {
  /** Runs before every other staff feature: a reply to a client notification is never eaten by a dialogue. */
  const routing = new Composer<BotContext>();
  const features = new Composer<BotContext>();

  async function sendReply(ctx: BotContext, conversationId: number, m: Message) {
    const conv = await getConversation(ctx.crm, conversationId);
    const files = await managerFiles(ctx.api, opts.apiRoot, opts.token, m);
    const text = m.text ?? m.caption ?? '';
    if (!text.trim() && !files.length) throw new ServiceError('invalid', 'Такое сообщение клиенту не переслать: пришлите текст, фото, документ или голосовое.');
    await replyInConversation(ctx.crm, conv.id, text, { files, attachmentsDir: opts.attachmentsDir });
    const what = files.length ? `${files.length > 1 ? 'Файлы' : 'Файл'} для клиента: о` : 'О';
    await ctx.reply(`${what}тправляю в ${channelLabel[conv.channel]}… Если не дойдёт, я сообщу.`);
  }

  routing.use(async (ctx, next) => {
    const m = ctx.message;
    const isCommand = m?.text?.startsWith('/') ?? false;
    // any other command, button or reply cancels a pending «Ответить»
    if (ctx.session.flow?.kind === 'reply') {
      const otherButton = ctx.callbackQuery?.data !== undefined && !ctx.callbackQuery.data.startsWith('reply:');
      if (isCommand || otherButton || m?.reply_to_message) ctx.session.flow = undefined;
    }
    const repliedTo = m?.reply_to_message?.message_id;
    if (m && repliedTo && !isCommand) {
      const target = await findReplyTarget(ctx.crm.db, ctx.chat!.id, repliedTo);
      if (target) return sendReply(ctx, target, m);
    }
    return next();
  });

  features.command('chats', async (ctx) => {
    const list = await listConversations(ctx.crm, { mineFor: ctx.staff!.id, limit: 15 });
    if (!list.length) return ctx.reply('Открытых переписок нет.');
    const kb = new InlineKeyboard();
    // the last message as the chat has it now: changed or deleted in Telegram Business after it came
    const lastMessages = await Promise.all(list.map((c) => listMessages(ctx.crm, c.id, { limit: 1 })));
    const lines = list.map((c, i) => {
      kb.text(`${c.contactName.slice(0, 30)} (${channelLabel[c.channel]})`, `reply:${c.id}`).row();
      const marks = lastMessages[i]![0] ? messageChanges(lastMessages[i]![0]).map((m) => ` (${m.label})`).join('') : '';
      const last = c.lastText ? `${c.lastDirection === 'out' ? 'вы: ' : ''}${c.lastText.slice(0, 60)}${marks}` : marks.trim();
      return `№${c.id} · ${channelLabel[c.channel]} · ${esc(c.contactName)}${c.leadId ? ` · лид №${c.leadId}` : ''}\n   ${when(ctx, c.lastMessageAt)} ${esc(last)}`;
    });
    return ctx.reply(`<b>Мои переписки</b>\n${lines.join('\n')}\n\nОтветить: кнопка, /reply номер текст или ответ на уведомление.`, { ...html, reply_markup: kb });
  });

  features.command('reply', async (ctx) => {
    const [idPart, ...rest] = ctx.match.trim().split(/\s+/);
    const id = parseId(idPart, '/reply 3 Добрый день!');
    const text = ctx.match.trim().slice(idPart!.length).trim();
    if (!rest.length || !text) {
      await getConversation(ctx.crm, id);
      ctx.session.flow = { kind: 'reply', conversationId: id, at: new Date().toISOString() };
      return ctx.reply(`Напишите ответ для переписки №${id} (или пришлите файл). /cancel — отменить`);
    }
    await sendReply(ctx, id, { ...ctx.message!, text });
  });

  features.callbackQuery(/^reply:(\d+)$/, async (ctx) => {
    const conv = await getConversation(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    ctx.session.flow = { kind: 'reply', conversationId: conv.id, at: new Date().toISOString() };
    await ctx.reply(`Напишите ответ клиенту (${channelLabel[conv.channel]}) или пришлите файл. /cancel — отменить`);
  });

  /**
   * A message while «Ответить» waits (text or a file), within the reply window. Returns false
   * when the message is not for a client.
   */
  async function pendingReply(ctx: BotContext): Promise<boolean> {
    const flow = ctx.session.flow;
    if (flow?.kind !== 'reply') return false;
    ctx.session.flow = undefined;
    if (!flow.at || Date.now() - Date.parse(flow.at) > REPLY_WINDOW_MS) {
      await ctx.reply('Ответ не отправлен: кнопка «Ответить» ждёт не дольше 5 минут. Нажмите её ещё раз или ответьте на уведомление клиента.');
      return true;
    }
    await sendReply(ctx, flow.conversationId, ctx.message!);
    return true;
  }

  /** A file from a manager that is neither a reply to a client nor awaited by «Ответить». */
  features.on('message', async (ctx, next) => {
    if (ctx.message.text !== undefined) return next();
    if (await pendingReply(ctx)) return;
    if (ctx.session.flow) return ctx.reply('Сейчас я жду текст. /cancel — отменить ввод.');
    return ctx.reply('Чтобы отправить это клиенту, ответьте им на уведомление клиента или нажмите «Ответить» и пришлите снова.');
  });

  /** Text no dialogue consumed: an awaited answer, else a reply to something that is not a client's. */
  async function replyText(ctx: BotContext): Promise<boolean> {
    if (await pendingReply(ctx)) return true;
    if (ctx.message?.reply_to_message) throw new ServiceError('invalid', 'Это сообщение не от клиента. Ответить клиенту: /chats');
    return false;
  }

  return { routing, features, replyText };
}
