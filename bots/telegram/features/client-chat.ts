import { Composer } from 'grammy';
import type { Message } from 'grammy/types';
import type { BotContext } from '../context.js';
import { ingestInboundMessage } from '../../../core/channels/ingest.js';
import { attachmentsDirFor } from '../../../core/channels/attachments.js';
import type { InboundAttachment } from '../../../core/channels/types.js';

const MAX_FILE = 20 * 1024 * 1024; // the Bot API serves files up to 20 MB

/**
 * Clients writing to the company's bot: text, photos, documents and a shared phone number go
 * through the inbound pipeline like every other channel. The update's chat and message ids make
 * the provider id, so Telegram re-sending an update stores nothing twice.
 */
export function clientChat(opts: { dataDir: string; apiRoot: string; token: string }): Composer<BotContext> {
  const c = new Composer<BotContext>();

  async function download(ctx: BotContext, fileId: string, name: string, mime: string, size?: number): Promise<InboundAttachment | null> {
    if (size && size > MAX_FILE) return null;
    const file = await ctx.api.getFile(fileId);
    if (!file.file_path) return null;
    const res = await fetch(`${opts.apiRoot}/file/bot${opts.token}/${file.file_path}`);
    if (!res.ok) throw new Error(`file download failed: ${res.status}`);
    return { name, mime, data: Buffer.from(await res.arrayBuffer()) };
  }

  c.command('start', (ctx) => ctx.reply('Здравствуйте! Напишите ваш вопрос — менеджер ответит здесь же.'));

  c.on('message', async (ctx) => {
    const m: Message = ctx.message;
    const from = ctx.from;
    const attachments: InboundAttachment[] = [];
    if (m.photo?.length) {
      const best = m.photo[m.photo.length - 1]!;
      const a = await download(ctx, best.file_id, `photo-${m.message_id}.jpg`, 'image/jpeg', best.file_size);
      if (a) attachments.push(a);
    }
    if (m.document) {
      const a = await download(ctx, m.document.file_id, m.document.file_name ?? `file-${m.message_id}`, m.document.mime_type ?? 'application/octet-stream', m.document.file_size);
      if (a) attachments.push(a);
    }
    // only the client's own number counts: a forwarded card of someone else is just text
    const ownPhone = m.contact && m.contact.user_id === from.id ? m.contact.phone_number : undefined;
    const text = m.text ?? m.caption ?? (m.contact ? `Контакт: ${m.contact.first_name} ${m.contact.phone_number}` : undefined);
    if (!text && !attachments.length) return ctx.reply('Пока я понимаю текст, фото, документы и номер телефона.');
    const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username || `Telegram ${from.id}`;
    const result = await ingestInboundMessage(
      ctx.crm,
      {
        channel: 'telegram',
        externalUserId: String(from.id),
        externalChatId: String(ctx.chat.id),
        providerMessageId: `${ctx.chat.id}:${m.message_id}`,
        name,
        phone: ownPhone,
        text,
        attachments,
        at: new Date(m.date * 1000),
      },
      { attachmentsDir: attachmentsDirFor(opts.dataDir) },
    );
    if (result.duplicate) return;
    if (ownPhone) return ctx.reply('Спасибо, номер сохранён.');
    if (result.createdLead || result.createdContact) return ctx.reply('Спасибо! Ваше сообщение получено, менеджер скоро ответит.');
  });
  return c;
}
