import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../core/config.js';

let cached: { token: string; username: string | null } | undefined;

/**
 * The bot's @username, for the t.me deep link beside a link code. Asked once from the Bot API
 * (getMe) and remembered; without a token, or when Telegram cannot be reached, the page shows
 * the `/start CODE` command alone.
 */
export async function telegramBotUsername(config: Config, log: FastifyBaseLogger): Promise<string | null> {
  const token = config.TELEGRAM_BOT_TOKEN;
  if (!token) return null;
  if (cached?.token === token) return cached.username;
  try {
    const res = await fetch(`${config.TELEGRAM_API_ROOT.replace(/\/$/, '')}/bot${token}/getMe`, { signal: AbortSignal.timeout(3000) });
    const data = (await res.json()) as { ok?: boolean; result?: { username?: string } };
    const username = data.ok && data.result?.username ? data.result.username : null;
    cached = { token, username };
    return username;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'telegram getMe failed; link code shown without a deep link');
    return null;
  }
}
