import { GrammyError, InputFile, type Api } from 'grammy';
import type { AdapterStatus, ChannelAdapter, OutboundFile, OutboundMessage } from '../../core/channels/types.js';
import { ChannelSendError } from '../../core/channels/send-error.js';

export interface TelegramClientAdapter extends ChannelAdapter {
  /** what connecting to the Bot API found (getMe at start): shown on /health and «Интеграции» */
  setConnection(status: AdapterStatus): void;
}

/** One Bot API call per file, by what the file is: a voice note arrives as a voice note. */
export async function sendFileTo(api: Api, chatId: number, f: OutboundFile, extra: { caption?: string; reply_parameters?: { message_id: number; allow_sending_without_reply?: boolean } } = {}) {
  const file = new InputFile(f.data, f.name);
  const opts = extra;
  switch (f.kind) {
    case 'photo':
      return api.sendPhoto(chatId, file, opts);
    case 'voice':
      return api.sendVoice(chatId, file, opts);
    case 'audio':
      return api.sendAudio(chatId, file, opts);
    case 'video':
      return api.sendVideo(chatId, file, opts);
    case 'video_note':
      return api.sendVideoNote(chatId, file, { ...(extra.reply_parameters ? { reply_parameters: extra.reply_parameters } : {}) });
    case 'sticker':
      // a sticker file Telegram does not take back as a sticker (an animated .tgs) goes as a file
      return f.mime === 'image/webp' ? api.sendSticker(chatId, file, { ...(extra.reply_parameters ? { reply_parameters: extra.reply_parameters } : {}) }) : api.sendDocument(chatId, file, opts);
    default:
      return api.sendDocument(chatId, file, opts);
  }
}

/**
 * Telegram as a client channel: the managers' bot also talks to clients. A client who blocked
 * the bot cannot be reached, which no retry will fix.
 */
export function telegramClientAdapter(api: Api): TelegramClientAdapter {
  let connection: AdapterStatus = { ok: true };
  let status: AdapterStatus = { ok: true };
  return {
    kind: 'telegram',
    async send(message: OutboundMessage) {
      const chatId = Number(message.externalChatId);
      try {
        const files = message.files ?? [];
        // a caption holds up to 1024 characters; a longer text goes as its own message first
        const captioned = files.length === 1 && message.text.length <= 1024 && files[0]!.kind !== 'video_note' && files[0]!.kind !== 'sticker';
        const ids: number[] = [];
        if (message.text && !captioned) {
          ids.push((await api.sendMessage(chatId, message.text, { link_preview_options: { is_disabled: true } })).message_id);
        }
        for (const f of files) ids.push((await sendFileTo(api, chatId, f, captioned && message.text ? { caption: message.text } : {})).message_id);
        status = { ok: true };
        return { providerMessageId: `${message.externalChatId}:${ids[0]}` };
      } catch (e) {
        if (e instanceof GrammyError && e.error_code === 429) {
          throw new ChannelSendError('telegram rate limit', { retryAfterMs: (e.parameters.retry_after ?? 1) * 1000, reason: 'Telegram просит подождать' });
        }
        if (e instanceof GrammyError && e.error_code === 403) {
          throw new ChannelSendError('bot blocked by the client', { permanent: true, reason: 'клиент заблокировал бота в Telegram' });
        }
        if (e instanceof GrammyError && e.error_code === 401) {
          status = { ok: false, detail: 'Telegram: токен бота недействителен' };
          throw new ChannelSendError('bot token revoked', { permanent: true, adapterDown: true, reason: 'токен Telegram-бота недействителен' });
        }
        if (e instanceof GrammyError && e.error_code === 400) {
          throw new ChannelSendError(e.description, { permanent: true, reason: `Telegram не принял сообщение: ${e.description}` });
        }
        throw e;
      }
    },
    setConnection(s) {
      connection = s;
    },
    status: () => (connection.ok ? status : connection),
  };
}
