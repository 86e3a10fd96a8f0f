import { timingSafeEqual } from 'node:crypto';
import { GrammyError, type Bot } from 'grammy';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BotContext } from './context.js';
import type { TelegramClientAdapter } from './client-adapter.js';
import { registerCommands } from './bot.js';

/** The updates the bot acts on (Telegram sends only these); Telegram Business chats come as their own kinds. */
export const allowedUpdates = ['message', 'callback_query', 'business_connection', 'business_message', 'edited_business_message', 'deleted_business_messages'] as const;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Asks Telegram who the bot is (getMe) until it answers, in the background: while Telegram is
 * unreachable the rest of the CRM (panel, API, other webhooks) keeps serving, and the adapter's
 * status says why Telegram is down. grammY's own init() would retry the same way, but awaited
 * before listen it kept the whole HTTP server down. A revoked token stops trying.
 */
export async function connectTelegram(bot: Bot<BotContext>, adapter: TelegramClientAdapter, log: Logger, signal: AbortSignal): Promise<boolean> {
  if (bot.isInited()) return true;
  // still connecting is not an outage yet (as WhatsApp's start): only a failed try is
  adapter.setConnection({ ok: true, detail: 'Telegram: подключается' });
  for (let delay = 1000; !signal.aborted; delay = Math.min(delay * 2, 30_000)) {
    try {
      bot.botInfo = await bot.api.getMe(signal as never);
      adapter.setConnection({ ok: true });
      log.info({ username: bot.botInfo.username }, 'telegram: connected');
      return true;
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) {
        adapter.setConnection({ ok: false, detail: 'Telegram: токен бота недействителен (TELEGRAM_BOT_TOKEN)' });
        log.error({ err }, 'telegram: the bot token was refused; not retrying');
        return false;
      }
      adapter.setConnection({ ok: false, detail: 'Telegram: нет связи с сервером Telegram' });
      log.warn({ err, retryInMs: delay }, 'telegram: getMe failed; retrying');
      await sleep(delay, signal);
    }
  }
  return false;
}

/**
 * Long polling for one `bots` process. Offsets are confirmed only after an update is handled, so a
 * crash replays it rather than losing it; errors are handled per update by the bot's boundary.
 */
export function startPolling(bot: Bot<BotContext>, log: Logger, adapter?: TelegramClientAdapter): { stop(): Promise<void> } {
  const abort = new AbortController();
  const loop = (async () => {
    if (adapter) {
      if (!(await connectTelegram(bot, adapter, log, abort.signal))) return;
    } else {
      await bot.init(abort.signal as never);
    }
    await bot.api.deleteWebhook();
    await registerCommands(bot.api).catch((err) => log.warn({ err }, 'setMyCommands failed'));
    let offset = 0;
    while (!abort.signal.aborted) {
      try {
        const updates = await bot.api.getUpdates({ offset, timeout: 25, allowed_updates: [...allowedUpdates] }, abort.signal as never);
        for (const u of updates) {
          await bot.handleUpdate(u).catch((err) => log.error({ err, updateId: u.update_id }, 'update failed'));
          offset = u.update_id + 1;
        }
      } catch (err) {
        if (abort.signal.aborted) break;
        log.warn({ err }, 'getUpdates failed; retrying');
        await sleep(2000, abort.signal);
      }
    }
  })().catch((err) => log.error({ err }, 'telegram polling stopped'));
  return {
    async stop() {
      abort.abort();
      await Promise.race([loop, new Promise((r) => setTimeout(r, 30_000))]);
    },
  };
}

/**
 * Webhook mode: Telegram posts updates to /webhooks/telegram; the secret header is compared in
 * constant time and a wrong or missing one gets 401 with nothing handled. Until the bot knows who
 * it is (getMe, in the background) an update gets 503 and Telegram delivers it again later.
 */
export function telegramWebhookRoutes(bot: Bot<BotContext>, secret: string) {
  const expected = Buffer.from(secret);
  return async (app: FastifyInstance) => {
    app.post('/webhooks/telegram', { schema: { hide: true } }, async (req, reply) => {
      const given = Buffer.from(String(req.headers['x-telegram-bot-api-secret-token'] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply.status(401).send({ error: 'unauthenticated' });
      if (!bot.isInited()) return reply.status(503).header('retry-after', '5').send({ error: 'unavailable', message: 'Бот подключается к Telegram' });
      await bot.handleUpdate(req.body as never);
      return reply.send({ ok: true });
    });
  };
}

/** Kept for tests that mount the webhook on an app of their own. */
export function mountWebhook(app: FastifyInstance, bot: Bot<BotContext>, secret: string): Promise<void> {
  return telegramWebhookRoutes(bot, secret)(app);
}
