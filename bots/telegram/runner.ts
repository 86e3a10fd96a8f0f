import { timingSafeEqual } from 'node:crypto';
import type { Bot } from 'grammy';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BotContext } from './context.js';
import { registerCommands } from './bot.js';

/**
 * Long polling for one `bots` process. Offsets are confirmed only after an update is handled, so a
 * crash replays it rather than losing it; errors are handled per update by the bot's boundary.
 */
export function startPolling(bot: Bot<BotContext>, log: Logger): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    await bot.init();
    await bot.api.deleteWebhook();
    await registerCommands(bot.api).catch((err) => log.warn({ err }, 'setMyCommands failed'));
    let offset = 0;
    while (running) {
      try {
        const updates = await bot.api.getUpdates({ offset, timeout: 25, allowed_updates: ['message', 'callback_query'] });
        for (const u of updates) {
          await bot.handleUpdate(u).catch((err) => log.error({ err, updateId: u.update_id }, 'update failed'));
          offset = u.update_id + 1;
        }
      } catch (err) {
        if (!running) break;
        log.warn({ err }, 'getUpdates failed; retrying');
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.race([loop, new Promise((r) => setTimeout(r, 30_000))]);
    },
  };
}

/**
 * Webhook mode: Telegram posts updates to /webhooks/telegram; the secret header is compared in
 * constant time and a wrong or missing one gets 401 with nothing handled.
 */
export function mountWebhook(app: FastifyInstance, bot: Bot<BotContext>, secret: string): void {
  const expected = Buffer.from(secret);
  app.post('/webhooks/telegram', async (req, reply) => {
    const given = Buffer.from(String(req.headers['x-telegram-bot-api-secret-token'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply.status(401).send({ error: 'unauthenticated' });
    await bot.handleUpdate(req.body as never);
    return reply.send({ ok: true });
  });
}
