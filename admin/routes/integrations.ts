import type { FastifyInstance } from 'fastify';
import QRCode from 'qrcode';
import { listChannelStates } from '../../core/channels/pairing.js';
import { listBusinessConnections } from '../../core/channels/business.js';
import type { Config } from '../../core/config.js';
import { extensionCounts, listLines } from '../../core/telephony/lines.js';
import { phoneProviderLabels } from '../../core/telephony/labels.js';
import type { PhoneProvider } from '../../core/telephony/types.js';
import { telegramBotUsername } from '../telegram.js';
import { ctxOf, render, requireRoles } from '../render.js';
import type { AdminDeps } from '../types.js';

/** WhatsApp shows a new code about every 20 seconds; an older one is no use to scan. */
const PAIRING_CODE_FRESH_MS = 2 * 60_000;

/** A secret on a page: enough to tell which one is set, never the whole of it. */
const masked = (secret: string) => '••••' + secret.slice(-4);

/**
 * Telephony: per provider, whether its settings are there and the addresses to enter in its
 * cabinet (webhooks are served by the web process, so its own settings are the ones that count).
 */
function telephonyProviders(config: Config, base: string) {
  const zebraSecret = config.ZEBRA_WEBHOOK_SECRET ? masked(config.ZEBRA_WEBHOOK_SECRET) : '<ZEBRA_WEBHOOK_SECRET>';
  const list: { provider: PhoneProvider; configured: boolean; urls: { label: string; url: string }[]; hint: string; missing: string[] }[] = [
    {
      provider: 'mango',
      configured: Boolean(config.MANGO_API_KEY && config.MANGO_API_SALT),
      missing: (['MANGO_API_KEY', 'MANGO_API_SALT'] as const).filter((k) => !config[k]),
      urls: [{ label: 'Адрес внешней системы', url: `${base}/webhooks/mango` }],
      hint: 'Личный кабинет Mango Office → Интеграции → API коннектор: скопируйте «Уникальный код вашей АТС» в MANGO_API_KEY и «Ключ для создания подписи» в MANGO_API_SALT, впишите «Адрес внешней системы» ниже (Mango сам добавляет к нему /events/call, /events/summary, /events/recording), включите отправку событий и запись разговоров.',
    },
    {
      provider: 'zebra',
      configured: Boolean(config.ZEBRA_LOGIN && config.ZEBRA_PASSWORD && config.ZEBRA_REALM && config.ZEBRA_WEBHOOK_SECRET),
      missing: (['ZEBRA_LOGIN', 'ZEBRA_PASSWORD', 'ZEBRA_REALM', 'ZEBRA_WEBHOOK_SECRET'] as const).filter((k) => !config[k]),
      urls: (['channel_create', 'channel_answer', 'channel_destroy'] as const).map((hook) => ({ label: hook, url: `${base}/webhooks/zebra/${zebraSecret}/${hook}` })),
      hint: 'Логин и пароль личного кабинета Zebra Telecom и realm (SIP-домен вида 12345.ztpbx.ru) — в ZEBRA_LOGIN, ZEBRA_PASSWORD, ZEBRA_REALM; придумайте ZEBRA_WEBHOOK_SECRET (не короче 16 символов) и создайте три вебхука (метод POST) с адресами ниже, подставив вместо •••• секрет целиком. ID устройства сотрудника впишите на его странице в «Пользователях».',
    },
    {
      provider: 'generic',
      configured: Boolean(config.PBX_WEBHOOK_SECRET),
      missing: config.PBX_WEBHOOK_SECRET ? [] : ['PBX_WEBHOOK_SECRET'],
      urls: [{ label: 'Адрес вебхука', url: `${base}/webhooks/pbx/calls` }],
      hint: 'Любая другая АТС сообщает о звонках подписанным вебхуком: задайте PBX_WEBHOOK_SECRET (не короче 16 символов) и настройте АТС отправлять события звонков на адрес ниже: POST, JSON, подпись HMAC-SHA256 в заголовке X-CRM-Signature (формат — в README).',
    },
  ];
  return list.map((p) => ({ ...p, name: phoneProviderLabels[p.provider] }));
}

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
    const base = (config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/+$/, '');
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
    const [lines, extensions] = await Promise.all([listLines(ctx), extensionCounts(ctx)]);
    const telephony = telephonyProviders(config, base).map((p) => ({
      ...p,
      lines: lines.filter((l) => l.provider === p.provider && l.active).length,
      extensions: extensions[p.provider] ?? 0,
    }));
    // Telegram Business: managers' own accounts connected to the bot, and what each connection lets the CRM do
    const [businessConnections, botUsername] = await Promise.all([listBusinessConnections(ctx), telegramBotUsername(config, req.log)]);
    return render(deps, req, reply, 'integrations', {
      title: 'Интеграции',
      channels,
      qrSvg,
      pairing: Boolean(fresh),
      telephony,
      publicUrlSet: Boolean(config.PUBLIC_URL),
      business: { connections: businessConnections, botName: botUsername ? `@${botUsername}` : null, telegramConfigured: channels[0]!.configured },
    });
  });
}
