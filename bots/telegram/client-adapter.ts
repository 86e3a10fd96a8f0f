import { GrammyError, InputFile, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { AdapterStatus, ChannelAdapter, OutboundChoice, OutboundFile, OutboundMessage } from '../../core/channels/types.js';
import { ChannelSendError } from '../../core/channels/send-error.js';
import { businessChatId, businessSendReasons } from '../../core/channels/business.js';

export interface TelegramClientAdapter extends ChannelAdapter {
  /** what connecting to the Bot API found (getMe at start): shown on /health and «Интеграции» */
  setConnection(status: AdapterStatus): void;
}

/** One Bot API call per file, by what the file is: a voice note arrives as a voice note. */
export async function sendFileTo(
  api: Api,
  chatId: number,
  f: OutboundFile,
  extra: { caption?: string; reply_parameters?: { message_id: number; allow_sending_without_reply?: boolean }; business_connection_id?: string; reply_markup?: InlineKeyboardMarkup } = {},
) {
  const file = new InputFile(f.data, f.name);
  const opts = extra;
  // what a file without a caption still takes: the reply target, the connection and the buttons
  const bare = {
    ...(extra.reply_parameters ? { reply_parameters: extra.reply_parameters } : {}),
    ...(extra.business_connection_id ? { business_connection_id: extra.business_connection_id } : {}),
    ...(extra.reply_markup ? { reply_markup: extra.reply_markup } : {}),
  };
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
      return api.sendVideoNote(chatId, file, bare);
    case 'sticker':
      // a sticker file Telegram does not take back as a sticker (an animated .tgs) goes as a file
      return f.mime === 'image/webp' ? api.sendSticker(chatId, file, bare) : api.sendDocument(chatId, file, opts);
    default:
      return api.sendDocument(chatId, file, opts);
  }
}

/** A bot chat's choices: one row of inline buttons; the press comes back as `choice:<value>`. */
export const choiceKeyboard = (choices: OutboundChoice[]): InlineKeyboardMarkup => ({
  inline_keyboard: [choices.map((c) => ({ text: c.label, callback_data: `choice:${c.value}` }))],
});

/** A business chat's choices: a manager's own account cannot show a bot's buttons, so they are a line of text. */
export const choicesLine = (choices: OutboundChoice[]) => `Ответьте цифрой: ${choices.map((c) => c.label).join(' ')}`;

/**
 * Telegram's answer when a business connection cannot carry a send: the manager switched the bot
 * off or took away the right to reply. No retry helps until they change it in Telegram.
 */
export function businessSendFailure(e: GrammyError): ChannelSendError | null {
  const d = e.description;
  if (/BUSINESS_CONNECTION_NOT_ALLOWED|BOT_BUSINESS_MISSING|not allowed to (reply|send)|can't reply|rights/i.test(d)) {
    return new ChannelSendError(d, { permanent: true, reason: businessSendReasons.noReply });
  }
  if (e.error_code === 403 || /BUSINESS_CONNECTION_INVALID|BUSINESS_PEER_INVALID|BUSINESS_|business connection/i.test(d)) {
    return new ChannelSendError(d, { permanent: true, reason: businessSendReasons.disabled });
  }
  return null;
}

/**
 * Telegram as a client channel: the managers' bot also talks to clients. A client who blocked
 * the bot cannot be reached, which no retry will fix. A business chat (a manager's own Telegram
 * chat with a client) goes out through the manager's connection, as the manager.
 */
export function telegramClientAdapter(api: Api): TelegramClientAdapter {
  let connection: AdapterStatus = { ok: true };
  let status: AdapterStatus = { ok: true };
  return {
    kind: 'telegram',
    async send(message: OutboundMessage) {
      const business = message.businessConnectionId;
      const bizChat = businessChatId(message.externalChatId);
      if (business && bizChat === null) throw new ChannelSendError('business send to a non-business chat key', { permanent: true, reason: businessSendReasons.disabled });
      const chatId = business ? bizChat! : Number(message.externalChatId);
      const via = business ? { business_connection_id: business } : {};
      const choices = message.choices ?? [];
      const text = business && choices.length ? [message.text, choicesLine(choices)].filter(Boolean).join('\n\n') : message.text;
      const keyboard = !business && choices.length ? { reply_markup: choiceKeyboard(choices) } : {};
      try {
        const files = message.files ?? [];
        // a caption holds up to 1024 characters; a longer text goes as its own message first
        const captioned = files.length === 1 && text.length <= 1024 && files[0]!.kind !== 'video_note' && files[0]!.kind !== 'sticker';
        const ids: number[] = [];
        if (text && !captioned) {
          ids.push((await api.sendMessage(chatId, text, { link_preview_options: { is_disabled: true }, ...via, ...keyboard })).message_id);
        }
        for (const f of files) {
          const withText = captioned && text ? { caption: text, ...keyboard } : {};
          ids.push((await sendFileTo(api, chatId, f, { ...withText, ...via })).message_id);
        }
        status = { ok: true };
        // a business send's id is the business message key, so its echo from Telegram is the same message
        return { providerMessageId: `${message.externalChatId}:${ids[0]}` };
      } catch (e) {
        if (e instanceof GrammyError && e.error_code === 429) {
          throw new ChannelSendError('telegram rate limit', { retryAfterMs: (e.parameters.retry_after ?? 1) * 1000, reason: 'Telegram просит подождать' });
        }
        if (business && e instanceof GrammyError && (e.error_code === 400 || e.error_code === 403)) {
          const failure = businessSendFailure(e);
          if (failure) throw failure;
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
