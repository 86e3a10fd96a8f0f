import type { FastifyInstance } from 'fastify';
import QRCode from 'qrcode';
import { listChannelStates } from '../../core/channels/pairing.js';
import { ctxOf, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

/** WhatsApp shows a new code about every 20 seconds; an older one is no use to scan. */
const PAIRING_CODE_FRESH_MS = 2 * 60_000;

/**
 * «Интеграции»: which messengers are connected and whether they work, and WhatsApp's QR code to
 * pair while it asks for one (kept in the database by the process that holds the session).
 */
export default async function integrationRoutes(app: FastifyInstance, deps: AdminDeps) {
  app.get('/integrations', async (req, reply) => {
    requireRoles(req, 'admin');
    const ctx = ctxOf(deps, req);
    const { config } = deps.services;
    const states = Object.fromEntries((await listChannelStates(ctx)).map((s) => [s.channel, s]));
    const wa = states.whatsapp;
    const fresh = wa?.pairingCode && wa.pairingCodeAt && ctx.clock.now().getTime() - wa.pairingCodeAt.getTime() < PAIRING_CODE_FRESH_MS;
    const qrSvg = fresh ? await QRCode.toString(wa.pairingCode!, { type: 'svg', margin: 1, errorCorrectionLevel: 'L' }) : null;
    const base = config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
    const channels = [
      {
        key: 'telegram',
        name: 'Telegram',
        configured: Boolean(config.TELEGRAM_BOT_TOKEN),
        how: config.TELEGRAM_MODE === 'webhook' ? `вебхук ${base}/webhooks/telegram` : 'long polling',
        hint: 'Задайте TELEGRAM_BOT_TOKEN (бот создаётся у @BotFather) и перезапустите CRM.',
      },
      {
        key: 'viber',
        name: 'Viber',
        configured: Boolean(config.VIBER_AUTH_TOKEN),
        how: `вебхук ${base}/webhooks/viber`,
        hint: 'Задайте VIBER_AUTH_TOKEN (токен бота из Viber Admin Panel) и PUBLIC_URL, доступный из интернета.',
      },
      {
        key: 'whatsapp',
        name: 'WhatsApp',
        configured: config.WHATSAPP_ENABLED,
        how: 'WhatsApp Web в Chromium процесса с ролью bots',
        hint: 'Задайте WHATSAPP_ENABLED=true и CHROMIUM_PATH (например, /usr/bin/chromium) и перезапустите CRM.',
      },
      // with roles split, the web process may lack the bots process's settings: a state on record means the channel is in use
    ].map((c) => ({ ...c, configured: c.configured || Boolean(states[c.key]), state: states[c.key] ?? null }));
    return render(deps, req, reply, 'integrations', { title: 'Интеграции', channels, qrSvg, pairing: Boolean(fresh) });
  });
}
