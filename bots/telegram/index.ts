import type { Composer } from 'grammy';
import type { TelephonyClients } from '../../core/telephony/types.js';
import type { Services } from '../../core/services.js';
import { NOTIFY_JOB } from '../../core/notifications/notify.js';
import type { ChannelModule, ChannelRole } from '../channel-module.js';
import { createBot, registerCommands } from './bot.js';
import type { BotContext } from './context.js';
import { registerTelegramNotifications } from './notifications.js';
import { allowedUpdates, connectTelegram, startPolling, telegramWebhookRoutes } from './runner.js';
import { telegramClientAdapter } from './client-adapter.js';

export interface TelegramExtensions {
  staffFeatures?: Composer<BotContext>[];
  clientFeatures?: Composer<BotContext>;
  onStaffText?: (ctx: BotContext) => Promise<boolean>;
  /** R20: the telephony providers that can place calls (click-to-call from the bot) */
  telephony?: TelephonyClients;
}

/**
 * Telegram is both the managers' bot and a client channel. The channel module connects it the
 * way the process role needs: `web` serves the webhook (webhook mode), `bots` long-polls
 * (polling mode); either way connecting happens in the background. `registerWorker` sends staff
 * notifications from the queue; without a token they are dropped so they do not pile up.
 */
export function setupTelegram(services: Services, role: ChannelRole, ext: TelegramExtensions = {}) {
  const { config, log } = services;
  const token = config.TELEGRAM_BOT_TOKEN;
  const registerWorker = (bot?: { api: Parameters<typeof registerTelegramNotifications>[1] }) => {
    if (bot) registerTelegramNotifications(services, bot.api, { canCall: Object.values(ext.telephony ?? {}).some(Boolean) });
    else services.jobs.process(NOTIFY_JOB, async () => 'telegram off');
  };
  if (!token) {
    return { module: null, bot: undefined, registerWorker: () => registerWorker() };
  }
  const webhook = config.TELEGRAM_MODE === 'webhook';
  if (webhook && !config.TELEGRAM_WEBHOOK_SECRET) throw new Error('Invalid TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook');
  const bot = createBot({ services, token, apiRoot: config.TELEGRAM_API_ROOT, ...ext });
  const adapter = telegramClientAdapter(bot.api);
  const tlog = log.child({ channel: 'telegram' });
  const abort = new AbortController();
  let polling: { stop(): Promise<void> } | undefined;
  let connecting: Promise<unknown> | undefined;

  const module: ChannelModule = {
    kind: 'telegram',
    adapter,
    ...(webhook && role.web ? { routes: telegramWebhookRoutes(bot, config.TELEGRAM_WEBHOOK_SECRET!) } : {}),
    async start() {
      if (!webhook && role.bots) polling = startPolling(bot, tlog, adapter);
      if (webhook && role.web) {
        connecting = (async () => {
          if (!(await connectTelegram(bot, adapter, tlog, abort.signal)) || !config.PUBLIC_URL) return;
          await bot.api.setWebhook(new URL('/webhooks/telegram', config.PUBLIC_URL).toString(), {
            secret_token: config.TELEGRAM_WEBHOOK_SECRET!,
            allowed_updates: [...allowedUpdates],
          });
          await registerCommands(bot.api).catch((err) => tlog.warn({ err }, 'setMyCommands failed'));
        })().catch((err) => tlog.error({ err }, 'telegram: registering the webhook failed'));
      }
    },
    async stop() {
      abort.abort();
      await polling?.stop();
      await connecting;
    },
  };
  return { module, bot, registerWorker: () => registerWorker(bot) };
}
