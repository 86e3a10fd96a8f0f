import type { Services } from '../../core/services.js';
import { inboundSink } from '../../core/channels/sink.js';
import type { ChannelModule, ChannelRole } from '../channel-module.js';
import { ViberAdapter } from './adapter.js';
import { viberWebhook } from './webhook.js';
import type { MediaFetcher } from './inbound.js';

export { ViberAdapter } from './adapter.js';

/**
 * Viber when VIBER_AUTH_TOKEN is set: an HTTP client (usable in every role) and a webhook. Web
 * processes mount the webhook and, once listening, tell Viber its URL (needs PUBLIC_URL, https).
 */
export function viberChannel(
  services: Services,
  role: ChannelRole,
  opts: { fetchMedia?: MediaFetcher } = {},
): ChannelModule | null {
  const { config, log } = services;
  if (!config.VIBER_AUTH_TOKEN) return null;
  const vlog = log.child({ channel: 'viber' });
  const adapter = new ViberAdapter({
    authToken: config.VIBER_AUTH_TOKEN,
    botName: config.VIBER_BOT_NAME ?? 'CRM',
    apiRoot: config.VIBER_API_ROOT,
    // the send job links a reply's files under PUBLIC_URL (api/routes/file-links.ts); Viber fetches them from there
    publicUrl: config.PUBLIC_URL,
    log: vlog,
  });
  const sink = inboundSink(services, 'viber', { attempts: 2 });
  return {
    kind: 'viber',
    adapter,
    ...(role.web ? { routes: async (app) => void (await app.register(viberWebhook, { adapter, services, sink, ...(opts.fetchMedia ? { fetchMedia: opts.fetchMedia } : {}) })) } : {}),
    async start() {
      if (!role.web) return;
      const base = config.PUBLIC_URL;
      if (!base) return vlog.warn('viber: PUBLIC_URL is not set, so the webhook is not registered with Viber');
      // Viber calls the URL at once to check it, so this runs after the server listens
      void adapter
        .setWebhook(new URL('/webhooks/viber', base).toString())
        .then(() => vlog.info('viber: webhook registered'))
        .catch((err: unknown) => vlog.error({ err }, 'viber: registering the webhook failed'));
    },
    async stop() {},
  };
}
