import type { FastifyInstance } from 'fastify';
import type { Composer } from 'grammy';
import type { Services } from '../../core/services.js';
import { NOTIFY_JOB } from '../../core/notifications/notify.js';
import { createBot, registerCommands } from './bot.js';
import type { BotContext } from './context.js';
import { registerTelegramNotifications } from './notifications.js';
import { mountWebhook, startPolling } from './runner.js';
import { telegramClientAdapter } from './client-adapter.js';

export interface TelegramExtensions {
  staffFeatures?: Composer<BotContext>[];
  clientFeatures?: Composer<BotContext>;
  onStaffText?: (ctx: BotContext) => Promise<boolean>;
}

/**
 * The Telegram side of each process role: `web` mounts the webhook (webhook mode), `worker` sends
 * notifications, `bots` long-polls (polling mode). Without a token notifications are dropped,
 * so they do not pile up in the queue.
 */
export function setupTelegram(services: Services, ext: TelegramExtensions = {}) {
  const { config, log } = services;
  const token = config.TELEGRAM_BOT_TOKEN;
  const bot = token
    ? createBot({ services, token, apiRoot: config.TELEGRAM_API_ROOT, ...ext })
    : undefined;
  let polling: { stop(): Promise<void> } | undefined;
  return {
    bot,
    /** the client channel for the channel.send job (undefined without a token) */
    adapter: bot ? telegramClientAdapter(bot.api) : undefined,
    async mountOn(app: FastifyInstance) {
      if (!bot || config.TELEGRAM_MODE !== 'webhook') return;
      if (!config.TELEGRAM_WEBHOOK_SECRET) throw new Error('Invalid TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook');
      mountWebhook(app, bot, config.TELEGRAM_WEBHOOK_SECRET);
      await bot.init();
      if (config.PUBLIC_URL) {
        await bot.api.setWebhook(new URL('/webhooks/telegram', config.PUBLIC_URL).toString(), {
          secret_token: config.TELEGRAM_WEBHOOK_SECRET,
          allowed_updates: ['message', 'callback_query'],
        });
        await registerCommands(bot.api).catch((err) => log.warn({ err }, 'setMyCommands failed'));
      }
    },
    registerWorker() {
      if (bot) registerTelegramNotifications(services, bot.api);
      else services.jobs.process(NOTIFY_JOB, async () => 'telegram off');
    },
    startBots() {
      if (!bot) return log.info('TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off');
      if (config.TELEGRAM_MODE === 'polling') polling = startPolling(bot, log.child({ role: 'telegram' }));
    },
    async stop() {
      await polling?.stop();
    },
  };
}
