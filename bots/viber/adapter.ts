import viber from 'viber-bot';
import type { Logger } from 'pino';
import { ChannelSendError } from '../../core/channels/send-error.js';
import type { AdapterStatus, ChannelAdapter, OutboundMessage } from '../../core/channels/types.js';
import { createViberBot, ViberApiError } from './client.js';

export interface ViberAdapterOptions {
  authToken: string;
  botName: string;
  apiRoot: string;
  avatar?: string | undefined;
  log: Logger;
}

/** Viber's answers that mean the bot itself cannot work until someone fixes it. */
const accountDown: Record<number, string> = {
  2: 'токен недействителен или отозван (VIBER_AUTH_TOKEN)',
  7: 'бот заблокирован Viber',
  8: 'бот не найден',
  9: 'бот приостановлен Viber',
  15: 'бот не авторизован',
  24: 'на счёте бота нет средств',
};
/** Answers about one recipient: trying again will not help. */
const recipientGone: Record<number, string> = {
  5: 'клиент не зарегистрирован в Viber',
  6: 'клиент отписался от бота',
  11: 'у клиента нет подходящего устройства Viber',
  21: 'страна клиента не поддерживается',
  23: 'исчерпан лимит бесплатных сообщений',
};

/**
 * Viber through the viber-bot package: replies go out by `send_message`; client messages come
 * in on the webhook (webhook.ts). Viber is blocked in Russia since December 2024 and bots are paid.
 */
export class ViberAdapter implements ChannelAdapter {
  readonly kind = 'viber' as const;
  /** Viber publishes no per-bot limit; this stays well below what it tolerates */
  readonly sendRate = { max: 10, durationMs: 1000 };
  readonly authToken: string;
  private readonly bot: viber.Bot;
  private readonly log: Logger;
  private state: AdapterStatus = { ok: true };

  constructor(opts: ViberAdapterOptions) {
    this.authToken = opts.authToken;
    this.log = opts.log;
    this.bot = createViberBot({ authToken: opts.authToken, name: opts.botName, avatar: opts.avatar, apiRoot: opts.apiRoot });
  }

  status(): AdapterStatus {
    return this.state;
  }

  /** get_account_info: a revoked token or an unreachable API shows up here, not only on the next send */
  async refresh(): Promise<void> {
    try {
      await this.bot.getBotProfile();
      this.state = { ok: true };
    } catch (err) {
      this.noteFailure(err);
    }
  }

  async send(message: OutboundMessage): Promise<{ providerMessageId: string }> {
    let tokens: unknown[];
    try {
      tokens = await this.bot.sendMessage({ id: message.externalChatId }, new viber.Message.Text(message.text));
    } catch (err) {
      this.noteFailure(err);
      throw toSendError(err);
    }
    this.state = { ok: true };
    const token = tokens[tokens.length - 1];
    if (token === undefined || token === null) throw new ChannelSendError('Viber answered without a message token');
    return { providerMessageId: String(token) };
  }

  /** Registers our webhook URL with Viber (it calls the URL at once, so the server must be listening). */
  async setWebhook(url: string): Promise<void> {
    await this.bot.setWebhook(url);
  }

  private noteFailure(err: unknown): void {
    if (err instanceof ViberApiError) {
      const down = accountDown[err.status];
      if (down) this.state = { ok: false, detail: `Viber: ${down}` };
    } else {
      this.state = { ok: false, detail: 'Viber: нет связи с сервером Viber' };
    }
    this.log.warn({ err }, 'viber: API call failed');
  }
}

function toSendError(err: unknown): ChannelSendError {
  if (err instanceof ViberApiError) {
    const down = accountDown[err.status];
    if (down) return new ChannelSendError(err.message, { permanent: true, adapterDown: true, reason: `Viber: ${down}` });
    const gone = recipientGone[err.status];
    if (gone) return new ChannelSendError(err.message, { permanent: true, reason: gone });
    if (err.status === 12) return new ChannelSendError(err.message, { retryAfterMs: 5000, reason: 'слишком много запросов к Viber' });
    return new ChannelSendError(err.message, { reason: `Viber ответил ошибкой: ${err.statusMessage}` });
  }
  return new ChannelSendError(err instanceof Error ? err.message : String(err), { reason: 'нет связи с сервером Viber' });
}
