import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext } from '../context.js';
import { esc, html, when } from '../format.js';
import { parseId } from '../ids.js';
import { getConversation, listConversations, replyInConversation } from '../../../core/conversations/conversations.js';
import { channelLabel } from '../../../core/channels/types.js';
import { ServiceError } from '../../../core/errors.js';
import { findReplyTarget } from '../session-storage.js';

/** Managers answer clients on the client's own channel: a button, /reply, or a Telegram reply to the notification. */
export const chats = new Composer<BotContext>();

chats.command('chats', async (ctx) => {
  const list = await listConversations(ctx.crm, { mineFor: ctx.staff!.id, limit: 15 });
  if (!list.length) return ctx.reply('Открытых переписок нет.');
  const kb = new InlineKeyboard();
  const lines = list.map((c) => {
    kb.text(`${c.contactName.slice(0, 30)} (${channelLabel[c.channel]})`, `reply:${c.id}`).row();
    const last = c.lastText ? `${c.lastDirection === 'out' ? 'вы: ' : ''}${c.lastText.slice(0, 60)}` : '';
    return `№${c.id} · ${channelLabel[c.channel]} · ${esc(c.contactName)}${c.leadId ? ` · лид №${c.leadId}` : ''}\n   ${when(ctx, c.lastMessageAt)} ${esc(last)}`;
  });
  return ctx.reply(`<b>Мои переписки</b>\n${lines.join('\n')}\n\nОтветить: кнопка, /reply номер текст или ответ на уведомление.`, { ...html, reply_markup: kb });
});

async function sendReply(ctx: BotContext, conversationId: number, text: string) {
  const conv = await getConversation(ctx.crm, conversationId);
  await replyInConversation(ctx.crm, conv.id, text);
  await ctx.reply(`Отправляю в ${channelLabel[conv.channel]}… Если не дойдёт, я сообщу.`);
}

chats.command('reply', async (ctx) => {
  const [idPart, ...rest] = ctx.match.trim().split(/\s+/);
  const id = parseId(idPart, '/reply 3 Добрый день!');
  const text = ctx.match.trim().slice(idPart!.length).trim();
  if (!rest.length || !text) {
    await getConversation(ctx.crm, id);
    ctx.session.flow = { kind: 'reply', conversationId: id };
    return ctx.reply(`Напишите ответ для переписки №${id}. /cancel — отменить`);
  }
  await sendReply(ctx, id, text);
});

chats.callbackQuery(/^reply:(\d+)$/, async (ctx) => {
  const conv = await getConversation(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'reply', conversationId: conv.id };
  await ctx.reply(`Напишите ответ клиенту (${channelLabel[conv.channel]}). /cancel — отменить`);
});

/** Text while a reply is awaited, or a Telegram reply to a client-message notification. */
export async function replyText(ctx: BotContext): Promise<boolean> {
  const text = ctx.message?.text ?? '';
  const flow = ctx.session.flow;
  if (flow?.kind === 'reply') {
    await sendReply(ctx, flow.conversationId, text);
    ctx.session.flow = undefined;
    return true;
  }
  const repliedTo = ctx.message?.reply_to_message?.message_id;
  const target = repliedTo ? await findReplyTarget(ctx.crm.db, ctx.chat!.id, repliedTo) : undefined;
  if (target) {
    await sendReply(ctx, target, text);
    return true;
  }
  if (repliedTo) throw new ServiceError('invalid', 'Это сообщение не от клиента. Ответить клиенту: /chats');
  return false;
}
