import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import type { InboundSink } from '../../../core/channels/sink.js';
import { clientFiles } from '../files.js';
import { toInbound } from '../inbound.js';

/**
 * Clients writing to the company's bot: every kind of message (text, photos, documents, voice
 * and video notes, stickers, locations, contacts) goes through the inbound sink like every other
 * channel. The chat and message ids make the provider id, so Telegram re-sending an update
 * stores nothing twice.
 */
export function clientChat(opts: { sink: InboundSink; apiRoot: string; token: string }): Composer<BotContext> {
  const c = new Composer<BotContext>();

  c.command('start', (ctx) => ctx.reply('Здравствуйте! Напишите ваш вопрос — менеджер ответит здесь же.'));

  c.on('message', async (ctx) => {
    const m = ctx.message;
    const { files, missing } = await clientFiles(ctx.api, opts.apiRoot, opts.token, m);
    const inbound = toInbound(m, ctx.from, files, missing);
    if (!inbound.text && !inbound.attachments) return ctx.reply('Это сообщение пустое. Напишите, пожалуйста, ваш вопрос.');
    const result = await opts.sink(inbound);
    if (result.duplicate) return;
    if (inbound.phone) return ctx.reply('Спасибо, номер сохранён.');
    if (result.createdLead || result.createdContact) return ctx.reply('Спасибо! Ваше сообщение получено, менеджер скоро ответит.');
  });

  // a button under our message (a rating 1–5): the press is the client's answer, as if typed. One
  // answer per question: the asked message makes the provider id, so a second press on it (or
  // Telegram re-sending the press) stores nothing twice; without it, the callback id does.
  c.callbackQuery(/^choice:(.{1,60})$/s, async (ctx) => {
    const value = ctx.match[1]!;
    const q = ctx.callbackQuery;
    const chatId = q.message?.chat.id ?? q.from.id;
    // answered first: the client's spinner stops even if storing takes a moment or fails
    await ctx.answerCallbackQuery();
    await opts.sink({
      channel: 'telegram',
      externalUserId: String(q.from.id),
      externalChatId: String(chatId),
      providerMessageId: q.message ? `${chatId}:cb:m${q.message.message_id}` : `${chatId}:cb:${q.id}`,
      name: [q.from.first_name, q.from.last_name].filter(Boolean).join(' ') || q.from.username || `Telegram ${q.from.id}`,
      text: value,
    });
    // answered: the buttons go, so nobody presses again by mistake. Only after storing, so a press
    // lost to an error can be made again; a message too old to edit keeps them, which is harmless.
    if (q.message) await ctx.editMessageReplyMarkup().catch(() => undefined);
  });
  c.on('callback_query:data', (ctx) => ctx.answerCallbackQuery());
  return c;
}
