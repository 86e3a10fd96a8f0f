import { GrammyError, type Api } from 'grammy';
import type { AdapterStatus, ChannelAdapter, OutboundMessage } from '../../core/channels/types.js';
import { ChannelSendError } from '../../core/channels/send-error.js';

/**
 * Telegram as a client channel: the managers' bot also talks to clients. A client who blocked
 * the bot cannot be reached, which no retry will fix.
 */
export function telegramClientAdapter(api: Api): ChannelAdapter {
  let status: AdapterStatus = { ok: true };
  return {
    kind: 'telegram',
    async send(message: OutboundMessage) {
      try {
        const sent = await api.sendMessage(Number(message.externalChatId), message.text, { link_preview_options: { is_disabled: true } });
        status = { ok: true };
        return { providerMessageId: `${message.externalChatId}:${sent.message_id}` };
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
        throw e;
      }
    },
    status: () => status,
  };
}
